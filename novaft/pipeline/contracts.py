"""Typed input and output of every workflow step, as docs/architecture.md ("Workflow") lays them out.

Handlers validate their payload with these models and return ``model_dump(mode="json")`` of the result, so the
shape the state machine passes between states is checked at both ends. Unknown keys in inputs are ignored
(the workflow may add context the step does not need); outputs are exactly the documented keys.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from pydantic import BaseModel, ConfigDict, Field, field_validator


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


class ExecutionStatusChangeEvent(_Input):
    """The EventBridge ``Step Functions Execution Status Change`` event (input of ``stop_run``)."""

    detail_type: str = Field(alias="detail-type")
    detail: ExecutionStatusDetail


# --- RegisterRun ----------------------------------------------------------------------------------------------------


class RegisterRunInput(_Input):
    event: S3ObjectCreatedEvent
    execution_arn: str


class DatasetLocation(_Output):
    bucket: str
    train_key: str
    validation_key: str | None = None
    job_key: str | None = None
    version_id: str | None = None
    etag: str | None = None


class RunContext(_Output):
    """``$.run``: who the run is and where its data and artifacts live. Input of every later step."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    run_id: str
    run_name: str
    ignored: bool = False
    duplicate: bool = False
    existing_execution_arn: str | None = None
    dataset: DatasetLocation
    artifacts_bucket: str
    artifacts_prefix: str
    training_job_name: str


# --- ValidateDataset ------------------------------------------------------------------------------------------------


class ValidationOutcome(_Output):
    """``$.validation``: only produced for valid data (invalid data raises ``DatasetInvalid``)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    valid: bool
    records: int
    report_s3_uri: str
    stats: dict[str, Any] = Field(default_factory=dict)


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


class RunRecordResult(_Output):
    """``$.record``: what the notification sends and where run.json is."""

    status: str
    subject: str
    message: str
    run_json_s3_uri: str | None = None


class StopRunResult(_Output):
    run_found: bool
    run_id: str | None = None
    training_job_stopped: bool = False
    status: str | None = None
