"""DeployModel and RecordDeployment: import a completed run's checkpoint into Bedrock, deploy it, smoke-test it.

``advance`` moves one run's deployment one step further each call and never repeats a step: it imports the escrow
checkpoint with CreateCustomModel (or reuses the model a previous call imported, found by its name and tags), waits
for it to be Active, creates the on-demand deployment or the provisioned throughput, and waits for that to be ready.
The workflow calls it in a bounded Wait loop; ``novaft deploy`` calls it from the operator's machine. Every change of
phase is written to the run record, so ``novaft runs`` shows what exists and may bill.

``record`` ends it: one Converse request to a ready deployment (the smoke test), whose answer is recorded truncated,
or the reason the deployment failed; both go on the run record and run.json, and become the notification.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from novaft.errors import NovaftError
from novaft.pipeline.contracts import DeploymentPhase as Phase
from novaft.pipeline.contracts import DeploymentProgress, DeployModelInput, RecordDeploymentInput
from novaft.pipeline.deployment import (
    DEFAULT_SMOKE_PROMPT,
    ModelNameTaken,
    first_user_prompt,
    gate_blocks,
    how_to_call,
    model_tags,
    request_token,
    resource_name,
    truncated,
)
from novaft.pipeline.facts import (
    CHECKPOINT_TAG,
    DEPLOY_NONE,
    DEPLOY_PROVISIONED,
    DEPLOYMENT_ACTIVE,
    DEPLOYMENT_DEPLOYING,
    DEPLOYMENT_FAILED,
    DEPLOYMENT_IMPORTING,
    DEPLOYMENT_SKIPPED,
    RUN_ID_TAG,
    RUN_JSON_FILE,
    STAGE_TAG,
    STATUS_COMPLETED,
    DeployTarget,
)
from novaft.pipeline.records import printable_run_name, summarize_failure
from novaft.pipeline.settings import Settings
from novaft.pipeline.steps.job_spec import job_spec_from_document

# Bedrock's statuses (botocore bedrock model): ModelStatus and CustomModelDeploymentStatus end Active or Failed,
# ProvisionedModelStatus is InService when ready.
READY_STATUSES = frozenset({"Active", "InService"})
FAILED_STATUS = "Failed"
RECORD_STATUS: dict[Phase, str] = {
    "skipped": DEPLOYMENT_SKIPPED,
    "importing": DEPLOYMENT_IMPORTING,
    "deploying": DEPLOYMENT_DEPLOYING,
    "active": DEPLOYMENT_ACTIVE,
    "failed": DEPLOYMENT_FAILED,
}
# The smoke test asks for a short answer: it proves the deployment answers, it does not evaluate the model.
SMOKE_MAX_TOKENS = 256


@dataclass(frozen=True)
class BedrockResource:
    """An imported model, custom model deployment or provisioned throughput, as Bedrock reports it."""

    arn: str
    status: str
    failure_message: str | None = None
    tags: dict[str, str] | None = None
    model_arn: str | None = None


@dataclass(frozen=True)
class ModelImport:
    """What CreateCustomModel is asked: import the run's checkpoint under the run's name, with its tags."""

    name: str
    checkpoint_s3_uri: str
    role_arn: str
    kms_key_arn: str | None
    tags: dict[str, str]
    token: str  # the idempotency token: a repeated call imports nothing twice


class ModelHost(Protocol):
    """The Bedrock control plane (``novaft.aws.bedrock.BedrockModels``)."""

    def find_model(self, name: str) -> BedrockResource | None: ...

    def import_model(self, request: ModelImport) -> str: ...

    def model(self, model_arn: str) -> BedrockResource: ...

    def deploy_on_demand(self, *, name: str, model_arn: str, tags: dict[str, str], token: str) -> str: ...

    def provision(self, *, name: str, model_arn: str, model_units: int, tags: dict[str, str], token: str) -> str: ...

    def deployment(self, deployment_arn: str) -> BedrockResource: ...

    def delete_deployment(self, deployment_arn: str) -> bool: ...

    def delete_model(self, model_arn: str) -> bool: ...


class ModelRuntime(Protocol):
    """Bedrock runtime (``novaft.aws.bedrock.BedrockConverse``)."""

    def converse(self, model_id: str, prompt: str, *, max_tokens: int) -> str: ...


class RunRecords(Protocol):
    def get(self, run_id: str) -> dict[str, Any]: ...

    def update(self, run_id: str, fields: dict[str, Any]) -> None: ...


class ArtifactReader(Protocol):
    def read_bytes(self, bucket: str, key: str, version_id: str | None = None) -> bytes: ...

    def put_json(self, bucket: str, key: str, document: Any) -> str: ...


@dataclass(frozen=True)
class DeploymentRequest:
    """What one run's deployment needs to know: the run, its checkpoint, the target and where the import role is."""

    run_id: str
    stage: str
    region: str
    target: DeployTarget
    checkpoint_s3_uri: str
    role_arn: str
    kms_key_arn: str | None
    model_units: int | None = None
    # How many deployments of this run were removed before: a new one needs a new idempotency token.
    generation: int = 0


