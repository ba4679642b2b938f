"""The stage policy inside the workflow: what RenderRecipe and StartTraining check before a job can start.

RenderRecipe resolves a ``base_run_id`` to that run's checkpoint, puts the stage's own job settings into the request
(``stage_job_inputs``) and refuses a run the policy does not clear (``refuse_unless_cleared``). StartTraining checks
the request it receives once more (``refuse_request_outside_policy``). A refusal is recorded on the run before it is
raised; RecordFailure then notifies (docs/policy.md, docs/architecture.md).
"""

from __future__ import annotations

from typing import Any

from novaft.errors import NovaftError
from novaft.pipeline.contracts import RunContext
from novaft.pipeline.errors import BaseRunUnusable, RunNotFound
from novaft.pipeline.facts import STATUS_APPROVAL_REQUIRED, STATUS_COMPLETED, STATUS_POLICY_VIOLATION
from novaft.pipeline.records import MAX_CAUSE_CHARS
from novaft.pipeline.settings import Settings
from novaft.pipeline.steps.ports import RunStore
from novaft.policy import (
    ApprovalRequired,
    PolicyDecision,
    PolicyViolation,
    StageJobSettings,
    training_request_findings,
)
from novaft.recipes import JobSpec


def resolve_base_run(spec: JobSpec, *, runs: RunStore) -> JobSpec:
    """The spec to render: with ``base_run_id`` replaced by that run's recorded checkpoint (unchanged without one)."""
    base_run_id = spec.base_run_id
    if base_run_id is None:
        return spec
    try:
        base = runs.get(base_run_id)
    except RunNotFound:
        raise BaseRunUnusable(
            f"job spec: base_run_id: no run {base_run_id!r} in this stage's runs table (allowed: the run id of an "
            "earlier run of this stage, as `novaft runs` lists it)"
        ) from None
    status = base.get("status")
    if status != STATUS_COMPLETED:
        raise BaseRunUnusable(
            f"job spec: base_run_id: run {base_run_id!r} has status {status!r} (allowed: a run with status "
            f"{STATUS_COMPLETED!r}, whose checkpoint was recorded)"
        )
    checkpoint = base.get("checkpoint_s3_uri")
    if not checkpoint:
        raise BaseRunUnusable(
            f"job spec: base_run_id: run {base_run_id!r} completed but recorded no checkpoint (its output manifest "
            f"was missing or unreadable: {base.get('manifest_problem') or 'no reason recorded'})"
        )
    return spec.model_copy(update={"base_run_id": None, "base_checkpoint_s3_uri": str(checkpoint)})


def stage_job_settings(settings: Settings) -> StageJobSettings:
    return StageJobSettings(
        output_kms_key=settings.kms_key_arn,
        subnet_ids=settings.subnet_ids,
        security_group_ids=settings.security_group_ids,
    )


def stage_job_inputs(settings: Settings) -> dict[str, Any]:
    """The ``TrainingJobInputs`` the stage sets on every job, whatever the job spec says.

    Only the output key: p4d/p5/g5/g6 have instance storage, and SageMaker rejects a VolumeKmsKeyId for instance types
    with local storage (CreateTrainingJob API reference, ResourceConfig.VolumeKmsKeyId). Inter-container traffic is
    encrypted on every job, one instance too, so that the IAM condition can require it.
    """
    stage = stage_job_settings(settings)
    return {
        "output_kms_key": stage.output_kms_key,
        "subnets": stage.subnet_ids,
        "security_group_ids": stage.security_group_ids,
        "enable_network_isolation": settings.policy.require_network_isolation,
        "encrypt_inter_container_traffic": True,
    }


def refuse_unless_cleared(
    decision: PolicyDecision, *, run: RunContext, runs: RunStore, now: str, approval_gate: bool = False
) -> None:
    """Record and raise ``PolicyViolation`` or ``ApprovalRequired`` unless the decision lets the run start now.

    With the workflow's approval gate a run that needs approval is not refused: it waits for the answer."""
    try:
        if approval_gate:
            decision.raise_for_violations()
        else:
            decision.raise_unless_cleared_to_start()
    except PolicyViolation as error:
        _record_refusal(error, STATUS_POLICY_VIOLATION, run=run, runs=runs, now=now)
        raise
    except ApprovalRequired as error:
        _record_refusal(error, STATUS_APPROVAL_REQUIRED, run=run, runs=runs, now=now)
        raise


def refuse_request_outside_policy(
    request: dict[str, Any], *, settings: Settings, run: RunContext, runs: RunStore, now: str
) -> None:
    """StartTraining's second look: the request must stay inside the policy and carry the stage's own settings."""
    findings = training_request_findings(settings.policy, request, stage_job_settings(settings))
    if findings:
        error = PolicyViolation(findings)
        _record_refusal(error, STATUS_POLICY_VIOLATION, run=run, runs=runs, now=now)
        raise error


def _record_refusal(error: NovaftError, status: str, *, run: RunContext, runs: RunStore, now: str) -> None:
    fields: dict[str, Any] = {
        "status": status,
        "failure_error": error.workflow_error,
        "failure_cause": str(error)[:MAX_CAUSE_CHARS],
        "updated_at": now,
    }
    if isinstance(error, PolicyViolation):
        fields["policy_findings"] = [
            {"rule": f.rule, "value": f.value, "limit": f.limit, "message": f.message} for f in error.findings
        ]
    if isinstance(error, ApprovalRequired):
        fields["approval_reasons"] = list(error.reasons)
    runs.update(run.run_id, fields)
