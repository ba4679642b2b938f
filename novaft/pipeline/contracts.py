"""Typed input and output of every workflow step, as docs/architecture.md ("Workflow") lays them out.

Handlers validate their payload with these models and return ``model_dump(mode="json")`` of the result, so the
shape the state machine passes between states is checked at both ends. Unknown keys in inputs are ignored
(the workflow may add context the step does not need); outputs are exactly the documented keys.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import unquote_plus

from pydantic import BaseModel, ConfigDict, Field, field_validator

from novaft.pipeline.facts import DeployTarget


class _Input(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class _Output(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- EventBridge events -------------------------------------------------------------------------------------------


class S3Bucket(_Input):
    name: str


class S3Object(_Input):
    key: str
    etag: str | None = None
    version_id: str | None = Field(default=None, alias="version-id")
    size: int | None = None

    @field_validator("key")
    @classmethod
    def _decode_key(cls, key: str) -> str:
        # S3 sends the key form-URL-encoded ("my run/a+b.jsonl" arrives as "my+run/a%2Bb.jsonl"); S3 APIs need the
        # real key. Powertools' S3EventBridgeNotificationObject.key decodes the EventBridge event the same way.
        return unquote_plus(key)


class S3ObjectCreatedDetail(_Input):
    bucket: S3Bucket
    object: S3Object


class S3ObjectCreatedEvent(_Input):
    """The EventBridge ``Object Created`` event from S3 (the execution input)."""

    detail_type: str = Field(alias="detail-type")
    source: str
    region: str | None = None
    time: str | None = None
    detail: S3ObjectCreatedDetail


class ExecutionStatusDetail(_Input):
    execution_arn: str = Field(alias="executionArn")
    state_machine_arn: str | None = Field(default=None, alias="stateMachineArn")
    name: str | None = None
    status: str
    error: str | None = None
    cause: str | None = None
    # The execution's input as a JSON string, when EventBridge includes it (inputDetails.included): how stop_run finds
    # the run a `novaft evaluate` execution evaluates.
    input: str | None = None


class ExecutionStatusChangeEvent(_Input):
    """The EventBridge ``Step Functions Execution Status Change`` event (input of ``stop_run``)."""

    detail_type: str = Field(alias="detail-type")
    detail: ExecutionStatusDetail


# --- RegisterRun ----------------------------------------------------------------------------------------------------


class RegisterRunInput(_Input):
    event: S3ObjectCreatedEvent
    execution_arn: str


class PinnedObject(_Output):
    """One input object as it was when the run was registered; later steps read exactly this version."""

    key: str
    # None only where the bucket does not version (S3 then reports the version id "null").
    version_id: str | None = None
    etag: str = ""
    size: int = 0
    # "<ALGORITHM>:<base64 value>" of the object's checksum when S3 keeps one (novaft.pipeline.run_identity says
    # why it, not the ETag, identifies the content when present).
    checksum: str | None = None


class DatasetLocation(_Output):
    """The run's input objects in the datasets bucket, each pinned to the version registered."""

    bucket: str
    train: PinnedObject
    validation: PinnedObject | None = None
    job: PinnedObject | None = None
    # incoming/<run>/eval.jsonl: the gen_qa evaluation set (docs/evaluation.md).
    eval_set: PinnedObject | None = None

    @property
    def train_key(self) -> str:
        return self.train.key

    @property
    def validation_key(self) -> str | None:
        return self.validation.key if self.validation else None

    @property
    def job_key(self) -> str | None:
        return self.job.key if self.job else None


class RunContext(_Output):
    """``$.run``: who the run is and where its data and artifacts live. Input of every later step."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    run_id: str
    run_name: str
    # 1, 2, ... per run name: one more for every new content delivered under the name (0 when ignored).
    attempt: int = 0
    ignored: bool = False
    # The content was delivered before: run_id, attempt and existing_execution_arn name the existing run.
    duplicate: bool = False
    existing_execution_arn: str | None = None
    dataset: DatasetLocation
    artifacts_bucket: str
    artifacts_prefix: str
    training_job_name: str


# --- ValidateDataset ------------------------------------------------------------------------------------------------


class RunInputs(_Output):
    """The run's snapshot under ``runs/<run_id>/input/``: copies of the validated versions, and the parsed spec."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    train_s3_uri: str
    validation_s3_uri: str | None = None
    job_yaml_s3_uri: str | None = None
    job_spec_s3_uri: str
    # The validated evaluation set, named as the evaluation container reads it (gen_qa.jsonl).
    eval_s3_uri: str | None = None


