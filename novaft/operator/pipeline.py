"""The operator's use cases against one deployed pipeline: find it, look up, follow, stop and report on runs."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError

from novaft.aws.clients import AwsSession
from novaft.aws.cloudformation import CloudFormationStacks
from novaft.aws.errors import ExecutionNotFound, ObjectNotFound, StackNotFound, describe_error
from novaft.aws.runs_table import RunsTable
from novaft.aws.s3_objects import S3Objects, split_s3_uri
from novaft.aws.sagemaker_jobs import SageMakerTrainingJobs
from novaft.aws.step_functions import StepFunctionsExecutions
from novaft.aws.training_logs import TrainingJobLogs
from novaft.errors import NovaftError
from novaft.operator.discovery import PipelineOutputs, only_pipeline_stack, pipeline_outputs_from_stack
from novaft.operator.errors import ReportNotFound
from novaft.operator.runs import (
    ExecutionView,
    RunItems,
    RunLookup,
    RunStatus,
    RunView,
    TrainingView,
    current_state_from_history,
    plain,
)
from novaft.operator.submit import (
    PlannedUpload,
    Registration,
    check_no_stale_companions,
    registration_of,
    run_folder,
    submission_run_id,
)
from novaft.pipeline.contracts import DatasetLocation, PinnedObject
from novaft.pipeline.errors import TrainingJobNotFound
from novaft.pipeline.facts import (
    EVALUATION_FILE,
    EVALUATION_PLANNED,
    JOB_FILE,
    METRICS_CSV_FILE,
    PLAN_FILE,
    RUN_JSON_FILE,
    TRAIN_FILE,
    VALIDATION_FILE,
    VALIDATION_REPORT_FILE,
    run_artifact_key,
    run_prefix,
)
from novaft.report.metrics import TrainingMetrics, parse_log_lines, parse_metrics_csv
from novaft.report.page import run_report_html
from novaft.report.progress import Progress, progress_of, total_steps

if TYPE_CHECKING:
    from novaft.pipeline.steps.evaluation import EvaluationEstimate


class Stacks(Protocol):
    def outputs(self, stack_name: str) -> dict[str, str]: ...

    def names(self) -> list[str]: ...


class Executions(Protocol):
    def describe(self, execution_arn: str) -> dict[str, Any]: ...

    def newest_events(self, execution_arn: str) -> list[dict[str, Any]]: ...

    def stop(self, execution_arn: str, *, cause: str) -> None: ...

    def start(self, state_machine_arn: str, *, name: str, document: dict[str, Any]) -> str: ...


class TrainingJobs(Protocol):
    def describe(self, job_name: str) -> dict[str, Any]: ...

    def stop(self, job_name: str) -> None: ...


class TrainingLogs(Protocol):
    def lines(self, job_name: str) -> Iterable[str]: ...


class Objects(Protocol):
    def read_bytes(self, bucket: str, key: str, version_id: str | None = None) -> bytes: ...

    def keys_under(self, bucket: str, prefix: str) -> list[str]: ...

    def upload_file(self, path: Path, bucket: str, key: str) -> None: ...

    def head(self, bucket: str, key: str, version_id: str | None = None) -> PinnedObject: ...


@dataclass(frozen=True)
class CancelOutcome:
    status: RunStatus  # read right after the stop calls
    stopped: list[str]  # what was asked to stop, in the user's words
    problems: list[str]  # stops that failed (the run may still stop through the pipeline)


def execution_arn(state_machine_arn: str, execution_name: str) -> str:
    """``arn:...:execution:<state machine>:<name>``, the ARN Step Functions gives an execution of the state machine."""
    return f"{state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{execution_name}"


def find_pipeline(stacks: Stacks, stack_name: str, *, chosen: bool) -> PipelineOutputs:
    """The outputs of ``stack_name``. When nobody chose it (the default stage) and it does not exist, the one
    pipeline stack the account holds is used instead (the local emulated AWS deploys the ``local`` stage)."""
    try:
        return pipeline_outputs_from_stack(stack_name, stacks.outputs(stack_name))
    except StackNotFound:
        if chosen:
            raise
        try:
            only = only_pipeline_stack(stacks.names())
        except ClientError:
            only = None  # not allowed to list stacks: the default's absence is the answer
        if only is None:
            raise
    return pipeline_outputs_from_stack(only, stacks.outputs(only))


class PipelineOperator:
    def __init__(
        self,
        outputs: PipelineOutputs,
        *,
        runs: RunItems,
        executions: Executions,
        training_jobs: TrainingJobs,
        objects: Objects,
        console_links: bool = True,
        logs: TrainingLogs | None = None,
    ) -> None:
        self.outputs = outputs
        self.runs = RunLookup(runs)
        self._items = runs
        self._plans: dict[str, dict[str, Any]] = {}  # plan.json per run id, read once while following
        self.executions = executions
        self.training_jobs = training_jobs
        self.objects = objects
        self.console_links = console_links
        self.logs = logs  # training jobs' log lines: live loss and progress

    @classmethod
    def connect(cls, session: AwsSession, stack_name: str, *, chosen: bool = True) -> PipelineOperator:
        outputs = find_pipeline(
            CloudFormationStacks(session.client("cloudformation"), region=session.region), stack_name, chosen=chosen
        )
        return cls(
            outputs,
            runs=RunsTable(session.dynamodb_table(outputs.runs_table)),
            executions=StepFunctionsExecutions(session.client("stepfunctions")),
            training_jobs=SageMakerTrainingJobs(session.client("sagemaker")),
            objects=S3Objects(session.client("s3")),
            logs=TrainingJobLogs(session.client("logs")),
            console_links=not session.uses_custom_endpoint,
        )

    @property
    def console_region(self) -> str | None:
        """The region for console links, or None when the clients talk to a local endpoint."""
        return self.outputs.region if self.console_links else None

    # --- inspect -------------------------------------------------------------------------------------------------

    def _execution(self, execution_arn: str) -> ExecutionView | None:
        try:
            return ExecutionView.from_description(execution_arn, self.executions.describe(execution_arn))
        except ExecutionNotFound:
            return None

    def _training(self, job_name: str) -> TrainingView | None:
        try:
            return TrainingView.from_description(job_name, self.training_jobs.describe(job_name))
        except TrainingJobNotFound:
            return None

    def status_of(self, run: RunView) -> RunStatus:
        """Re-read the run record, then its execution and training job."""
        fresh = self.runs.get(run.run_id) or run
        execution = self._execution(fresh.execution_arn) if fresh.execution_arn else None
        current_state = (
            current_state_from_history(self.executions.newest_events(execution.execution_arn)) if execution else None
        )
        # Asked by the reserved name even before an ARN is recorded: a job created a moment ago can be stopped too.
        training = self._training(fresh.reserved_job_name) if fresh.reserved_job_name else None
        return RunStatus(run=fresh, execution=execution, current_state=current_state, training=training)

    def status(self, run_ref: str) -> RunStatus:
        return self.status_of(self.runs.resolve(run_ref))

    # --- cancel --------------------------------------------------------------------------------------------------

    def cancel(self, run_ref: str) -> CancelOutcome:
        """Stop the training job and the execution (whichever still runs), and a ``novaft evaluate`` execution that
        is evaluating the run now.

        The job goes first so no more billable time accrues; a job that cannot be stopped does not keep the
        execution running: the pipeline's stop_run function reacts to the ABORTED execution, stops the job too and
        records the run as Stopped (for an evaluation execution: stops its jobs and records the evaluation Stopped).
        """
        status = self.status(run_ref)
        stopped: list[str] = []
        problems: list[str] = []
        if status.training is not None and status.training.stoppable:
            try:
                self.training_jobs.stop(status.training.job_name)
                stopped.append(f"training job {status.training.job_name}")
            except (ClientError, NovaftError) as exc:
                problems.append(f"could not stop training job {status.training.job_name}: {describe_error(exc)}")
        if status.execution is not None and status.execution.running:
            self.executions.stop(status.execution.execution_arn, cause=f"novaft cancel {run_ref}")
            stopped.append(f"execution {status.execution.execution_arn.rsplit(':', 1)[-1]}")
        evaluating = self._later_evaluation_execution(status.run)
        if evaluating is not None:
            self.executions.stop(evaluating.execution_arn, cause=f"novaft cancel {run_ref}")
            stopped.append(f"evaluation execution {evaluating.execution_arn.rsplit(':', 1)[-1]}")
        return CancelOutcome(status=self.status_of(status.run), stopped=stopped, problems=problems)

    def _later_evaluation_execution(self, run: RunView) -> ExecutionView | None:
        """The running ``novaft evaluate`` execution whose evaluation round is on the run record, if any."""
        round_name = run.evaluation.get("round")
        if run.evaluation.get("status") != EVALUATION_PLANNED or not isinstance(round_name, str) or not round_name:
            return None
        if run.execution_arn and run.execution_arn.rsplit(":", 1)[-1] == round_name:
            return None  # the run's own execution, stopped with the run
        execution = self._execution(execution_arn(self.outputs.state_machine_arn, round_name))
        return execution if execution is not None and execution.running else None

    # --- report --------------------------------------------------------------------------------------------------

    def validation_report(self, run_ref: str) -> tuple[RunView, dict[str, Any]]:
        run = self.runs.resolve(run_ref)
        if run.report_s3_uri:
            bucket, key = split_s3_uri(run.report_s3_uri)
        else:
            bucket = self.outputs.artifacts_bucket
            key = run_artifact_key(self.outputs.runs_prefix, run.run_id, VALIDATION_REPORT_FILE)
        try:
            report = json.loads(self.objects.read_bytes(bucket, key))
        except ObjectNotFound:
            raise ReportNotFound(
                f"run {run.run_name} ({run.run_id}, status {run.status}) has no validation report at "
                f"s3://{bucket}/{key} yet"
            ) from None
        if not isinstance(report, dict):
            raise ReportNotFound(f"s3://{bucket}/{key} is not a validation report (not a JSON object)")
        return run, report

    def _document(self, bucket: str, key: str) -> dict[str, Any] | None:
        try:
            document = json.loads(self.objects.read_bytes(bucket, key))
        except (ObjectNotFound, ValueError):
            return None
        return document if isinstance(document, dict) else None

    def training_metrics(self, run: RunView) -> TrainingMetrics | None:
        """The run's saved metrics.csv, else (a job still running) the loss in its log stream so far."""
        key = run_artifact_key(self.outputs.runs_prefix, run.run_id, METRICS_CSV_FILE)
        try:
            text = self.objects.read_bytes(self.outputs.artifacts_bucket, key).decode("utf-8", errors="replace")
            return parse_metrics_csv(text.splitlines(), source=f"s3://{self.outputs.artifacts_bucket}/{key}")
        except ObjectNotFound:
            pass
        if self.logs is None or run.training_job_name is None:
            return None
        return parse_log_lines(self.logs.lines(run.training_job_name))

    def training_progress(self, status: RunStatus, *, now: datetime) -> Progress | None:
        """Step of total, latest loss and time left of a running training job; None when no job is running."""
        if status.training is None or not status.training.stoppable:
            return None
        run = status.run
        plan = self._plans.get(run.run_id)
        if plan is None:
            bucket, prefix = self.outputs.artifacts_bucket, run_prefix(self.outputs.runs_prefix, run.run_id)
            plan = self._plans[run.run_id] = self._document(bucket, f"{prefix}{PLAN_FILE}") or {}
        found = plan.get("estimate")
        estimate: dict[str, Any] = found if isinstance(found, dict) else {}
        return progress_of(
            parse_log_lines(self.logs.lines(status.training.job_name)) if self.logs else None,
            total=self._total_steps(plan, estimate.get("records")),
            training_seconds=status.elapsed_seconds(now),
            estimated_hours=estimate.get("training_hours"),
        )

    def _total_steps(self, plan: dict[str, Any], records: Any) -> int | None:
        uri = plan.get("recipe_s3_uri")
        if not isinstance(uri, str) or not uri.startswith("s3://"):
            return None
        import yaml  # only a followed run pays for reading its recipe

        try:
            recipe = yaml.safe_load(self.objects.read_bytes(*split_s3_uri(uri)))
        except (ObjectNotFound, yaml.YAMLError):
            return None
        return total_steps(recipe, records if isinstance(records, int) else None) if isinstance(recipe, dict) else None

    def later_evaluation(
        self, run_ref: str, *, tasks: list[str] | None
    ) -> tuple[RunView, dict[str, Any], EvaluationEstimate]:
        """What ``novaft evaluate`` would start for the completed run (docs/evaluation.md): the run, the execution
        input and the estimate of its jobs."""
        # Imported here: only this command needs the recipes and the policy (status and runs start faster).
        from novaft.pipeline.steps.evaluation import estimate_evaluation, later_evaluation_input
        from novaft.pipeline.steps.job_spec import job_spec_from_document
        from novaft.recipes import load_price_table

        run = self.runs.resolve(run_ref)
        record = plain(self._items.find(run.run_id) or {})
        inputs = record.get("inputs") or {}
        spec_uri = inputs.get("job_spec_s3_uri") if isinstance(inputs, dict) else None
        job_spec = None
        if isinstance(spec_uri, str) and spec_uri.startswith("s3://"):
            job_spec = self._document(*split_s3_uri(spec_uri))
        if job_spec is None:
            raise ReportNotFound(f"run {run.run_id} has no pinned job spec (input/job.json): it was never validated")
        document = later_evaluation_input(record, job_spec, tasks=tasks, artifacts_bucket=self.outputs.artifacts_bucket)
        spec = job_spec_from_document(job_spec)
        chosen = document["evaluate_later"]["tasks"]
        return run, document, estimate_evaluation(spec, load_price_table(), region=self.outputs.region, tasks=chosen)

    def start_later_evaluation(self, document: dict[str, Any], *, execution_name: str) -> str:
        """Start the execution ``later_evaluation`` described; its ARN."""
        return self.executions.start(self.outputs.state_machine_arn, name=execution_name, document=document)

    def run_report_page(self, run_ref: str, *, generated_at: str) -> tuple[RunView, str]:
        """The run's HTML report, rendered here from what the pipeline stored (the same page RecordResult writes)."""
        run = self.runs.resolve(run_ref)
        bucket, prefix = self.outputs.artifacts_bucket, run_prefix(self.outputs.runs_prefix, run.run_id)
        document = self._document(bucket, f"{prefix}{RUN_JSON_FILE}") or plain(self._items.find(run.run_id) or {})
        validation_bucket, validation_key = (
            split_s3_uri(run.report_s3_uri) if run.report_s3_uri else (bucket, f"{prefix}{VALIDATION_REPORT_FILE}")
        )
        page = run_report_html(
            document,
            validation=self._document(validation_bucket, validation_key),
            plan=self._document(bucket, f"{prefix}{PLAN_FILE}"),
            metrics=self.training_metrics(run),
            evaluation=self._document(bucket, f"{prefix}{EVALUATION_FILE}"),
            generated_at=generated_at,
        )
        return run, page

    # --- submit --------------------------------------------------------------------------------------------------

    def upload_submission(self, run_name: str, uploads: Sequence[PlannedUpload]) -> DatasetLocation:
        """Upload (the training file last) and return the versions just written, as RegisterRun will pin them."""
        bucket = self.outputs.datasets_bucket
        existing = self.objects.keys_under(bucket, run_folder(self.outputs.incoming_prefix, run_name))
        check_no_stale_companions(bucket=bucket, run_name=run_name, existing_keys=existing, uploads=uploads)
        for upload in uploads:
            self.objects.upload_file(Path(upload.source), bucket, upload.key)
        pinned = {upload.key.rsplit("/", 1)[-1]: self.objects.head(bucket, upload.key) for upload in uploads}
        return DatasetLocation(
            bucket=bucket,
            train=pinned[TRAIN_FILE],
            validation=pinned.get(VALIDATION_FILE),
            job=pinned.get(JOB_FILE),
        )

    def registration(self, run_name: str, uploaded: DatasetLocation) -> Registration | None:
        """The pipeline's decision on an upload, once RegisterRun has made it (``None`` before)."""
        run_id = submission_run_id(run_name, uploaded, self.outputs.default_job)
        return registration_of(self.runs.get(run_id), uploaded.train)
