"""``novaft deploy / undeploy / invoke``: ship a completed run's model to Amazon Bedrock later, remove it, call it.

The same steps the workflow runs (novaft.pipeline.steps.deploy) run here from the operator's machine: ``deploy``
advances the deployment until it is ready (or the wait ends: running it again continues where it stopped), then
smoke-tests and records it. ``undeploy`` deletes the deployment or provisioned throughput (and, when asked, the
imported model) and records that on the run. Bedrock arrives as ports, so this module stays free of boto3.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from novaft.errors import NovaftError
from novaft.pipeline.contracts import DeploymentProgress
from novaft.pipeline.deployment import DeploymentNotFound, check_deploy
from novaft.pipeline.facts import (
    DEPLOY_ON_DEMAND,
    DEPLOY_PROVISIONED,
    DEPLOYMENT_ACTIVE,
    DEPLOYMENT_DELETED,
    SNAPSHOT_DIR,
    SNAPSHOT_JOB_SPEC_FILE,
    TRAIN_FILE,
    VALIDATION_FILE,
    DeployTarget,
)
from novaft.pipeline.steps.deploy import (
    PROMPT_SEARCH_BYTES,
    DeploymentRecorded,
    ModelHost,
    ModelRuntime,
    ObjectStreams,
    RunFiles,
    RunRecords,
    advance,
    deployment_request,
    record,
    smoke_prompt,
)
from novaft.policy import PolicyViolation, StagePolicy, evaluate_deployment

# How long `novaft deploy` waits by default; Bedrock imports and deployments take tens of minutes.
DEFAULT_DEPLOY_WAIT_SECONDS = 3600.0
DEFAULT_DEPLOY_POLL_SECONDS = 30.0
INVOKE_MAX_TOKENS = 512


class DeploymentStillRunning(NovaftError):
    """The wait ended before the deployment was ready; running ``novaft deploy`` again continues it."""


@dataclass(frozen=True)
class DeployContext:
    """Where the run lives and what the stage allows."""

    stage: str
    region: str
    role_arn: str | None
    policy: StagePolicy
    artifacts_bucket: str
    runs_prefix: str


@dataclass(frozen=True)
class Ports:
    host: ModelHost
    runtime: ModelRuntime
    runs: RunRecords
    objects: ObjectStreams


def run_job_spec(ports: Ports, context: DeployContext, run_id: str) -> dict[str, Any]:
    """The run's normalized job spec (runs/<id>/input/job.json), or {} for a run from before pinned inputs."""
    key = f"{context.runs_prefix}{run_id}/{SNAPSHOT_DIR}/{SNAPSHOT_JOB_SPEC_FILE}"
    try:
        document = json.loads(ports.objects.read_bytes(context.artifacts_bucket, key))
    except (NovaftError, OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def chosen_target(given: str | None, job_spec: Mapping[str, Any]) -> DeployTarget:
    """``--target``, else what the run's job spec asked for, else on-demand (the one that bills per request)."""
    asked = (job_spec.get("deploy") or {}).get("target")
    for candidate in (given, asked):
        if candidate in (DEPLOY_ON_DEMAND, DEPLOY_PROVISIONED):
            return candidate  # type: ignore[return-value]
    return DEPLOY_ON_DEMAND


def deploy(
    run_id: str,
    *,
    target: DeployTarget,
    model_units: int | None,
    prompt: str | None,
    job_spec: Mapping[str, Any],
    context: DeployContext,
    ports: Ports,
    now: Callable[[], str],
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    wait_seconds: float = DEFAULT_DEPLOY_WAIT_SECONDS,
    poll_seconds: float = DEFAULT_DEPLOY_POLL_SECONDS,
    on_progress: Callable[[DeploymentProgress], None] = lambda progress: None,
) -> DeploymentRecorded:
    """Deploy a completed run (reusing its imported model), smoke-test and record it; the notification-like text."""
    check_deploy(target, peft=str(job_spec.get("peft", "lora")), region=context.region)
    decision = evaluate_deployment(context.policy, target=target, model_units=model_units)
    if decision:
        raise PolicyViolation(decision)
    if context.role_arn is None:
        raise NovaftError(
            "the pipeline stack has no BedrockImportRoleArn output; deploy this version of novaft first (make deploy)"
        )
    item = ports.runs.get(run_id)
    request = deployment_request(
        item,
        target=target,
        model_units=model_units,
        stage=context.stage,
        region=context.region,
        role_arn=context.role_arn,
        kms_key_arn=None,
    )
    if isinstance(request, str):
        raise NovaftError(f"cannot deploy: {request}")
    previous = item.get("deployment") or {}
    progress = _resumable(previous, target)
    deadline = clock() + wait_seconds
    while True:
        progress = advance(request, progress, host=ports.host, runs=ports.runs, now=now())
        on_progress(progress)
        if progress.finished:
            break
        if clock() >= deadline:
            raise DeploymentStillRunning(
                f"run {run_id}: the deployment is still {progress.phase} after {wait_seconds:g} s; "
                f"`novaft deploy {run_id}` continues it, `novaft runs` shows it"
            )
        sleep(poll_seconds)
    if progress.phase == "active" and not prompt:
        prompt = smoke_prompt(job_spec_prompt(job_spec), _data_head(ports, context, run_id))
    return record(
        progress,
        prompt=prompt,
        run_name=str(item.get("run_name") or run_id),
        stage=context.stage,
        region=context.region,
        files=RunFiles(context.artifacts_bucket, f"{context.runs_prefix}{run_id}/"),
        runtime=ports.runtime,
        runs=ports.runs,
        objects=ports.objects,
        now=now(),
    )


def job_spec_prompt(job_spec: Mapping[str, Any]) -> str | None:
    prompt = (job_spec.get("deploy") or {}).get("prompt")
    return str(prompt) if prompt else None


def _data_head(ports: Ports, context: DeployContext, run_id: str) -> list[str]:
    for file_name in (VALIDATION_FILE, TRAIN_FILE):
        key = f"{context.runs_prefix}{run_id}/{SNAPSHOT_DIR}/{file_name}"
        try:
            stream = ports.objects.open(context.artifacts_bucket, key)
        except (NovaftError, OSError):
            continue
        try:
            head = stream.read(PROMPT_SEARCH_BYTES)
        finally:
            stream.close()
        return head.decode(errors="replace").splitlines()
    return []


def _resumable(previous: Mapping[str, Any], target: DeployTarget) -> DeploymentProgress | None:
    """The recorded progress when it was interrupted on the way to the same target; else start over (the model is
    still found and reused by its name and tags)."""
    if previous.get("status") in ("Importing", "Deploying") and previous.get("target") == target:
        phase = "importing" if previous["status"] == "Importing" else "deploying"
        return DeploymentProgress.model_validate({**previous, "phase": phase, "target": target})
    return None


@dataclass(frozen=True)
class Undeployed:
    deployment_deleted: bool
    model_deleted: bool
    deployment: dict[str, Any]


def undeploy(run_id: str, *, delete_model: bool, ports: Ports, now: str) -> Undeployed:
    """Delete the run's deployment (and the imported model when asked); the run records what was removed."""
    item = ports.runs.get(run_id)
    deployment = dict(item.get("deployment") or {})
    arn, model_arn = deployment.get("deployment_arn"), deployment.get("model_arn")
    if not arn and not (delete_model and model_arn):
        raise DeploymentNotFound(f"run {run_id} has no deployment to remove (`novaft runs` marks deployed runs)")
    deleted = bool(arn) and deployment.get("status") != DEPLOYMENT_DELETED and ports.host.delete_deployment(str(arn))
    model_deleted = bool(delete_model and model_arn) and ports.host.delete_model(str(model_arn))
    deployment.update(
        {
            "status": DEPLOYMENT_DELETED,
            "deleted_at": now,
            "generation": int(deployment.get("generation", 0)) + 1,
            "model_deleted": bool(model_deleted or deployment.get("model_deleted")),
        }
    )
    ports.runs.update(run_id, {"deployment": deployment, "updated_at": now})
    return Undeployed(deleted, model_deleted, deployment)


def invoke(run_id: str, prompt: str, *, ports: Ports, max_tokens: int = INVOKE_MAX_TOKENS) -> str:
    """One Converse request to the run's deployment; its answer."""
    deployment = ports.runs.get(run_id).get("deployment") or {}
    if deployment.get("status") != DEPLOYMENT_ACTIVE or not deployment.get("deployment_arn"):
        status = deployment.get("status", "none")
        raise DeploymentNotFound(
            f"run {run_id} has no active deployment (deployment status: {status}); "
            f"deploy it with novaft deploy {run_id}"
        )
    return ports.runtime.converse(str(deployment["deployment_arn"]), prompt, max_tokens=max_tokens)