class ValidationOutcome(_Output):
    """``$.validation``: only produced for valid data (invalid data raises ``DatasetInvalid``).

    ``job_spec`` is the run's job spec, parsed once here and normalized; later steps use it, never job.yaml again.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    valid: bool
    records: int
    report_s3_uri: str
    stats: dict[str, Any] = Field(default_factory=dict)
    inputs: RunInputs
    job_spec: dict[str, Any]


# --- RenderRecipe ---------------------------------------------------------------------------------------------------


class RenderRecipeInput(_Input):
    run: RunContext
    validation: ValidationOutcome


class TrainingPlan(_Output):
    """``$.plan``: the rendered recipe, the exact CreateTrainingJob request and the cost/time estimate."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    training_job_name: str
    recipe_s3_uri: str
    plan_s3_uri: str
    request: dict[str, Any]
    estimate: dict[str, Any] = Field(default_factory=dict)
    # What an approver is asked (novaft.pipeline.steps.approval.ApprovalAsk) when the run waits for approval.
    approval: dict[str, Any] | None = None


# --- StartTraining --------------------------------------------------------------------------------------------------


class StartTrainingInput(_Input):
    run: RunContext
    request: dict[str, Any]


class TrainingStarted(_Output):
    """``$.training``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    training_job_name: str
    training_job_arn: str
    already_started: bool = False


# --- RecordResult / RecordFailure -----------------------------------------------------------------------------------


class WorkflowFailure(_Input):
    """``$.failure`` as a Catch writes it: ``{"Error", "Cause"}``."""

    error: str = Field(default="States.ALL", alias="Error")
    cause: str | None = Field(default=None, alias="Cause")


class RecordResultInput(_Input):
    """Two modes: ``training`` present (the job finished) or ``failure`` present (a task failed)."""

    run: RunContext
    training: TrainingStarted | None = None
    failure: WorkflowFailure | None = None


class _Notification(_Output):
    """What a notification sends: the run's status, a subject line and the message body."""

    status: str
    subject: str
    message: str


class RunRecordResult(_Notification):
    """``$.record``: what the notification sends and where run.json is."""

    run_json_s3_uri: str | None = None


class StopRunResult(_Output):
    run_found: bool
    run_id: str | None = None
    training_job_stopped: bool = False
    evaluation_jobs_stopped: list[str] = Field(default_factory=list)
    status: str | None = None


# --- DeployModel / RecordDeployment (docs/deployment.md) --------------------------------------------------------------

DeploymentPhase = Literal["skipped", "importing", "deploying", "active", "failed"]


class DeploymentProgress(_Output):
    """``$.deployment``: how far one run's deployment has come. Each ``advance`` returns the next one."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    phase: DeploymentPhase
    target: DeployTarget
    run_id: str
    reason: str | None = None
    checkpoint_s3_uri: str | None = None
    model_arn: str | None = None
    model_reused: bool = False
    deployment_arn: str | None = None
    model_units: int | None = None
    started_at: str | None = None
    model_active_at: str | None = None
    active_at: str | None = None

    @property
    def finished(self) -> bool:
        return self.phase in ("skipped", "active", "failed")


class DeployModelInput(_Input):
    """The whole workflow state: the run, its job spec, the evaluation gate if one ran, the progress so far."""

    run: RunContext
    validation: ValidationOutcome
    evaluation: dict[str, Any] | None = None
    deployment: DeploymentProgress | None = None


class RecordDeploymentInput(_Input):
    run: RunContext
    validation: ValidationOutcome
    deployment: DeploymentProgress | None = None
    # Set by the workflow's Catch when a deployment task failed: {"Error", "Cause"}.
    deployment_failure: WorkflowFailure | None = None


class DeploymentRecord(_Notification):
    """``$.deployment_record``: what the deployment notification sends."""

    answer: str | None = None


# --- Evaluation (docs/evaluation.md) --------------------------------------------------------------------------------


class EvaluationJob(_Output):
    """One evaluation job: the task, which model (``fine_tuned`` or ``base``), its name and exact request."""

    task: str
    side: str
    job_name: str
    request: dict[str, Any]


class PlanEvaluationInput(_Input):
    run: RunContext
    validation: ValidationOutcome
    # Set by `novaft evaluate RUN --tasks ...`; otherwise the job spec's evaluation.tasks.
    tasks: list[str] | None = None
    # Distinguishes the evaluations of one run (the workflow passes its execution name).
    round: str = "1"


class EvaluationPlan(_Output):
    """``$.evaluation_plan``: the jobs to run (none when the job asks for no evaluation) and their estimate."""

    jobs: list[EvaluationJob] = Field(default_factory=list)
    estimate: dict[str, Any] = Field(default_factory=dict)


class StartEvaluationInput(_Input):
    run: RunContext
    job: EvaluationJob


class EvaluationJobResult(_Input):
    """What the workflow's Map keeps of each evaluation job: its name and SageMaker's final status."""

    task: str
    side: str
    job_name: str
    status: str
    # Why a job never started (the start task's error cause); SageMaker's FailureReason is read for the others.
    reason: str | None = None


class RecordEvaluationInput(_Input):
    """Two modes: ``results`` of the jobs that ran, or ``failure`` (a Catch's error: planning or starting failed)."""

    run: RunContext
    validation: ValidationOutcome
    results: list[EvaluationJobResult] = Field(default_factory=list)
    failure: WorkflowFailure | None = None