def deployment_request(
    item: dict[str, Any],
    *,
    target: DeployTarget,
    model_units: int | None,
    stage: str,
    region: str,
    role_arn: str,
    kms_key_arn: str | None,
) -> DeploymentRequest | str:
    """The request for the run ``item`` (its runs-table item), or why the run cannot be deployed."""
    if item.get("status") != STATUS_COMPLETED:
        return f"run {item.get('run_id')} has status {item.get('status')}; only a {STATUS_COMPLETED} run is deployed"
    checkpoint = item.get("checkpoint_s3_uri")
    if not checkpoint:
        return f"run {item.get('run_id')} recorded no checkpoint (its manifest was not read)"
    previous = item.get("deployment") or {}
    return DeploymentRequest(
        run_id=str(item["run_id"]),
        stage=stage,
        region=region,
        target=target,
        checkpoint_s3_uri=str(checkpoint),
        role_arn=role_arn,
        kms_key_arn=kms_key_arn,
        model_units=model_units,
        generation=int(previous.get("generation", 0)),
    )


def skipped(run_id: str, target: DeployTarget, reason: str) -> DeploymentProgress:
    return DeploymentProgress(phase="skipped", target=target, run_id=run_id, reason=reason)


def decide_skip(target: DeployTarget, evaluation: dict[str, Any] | None) -> str | None:
    """Why the workflow does not deploy this run, or None to go ahead."""
    if target == DEPLOY_NONE:
        return "the job spec and the stage ask for no deployment (deploy.target: none)"
    return gate_blocks(evaluation)


def advance(
    request: DeploymentRequest,
    progress: DeploymentProgress | None,
    *,
    host: ModelHost,
    runs: RunRecords,
    now: str,
) -> DeploymentProgress:
    """The next state of the deployment; records it on the run when the phase changed."""
    before = progress.phase if progress else None
    current = progress or _start(request, host=host, now=now)
    if current.phase == "importing":
        current = _after_import_check(request, current, host=host, now=now)
    elif current.phase == "deploying":
        current = _after_deployment_check(current, host=host, now=now)
    if current.phase != before:
        record_progress(current, runs=runs, now=now, generation=request.generation)
    return current


def _start(request: DeploymentRequest, *, host: ModelHost, now: str) -> DeploymentProgress:
    name = resource_name(request.run_id)
    tags = model_tags(request.run_id, request.stage, request.checkpoint_s3_uri)
    existing = host.find_model(name)
    if existing is not None:
        found = existing.tags or {}
        if found.get(RUN_ID_TAG) != request.run_id or found.get(CHECKPOINT_TAG) != tags[CHECKPOINT_TAG]:
            raise ModelNameTaken(
                f"Bedrock model {name} ({existing.arn}) exists but was not imported from run {request.run_id}'s "
                f"checkpoint (its tags: {RUN_ID_TAG}={found.get(RUN_ID_TAG)!r}, "
                f"{CHECKPOINT_TAG}={found.get(CHECKPOINT_TAG)!r}); delete it or rename the run"
            )
        model_arn, reused = existing.arn, True
    else:
        model_import = ModelImport(
            name=name,
            checkpoint_s3_uri=request.checkpoint_s3_uri,
            role_arn=request.role_arn,
            kms_key_arn=request.kms_key_arn,
            tags=tags,
            token=request_token(request.run_id, "model", request.checkpoint_s3_uri),
        )
        model_arn = host.import_model(model_import)
        reused = False
    return DeploymentProgress(
        phase="importing",
        target=request.target,
        run_id=request.run_id,
        checkpoint_s3_uri=request.checkpoint_s3_uri,
        model_arn=model_arn,
        model_reused=reused,
        model_units=request.model_units,
        started_at=now,
    )


