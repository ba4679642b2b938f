"""Every contract fact of novaft, spelled once.

Stacks, handlers, AWS adapters, operator commands and tests import these names; nothing else spells them. The module
is pure and imports only the standard library, so the command line's start-up does not pay for it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import IntEnum
from typing import Final, Literal, TypedDict, get_args

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
# The stage policy refused the run before any job started (novaft/policy.py, docs/policy.md).
STATUS_POLICY_VIOLATION: Final = "PolicyViolation"
# The run is allowed but needs someone's approval and the stage runs without the approval gate: refused, not started.
STATUS_APPROVAL_REQUIRED: Final = "ApprovalRequired"
# The run waits for someone to answer `novaft approve` / `novaft reject` on a Step Functions task token.
STATUS_AWAITING_APPROVAL: Final = "AwaitingApproval"
# Someone rejected the run, or nobody answered within the stage's approval_timeout_hours; no job started.
STATUS_REJECTED: Final = "Rejected"
# The run waits for one of the stage's max_concurrent_jobs training slots (or for the account's SageMaker quota).
STATUS_QUEUED: Final = "Queued"
# SageMaker's terminal TrainingJobStatus values map one to one onto run statuses.
TERMINAL_TRAINING_STATUSES: Final = frozenset({STATUS_COMPLETED, STATUS_FAILED, STATUS_STOPPED})
# Its other values (DescribeTrainingJob, botocore sagemaker model): a job that can still be asked to stop, and one
# that was.
TRAINING_JOB_IN_PROGRESS: Final = "InProgress"
TRAINING_JOB_STOPPING: Final = "Stopping"
RUNNING_TRAINING_STATUSES: Final = (TRAINING_JOB_IN_PROGRESS, TRAINING_JOB_STOPPING)
# A run in one of these has its outcome recorded; nothing later may overwrite it.
FINAL_RUN_STATUSES: Final = TERMINAL_TRAINING_STATUSES | {
    STATUS_DATASET_INVALID,
    STATUS_POLICY_VIOLATION,
    STATUS_APPROVAL_REQUIRED,
    STATUS_REJECTED,
}
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
RECIPE_DIR: Final = "recipe"
TENSORBOARD_DIR: Final = "tensorboard"
# Under runs/<run_id>/: the server-side copies of the validated input versions the training job reads, named as in
# incoming/ (train.jsonl, validation.jsonl, job.yaml), and the job spec the run uses, parsed once and normalized.
SNAPSHOT_DIR: Final = "input"
SNAPSHOT_JOB_SPEC_FILE: Final = "job.json"


def run_prefix(runs_prefix: str, run_id: str) -> str:
    """``runs/<run_id>/``: where every artifact of one run lives in the artifacts bucket."""
    return f"{runs_prefix}{run_id}/"


def run_artifact_key(runs_prefix: str, run_id: str, file_name: str) -> str:
    return f"{run_prefix(runs_prefix, run_id)}{file_name}"


def recipe_location(run_folder: str, recipe_file: str) -> str:
    """``<run folder>recipe/<recipe file>``: a key or a URI, as ``run_folder`` is."""
    return f"{run_folder}{RECIPE_DIR}/{recipe_file}"


class TrainingJobLocations(TypedDict):
    recipe_s3_uri: str
    output_s3_uri: str
    tensorboard_s3_uri: str


def training_job_locations(run_folder_uri: str, recipe_file: str) -> TrainingJobLocations:
    """Where a run's training job reads its recipe and writes its output and TensorBoard events, under the run's
    folder (``s3://<artifacts bucket>/<runs prefix><run id>/``), by the names of the job inputs' fields."""
    return TrainingJobLocations(
        recipe_s3_uri=recipe_location(run_folder_uri, recipe_file),
        output_s3_uri=f"{run_folder_uri}{TRAINING_OUTPUT_DIR}/",
        tensorboard_s3_uri=f"{run_folder_uri}{TENSORBOARD_DIR}/",
    )


# --- Runs table -------------------------------------------------------------------------------------------------------

RUNS_TABLE_PARTITION_KEY: Final = "run_id"
RECORD_TYPE_RUN: Final = "run"
BY_EXECUTION_INDEX: Final = "by_execution"
BY_EXECUTION_INDEX_KEY: Final = "execution_arn"
BY_CREATED_INDEX: Final = "by_created"
BY_CREATED_INDEX_PARTITION_KEY: Final = "record_type"
BY_CREATED_INDEX_SORT_KEY: Final = "created_at"
# The per-run-name attempt counter is an item of the runs table keyed "<prefix><run name>". Run ids hold only
# [a-z0-9-], so the '#' keeps counters apart from runs; counters have no record_type, so no index lists them.
ATTEMPT_COUNTER_KEY_PREFIX: Final = "attempts#"
ATTEMPT_COUNTER_ATTRIBUTE: Final = "attempts"

# --- Metrics (namespace Novaft, dimension service = novaft-<stage>) -------------------------------------------------

METRICS_NAMESPACE: Final = "Novaft"
METRIC_RUNS_STARTED: Final = "RunsStarted"
METRIC_RUNS_SUCCEEDED: Final = "RunsSucceeded"
METRIC_RUNS_FAILED: Final = "RunsFailed"
METRIC_DATASETS_INVALID: Final = "DatasetsInvalid"
METRIC_TRAINING_HOURS: Final = "TrainingHours"
# Runs the stage policy refused, and runs someone rejected (or nobody approved in time); neither counts as failed.
METRIC_RUNS_POLICY_VIOLATION: Final = "RunsPolicyViolation"
METRIC_RUNS_REJECTED: Final = "RunsRejected"
# Counted run metrics (runs by how they started or ended) and the label each has on the dashboard.
RUN_COUNT_METRICS: Final = {
    METRIC_RUNS_STARTED: "Runs started",
    METRIC_RUNS_SUCCEEDED: "Runs succeeded",
    METRIC_RUNS_FAILED: "Runs failed",
    METRIC_DATASETS_INVALID: "Invalid datasets",
    METRIC_RUNS_POLICY_VIOLATION: "Refused by policy",
    METRIC_RUNS_REJECTED: "Rejected",
}
# The evaluation gate's verdicts, and evaluations whose jobs did not all give results (no verdict then).
METRIC_EVALUATION_GATE_PASSED: Final = "EvaluationGatePassed"
METRIC_EVALUATION_GATE_FAILED: Final = "EvaluationGateFailed"
METRIC_EVALUATIONS_FAILED: Final = "EvaluationsFailed"
EVALUATION_COUNT_METRICS: Final = {
    METRIC_EVALUATION_GATE_PASSED: "Gate passed",
    METRIC_EVALUATION_GATE_FAILED: "Gate failed",
    METRIC_EVALUATIONS_FAILED: "Evaluation failed",
}
# A gauge, not a count: the runs waiting for a training slot when a run asked for one (the dashboard shows Maximum).
METRIC_QUEUE_DEPTH: Final = "QueueDepth"
QUEUE_GAUGE_METRICS: Final = {METRIC_QUEUE_DEPTH: "Runs waiting for a training slot"}


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
# The stage policy as JSON (novaft/policy.py StagePolicy.to_dict), for people and the operator to read.
OUTPUT_STAGE_POLICY: Final = "StagePolicy"
# The service role Bedrock assumes to import a run's checkpoint (`novaft deploy` passes it to CreateCustomModel).
OUTPUT_BEDROCK_IMPORT_ROLE: Final = "BedrockImportRoleArn"
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
    # submit: the pipeline already has a run of exactly these files (DuplicateDelivery); nothing new started.
    DUPLICATE = 3
    # novaft plan --stage: the stage policy refuses the job (docs/policy.md).
    POLICY = 4
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

# --- Evaluation (recipes/evaluation/, novaft validate --eval, novaft render --eval) -----------------------------------

EvalTask = Literal[
    "mmlu",
    "mmlu_pro",
    "bbh",
    "gpqa",
    "math",
    "strong_reject",
    "ifeval",
    "mmmu",
    "gen_qa",
    "llm_judge",
    "rubric_llm_judge",
]
# The tuple is read off the Literal so the two cannot drift apart.
EVAL_TASKS: Final[tuple[EvalTask, ...]] = get_args(EvalTask)
# The evaluation tasks whose data file `novaft validate --eval` checks, and the file name each must have: the
# evaluation container reads exactly this name from its `train` channel (Nova user guide, evaluation recipe examples).
EvalDataTask = Literal["gen_qa", "llm_judge"]
EVAL_DATA_FILES: Final[dict[EvalDataTask, str]] = {"gen_qa": "gen_qa.jsonl", "llm_judge": "llm_judge.jsonl"}
EVAL_DATA_TASKS: Final[tuple[EvalDataTask, ...]] = ("gen_qa", "llm_judge")

# --- cdk.json context (the CDK app and `novaft plan --stage` read it) ------------------------------------------------

STAGE_CONTEXT_KEY: Final = "novaft:stage"
STAGES_CONTEXT_KEY: Final = "novaft:stages"
# The policy object of one stage entry (novaft/policy.py), and the longest training the workflow waits for.
STAGE_POLICY_KEY: Final = "policy"
STAGE_MAX_TRAINING_HOURS_KEY: Final = "max_training_hours"
# The evaluation a stage gives jobs whose spec sets none (docs/evaluation.md, "In the workflow").
STAGE_DEFAULT_EVALUATION_KEY: Final = "default_evaluation"
DEFAULT_MAX_TRAINING_HOURS: Final = 120

# --- Training metrics and the run report (novaft/report, docs/report.md) --------------------------------------------

# Written by Nova 2 SFT jobs beside manifest.json in output.tar.gz (columns step_number, training_loss).
TRAINING_METRICS_ARCHIVE_FILE: Final = "step_wise_training_metrics.csv"
# Under runs/<run_id>/: the loss per step as RecordResult read it, and the self-contained HTML run report.
METRICS_CSV_FILE: Final = "metrics.csv"
REPORT_HTML_FILE: Final = "report.html"
# Where SageMaker training jobs write their logs; one stream per instance, named "<job>/algo-<n>-<epoch>".
TRAINING_LOG_GROUP: Final = "/aws/sagemaker/TrainingJobs"

# --- Deployment to Amazon Bedrock (job.yaml `deploy:`, docs/deployment.md) -------------------------------------------

DeployTarget = Literal["bedrock-on-demand", "bedrock-provisioned", "none"]
DEPLOY_ON_DEMAND: Final = "bedrock-on-demand"
DEPLOY_PROVISIONED: Final = "bedrock-provisioned"
DEPLOY_NONE: Final = "none"
DEPLOY_TARGETS: Final[tuple[DeployTarget, ...]] = (DEPLOY_ON_DEMAND, DEPLOY_PROVISIONED, DEPLOY_NONE)
# Custom model deployments (on-demand) exist only in these regions (Bedrock user guide, "Deploy a custom model for
# on-demand inference").
ON_DEMAND_REGIONS: Final = ("us-east-1", "us-west-2")
# Tag on every imported model: the checkpoint it was imported from (with RUN_ID_TAG and STAGE_TAG).
CHECKPOINT_TAG: Final = "novaft:checkpoint"
# What the run record's deployment_status says (the Bedrock statuses, plus the operator's own end states).
DEPLOYMENT_IMPORTING: Final = "Importing"
DEPLOYMENT_DEPLOYING: Final = "Deploying"
DEPLOYMENT_ACTIVE: Final = "Active"
DEPLOYMENT_FAILED: Final = "Failed"
DEPLOYMENT_DELETED: Final = "Deleted"
DEPLOYMENT_SKIPPED: Final = "Skipped"
# A deployment in one of these may bill (provisioned throughput bills by the hour while it exists).
LIVE_DEPLOYMENT_STATUSES: Final = frozenset({DEPLOYMENT_DEPLOYING, DEPLOYMENT_ACTIVE})
# The smoke test's answer is recorded up to this many characters.
SMOKE_ANSWER_MAX_CHARS: Final = 500

# --- Evaluation in the workflow (job.yaml `evaluation:`, docs/evaluation.md) -----------------------------------------

# The evaluation set of a run, dropped beside train.jsonl (the gen_qa format) and pinned with the run's inputs.
EVAL_DATA_FILE: Final = "eval.jsonl"
# Under runs/<run_id>/: per task and metric, fine-tuned, base and delta, and the gate's verdict.
EVALUATION_FILE: Final = "evaluation.json"
# Which model an evaluation job evaluates: the run's checkpoint, or the model it started from.
EVAL_SIDE_FINE_TUNED: Final = "fine_tuned"
EVAL_SIDE_BASE: Final = "base"
# The gate's verdict on the run record (a failed gate is recorded; the run stays Completed).
GATE_PASSED: Final = "passed"
GATE_FAILED: Final = "failed"
# Evaluation jobs run the Nova evaluation image; the local simulator recognises them by this repository name.
EVALUATION_IMAGE_REPOSITORY: Final = "nova-evaluation-repo"

# --- Approval and the job queue (docs/policy.md, "Approval" and "Queue") ---------------------------------------------

# The error a rejection and an unanswered approval end the execution with (SendTaskFailure's error, the Catch's).
APPROVAL_REJECTED_ERROR: Final = "Rejected"
APPROVAL_TIMED_OUT_CAUSE: Final = "approval timed out"
# The semaphore of one stage's training slots is an item of the runs table keyed "<prefix><pool>"; like the attempt
# counters it has no record_type, so no index lists it. Holders and waiters are maps of run id -> ISO time.
JOB_SLOTS_KEY_PREFIX: Final = "slots#"
TRAINING_SLOT_POOL: Final = "training"
JOB_SLOTS_HOLDERS_ATTRIBUTE: Final = "holders"
JOB_SLOTS_WAITING_ATTRIBUTE: Final = "waiting"
JOB_SLOTS_VERSION_ATTRIBUTE: Final = "version"
# The named failure of a run that waited for the account's SageMaker quota as long as the workflow allows.
QUOTA_WAIT_EXHAUSTED_ERROR: Final = "QuotaWaitExhausted"
# The named failure of a run that waited for a training slot as long as the workflow allows.
QUEUE_WAIT_EXHAUSTED_ERROR: Final = "QueueWaitExhausted"
# The stack output naming the managed policy that grants exactly the right to answer an approval.
OUTPUT_APPROVER_POLICY: Final = "ApproverPolicyArn"
# Tags on every evaluation job (with RUN_ID_TAG and STAGE_TAG): the task it runs and the model it evaluates.
EVAL_TASK_TAG: Final = "novaft:eval-task"
EVAL_SIDE_TAG: Final = "novaft:eval-side"
# Under runs/<run_id>/: the check of the evaluation set, written before any job starts.
EVAL_VALIDATION_REPORT_FILE: Final = "eval-validation-report.json"
# Every tag key the platform itself puts on a job (training and evaluation); job.yaml may add the stage's allowed ones.
PLATFORM_JOB_TAGS: Final = (RUN_ID_TAG, STAGE_TAG, EVAL_TASK_TAG, EVAL_SIDE_TAG)


# --- Run record fields and timestamps

# The names of a run's planned evaluation jobs, written before any starts, so stop_run can stop them with the run,
# and the round they belong to (the name of the execution that planned them: the run's, or a `novaft evaluate` one's).
EVALUATION_JOBS_FIELD: Final = "evaluation_jobs"
EVALUATION_ROUND_FIELD: Final = "evaluation_round"
EVALUATION_STATUS_FIELD: Final = "evaluation_status"
# evaluation_status while the jobs run, and after stop_run stopped them; RecordEvaluation writes Completed or
# EvaluationFailed.
EVALUATION_PLANNED: Final = "Planned"
EVALUATION_STOPPED: Final = "Stopped"


def iso_utc(moment: datetime) -> str:
    """ISO-8601 in UTC with a ``Z``, second precision (sorts correctly as a string in the by_created index)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
