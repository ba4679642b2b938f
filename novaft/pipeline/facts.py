"""Every contract fact of novaft, spelled once.

Stacks, handlers, AWS adapters, operator commands and tests import these names; nothing else spells them. The module
is pure and imports only the standard library, so the command line's start-up does not pay for it.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final, Literal

# --- Models and methods (validation and recipes share these) --------------------------------------------------------

ModelName = Literal["micro", "lite", "pro", "lite-2"]
Method = Literal["sft", "dpo"]
Peft = Literal["lora", "full"]
MODEL_NAMES: Final[tuple[ModelName, ...]] = ("micro", "lite", "pro", "lite-2")
METHODS: Final[tuple[Method, ...]] = ("sft", "dpo")
PEFT_CHOICES: Final[tuple[Peft, ...]] = ("lora", "full")

# --- Run statuses ---------------------------------------------------------------------------------------------------

STATUS_REGISTERED: Final = "Registered"
STATUS_VALIDATING: Final = "Validating"
STATUS_TRAINING: Final = "Training"
STATUS_COMPLETED: Final = "Completed"
STATUS_FAILED: Final = "Failed"
STATUS_STOPPED: Final = "Stopped"
STATUS_DATASET_INVALID: Final = "DatasetInvalid"
# SageMaker's terminal TrainingJobStatus values map one to one onto run statuses.
TERMINAL_TRAINING_STATUSES: Final = frozenset({STATUS_COMPLETED, STATUS_FAILED, STATUS_STOPPED})
# A run in one of these has its outcome recorded; nothing later may overwrite it.
FINAL_RUN_STATUSES: Final = TERMINAL_TRAINING_STATUSES | {STATUS_DATASET_INVALID}
SUCCESSFUL_RUN_STATUSES: Final = frozenset({STATUS_COMPLETED})

# Step Functions execution statuses the stop rule reacts to (EventBridge "Step Functions Execution Status Change").
EXECUTION_ABORTED: Final = "ABORTED"
EXECUTION_TIMED_OUT: Final = "TIMED_OUT"
EXECUTION_FAILED: Final = "FAILED"
EXECUTION_SUCCEEDED: Final = "SUCCEEDED"
EXECUTION_RUNNING: Final = "RUNNING"
STOP_RULE_EXECUTION_STATUSES: Final = (EXECUTION_ABORTED, EXECUTION_TIMED_OUT, EXECUTION_FAILED)

# --- The S3 drop and artifact layout --------------------------------------------------------------------------------

DEFAULT_INCOMING_PREFIX: Final = "incoming/"
DEFAULT_RUNS_PREFIX: Final = "runs/"
TRAIN_FILE: Final = "train.jsonl"
VALIDATION_FILE: Final = "validation.jsonl"
JOB_FILE: Final = "job.yaml"
# Under runs/<run_id>/ in the artifacts bucket.
VALIDATION_REPORT_FILE: Final = "validation-report.json"
RECIPE_FILE: Final = "recipe.yaml"
PLAN_FILE: Final = "plan.json"
RUN_JSON_FILE: Final = "run.json"
OUTPUT_MANIFEST_FILE: Final = "manifest.json"
TRAINING_OUTPUT_DIR: Final = "output"


def run_prefix(runs_prefix: str, run_id: str) -> str:
    """``runs/<run_id>/``: where every artifact of one run lives in the artifacts bucket."""
    return f"{runs_prefix}{run_id}/"


def run_artifact_key(runs_prefix: str, run_id: str, file_name: str) -> str:
    return f"{run_prefix(runs_prefix, run_id)}{file_name}"


# --- Runs table -------------------------------------------------------------------------------------------------------

RUNS_TABLE_PARTITION_KEY: Final = "run_id"
RECORD_TYPE_RUN: Final = "run"
BY_EXECUTION_INDEX: Final = "by_execution"
BY_EXECUTION_INDEX_KEY: Final = "execution_arn"
BY_CREATED_INDEX: Final = "by_created"
BY_CREATED_INDEX_PARTITION_KEY: Final = "record_type"
BY_CREATED_INDEX_SORT_KEY: Final = "created_at"

# --- Metrics (namespace Novaft, dimension service = novaft-<stage>) -------------------------------------------------

METRICS_NAMESPACE: Final = "Novaft"
METRIC_RUNS_STARTED: Final = "RunsStarted"
METRIC_RUNS_SUCCEEDED: Final = "RunsSucceeded"
METRIC_RUNS_FAILED: Final = "RunsFailed"
METRIC_DATASETS_INVALID: Final = "DatasetsInvalid"
METRIC_TRAINING_HOURS: Final = "TrainingHours"
# Counted run metrics and the label each has on the dashboard.
RUN_COUNT_METRICS: Final = {
    METRIC_RUNS_STARTED: "Runs started",
    METRIC_RUNS_SUCCEEDED: "Runs succeeded",
    METRIC_RUNS_FAILED: "Runs failed",
    METRIC_DATASETS_INVALID: "Invalid datasets",
}


def service_name(stage: str) -> str:
    """The metrics ``service`` dimension and POWERTOOLS_SERVICE_NAME of one deployment."""
    return f"novaft-{stage}"


# --- Stacks and their outputs -----------------------------------------------------------------------------------------

DEFAULT_STAGE: Final = "dev"


def data_stack_name(stage: str) -> str:
    return f"Novaft-{stage}-Data"


def pipeline_stack_name(stage: str) -> str:
    return f"Novaft-{stage}-Pipeline"


OUTPUT_STATE_MACHINE_ARN: Final = "StateMachineArn"
OUTPUT_DATASETS_BUCKET: Final = "DatasetsBucketName"
OUTPUT_ARTIFACTS_BUCKET: Final = "ArtifactsBucketName"
OUTPUT_RUNS_TABLE: Final = "RunsTableName"
OUTPUT_TOPIC_ARN: Final = "TopicArn"
OUTPUT_INCOMING_PREFIX: Final = "IncomingPrefix"
OUTPUT_RUNS_PREFIX: Final = "RunsPrefix"
OUTPUT_DEFAULT_JOB: Final = "DefaultJob"
# Outputs the operator needs from every pipeline stack (DefaultJob is optional).
REQUIRED_PIPELINE_OUTPUTS: Final = (
    OUTPUT_STATE_MACHINE_ARN,
    OUTPUT_DATASETS_BUCKET,
    OUTPUT_ARTIFACTS_BUCKET,
    OUTPUT_RUNS_TABLE,
    OUTPUT_TOPIC_ARN,
    OUTPUT_INCOMING_PREFIX,
    OUTPUT_RUNS_PREFIX,
)


# --- Command-line exit codes ------------------------------------------------------------------------------------------


class ExitCode(IntEnum):
    OK = 0
    # validate: the data is invalid; operator commands: the run failed or could not be done.
    FAILED = 1
    # A usage or configuration error, or a file that cannot be read.
    USAGE = 2
    # The reader closed the pipe (as `head` does): 128 + SIGPIPE.
    BROKEN_PIPE = 141


# --- Workflow states the operator reads -----------------------------------------------------------------------------

STATE_NOT_A_TRAINING_FILE: Final = "NotATrainingFile"
STATE_DUPLICATE_DELIVERY: Final = "DuplicateDelivery"
# Succeed states that end an execution without training anything (docs/architecture.md, RouteRun).
NO_TRAINING_END_STATES: Final = frozenset({STATE_NOT_A_TRAINING_FILE, STATE_DUPLICATE_DELIVERY})

# --- Events and tags the workflow steps read or write ---------------------------------------------------------------

# EventBridge detail-type of an S3 upload (the trigger rule matches it; RegisterRun ignores anything else).
S3_OBJECT_CREATED: Final = "Object Created"
# Tags on every training job: which run and deployment it belongs to (StartTraining checks the run tag on a retry).
RUN_ID_TAG: Final = "novaft:run-id"
STAGE_TAG: Final = "novaft:stage"
# Tag keys under this prefix belong to the platform; a job.yaml may not set them (novaft/policy.py).
RESERVED_TAG_PREFIX: Final = "novaft:"

# The environment variable naming the stage: set on every function, and read by the operator commands.
STAGE_ENV: Final = "NOVAFT_STAGE"