def _after_import_check(
    request: DeploymentRequest, progress: DeploymentProgress, *, host: ModelHost, now: str
) -> DeploymentProgress:
    model_arn = str(progress.model_arn)
    model = host.model(model_arn)
    if model.status == FAILED_STATUS:
        reason = f"the model import failed: {model.failure_message or 'Bedrock gave no reason'}"
        return progress.model_copy(update={"phase": "failed", "reason": reason})
    if model.status not in READY_STATUSES:
        return progress
    name = resource_name(request.run_id)
    tags = {RUN_ID_TAG: request.run_id, STAGE_TAG: request.stage}
    token = request_token(request.run_id, request.target, model_arn, str(request.generation))
    if request.target == DEPLOY_PROVISIONED:
        units = request.model_units or 1
        arn = host.provision(name=name, model_arn=model_arn, model_units=units, tags=tags, token=token)
    else:
        arn = host.deploy_on_demand(name=name, model_arn=model_arn, tags=tags, token=token)
    started = progress.model_copy(update={"phase": "deploying", "deployment_arn": arn, "model_active_at": now})
    return _after_deployment_check(started, host=host, now=now)


def _after_deployment_check(progress: DeploymentProgress, *, host: ModelHost, now: str) -> DeploymentProgress:
    deployment = host.deployment(str(progress.deployment_arn))
    if deployment.status == FAILED_STATUS:
        reason = f"the deployment failed: {deployment.failure_message or 'Bedrock gave no reason'}"
        return progress.model_copy(update={"phase": "failed", "reason": reason})
    if deployment.status in READY_STATUSES:
        return progress.model_copy(update={"phase": "active", "active_at": now})
    return progress


def record_progress(progress: DeploymentProgress, *, runs: RunRecords, now: str, generation: int = 0) -> None:
    """The run item's ``deployment`` map: what exists in Bedrock for the run and whether it may bill."""
    runs.update(progress.run_id, {"deployment": deployment_fields(progress, generation=generation), "updated_at": now})


def deployment_fields(progress: DeploymentProgress, *, generation: int = 0, **extra: Any) -> dict[str, Any]:
    fields = {
        "status": RECORD_STATUS[progress.phase],
        "target": progress.target,
        "reason": progress.reason,
        "checkpoint_s3_uri": progress.checkpoint_s3_uri,
        "model_arn": progress.model_arn,
        "model_reused": progress.model_reused,
        "deployment_arn": progress.deployment_arn,
        "model_units": progress.model_units,
        "started_at": progress.started_at,
        "model_active_at": progress.model_active_at,
        "active_at": progress.active_at,
        "generation": generation,
        **extra,
    }
    return {name: value for name, value in fields.items() if value is not None}


@dataclass(frozen=True)
class DeploymentRecorded:
    status: str
    subject: str
    message: str
    answer: str | None = None


def smoke_prompt(configured: str | None, data_lines: list[str]) -> str:
    """The configured prompt, else the first user prompt of the run's data, else a fixed readiness question."""
    return configured or first_user_prompt(data_lines) or DEFAULT_SMOKE_PROMPT


@dataclass(frozen=True)
class RunFiles:
    """Where the run keeps run.json."""

    bucket: str
    prefix: str

    @property
    def run_json_key(self) -> str:
        return f"{self.prefix}{RUN_JSON_FILE}"


def record(
    progress: DeploymentProgress,
    *,
    prompt: str | None,
    run_name: str,
    stage: str,
    region: str,
    files: RunFiles,
    runtime: ModelRuntime,
    runs: RunRecords,
    objects: ArtifactReader,
    now: str,
) -> DeploymentRecorded:
    """Smoke-test an active deployment and record it, or record why the deployment failed; the notification's text."""
    extra: dict[str, Any] = {"recorded_at": now}
    answer = None
    if progress.phase == "active" and prompt is not None:
        reply = runtime.converse(str(progress.deployment_arn), prompt, max_tokens=SMOKE_MAX_TOKENS)
        answer = truncated(reply)
        extra.update({"smoke_prompt": truncated(prompt), "smoke_answer": answer})
    previous = runs.get(progress.run_id).get("deployment") or {}
    generation = int(previous.get("generation", 0))
    fields = deployment_fields(progress, generation=generation, **extra)
    runs.update(progress.run_id, {"deployment": fields, "updated_at": now})
    _merge_into_run_json(objects, files, fields)
    status = RECORD_STATUS[progress.phase]
    subject = f"novaft {stage}: run {run_name} deployment {status}"[:100]
    return DeploymentRecorded(status, subject, _message(progress, fields, region=region), answer)


def _merge_into_run_json(objects: ArtifactReader, files: RunFiles, fields: dict[str, Any]) -> None:
    try:
        document = json.loads(objects.read_bytes(files.bucket, files.run_json_key))
    except (NovaftError, OSError, ValueError):  # no run.json yet: start one rather than lose the deployment
        document = {}
    if not isinstance(document, dict):
        document = {}
    document["deployment"] = fields
    objects.put_json(files.bucket, files.run_json_key, document)


def _message(progress: DeploymentProgress, fields: dict[str, Any], *, region: str) -> str:
    lines = [f"Run {progress.run_id}: deployment to Amazon Bedrock ({progress.target}) {fields['status']}.", ""]
    if progress.phase == "failed":
        lines.append(f"Reason: {progress.reason}")
    labels = {
        "model_arn": "Imported model",
        "model_reused": "Model reused from an earlier import",
        "deployment_arn": "Deployment",
        "started_at": "Started",
        "model_active_at": "Model active",
        "active_at": "Deployment active",
        "smoke_prompt": "Smoke test prompt",
        "smoke_answer": "Smoke test answer",
    }
    lines += [f"{label}: {fields[key]}" for key, label in labels.items() if fields.get(key) not in (None, False)]
    if progress.phase == "active" and progress.deployment_arn:
        lines += [
            "",
            "Call it:",
            "  " + how_to_call(run_id=progress.run_id, model_id=progress.deployment_arn, region=region),
        ]
        lines += ["", f"Remove it (provisioned throughput bills by the hour): novaft undeploy {progress.run_id}"]
    return "\n".join(lines).strip() + "\n"


# --- The workflow's two steps ----------------------------------------------------------------------------------------

# The smoke test reads at most this much of the run's data to find a prompt.
PROMPT_SEARCH_BYTES = 256 * 1024


class ObjectStreams(ArtifactReader, Protocol):
    def open(self, bucket: str, key: str, version_id: str | None = None) -> BinaryIO: ...


def deploy_run(
    payload: DeployModelInput, *, settings: Settings, host: ModelHost, runs: RunRecords, now: str
) -> DeploymentProgress:
    """DeployModel: skip (no target, or a gate that did not pass), or advance the run's deployment one step."""
    run_id = payload.run.run_id
    deploy = job_spec_from_document(payload.validation.job_spec).deploy
    if payload.deployment is None:
        reason = decide_skip(deploy.target, payload.evaluation)
        if reason is not None:
            progress = skipped(run_id, deploy.target, reason)
            if deploy.target != DEPLOY_NONE:  # a held-back model is worth a line on the run; no deployment is not
                record_progress(progress, runs=runs, now=now)
            return progress
    request = deployment_request(
        runs.get(run_id),
        target=deploy.target,
        model_units=deploy.model_units,
        stage=settings.stage,
        region=settings.region,
        role_arn=settings.require("bedrock_role_arn"),
        kms_key_arn=settings.kms_key_arn,
    )
    if isinstance(request, str):
        progress = skipped(run_id, deploy.target, request)
        record_progress(progress, runs=runs, now=now)
        return progress
    return advance(request, payload.deployment, host=host, runs=runs, now=now)


def record_run_deployment(
    payload: RecordDeploymentInput,
    *,
    settings: Settings,
    runtime: ModelRuntime,
    runs: RunRecords,
    objects: ObjectStreams,
    now: str,
) -> DeploymentRecorded:
    """RecordDeployment: smoke-test and record an active deployment, or record why it failed."""
    run = payload.run
    spec = job_spec_from_document(payload.validation.job_spec)
    progress = payload.deployment or DeploymentProgress(phase="failed", target=spec.deploy.target, run_id=run.run_id)
    if payload.deployment_failure is not None:
        summary = summarize_failure(payload.deployment_failure)
        progress = progress.model_copy(update={"phase": "failed", "reason": f"{summary.error}: {summary.message}"})
    prompt = None
    if progress.phase == "active":
        inputs = payload.validation.inputs
        prompt = smoke_prompt(
            spec.deploy.prompt, _first_lines(objects, inputs.validation_s3_uri or inputs.train_s3_uri)
        )
    return record(
        progress,
        prompt=prompt,
        run_name=printable_run_name(run.run_name) or run.run_id,
        stage=settings.stage,
        region=settings.region,
        files=RunFiles(run.artifacts_bucket, run.artifacts_prefix),
        runtime=runtime,
        runs=runs,
        objects=objects,
        now=now,
    )


def _first_lines(objects: ObjectStreams, s3_uri: str) -> list[str]:
    bucket, _, key = s3_uri.removeprefix("s3://").partition("/")
    stream = objects.open(bucket, key)
    try:
        head = stream.read(PROMPT_SEARCH_BYTES)
    finally:
        stream.close()
    # The last line may be cut; first_user_prompt skips what does not parse.
    return head.decode("utf-8", errors="replace").splitlines()
