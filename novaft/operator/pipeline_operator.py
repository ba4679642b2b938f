"""The operator's use cases against one deployed pipeline: look up, inspect, stop and report on runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from novaft.operator.aws_errors import describe_client_error
from novaft.operator.clients import AwsClients
from novaft.operator.errors import ReportNotFound
from novaft.operator.run_status import RunStatus
from novaft.operator.run_view import RunView
from novaft.operator.runs_repository import RunRepository
from novaft.operator.s3_uris import split_s3_uri
from novaft.operator.stack_discovery import discover_pipeline
from novaft.operator.stack_outputs import PipelineOutputs
from novaft.operator.storage_adapter import StorageAdapter
from novaft.operator.submission import PlannedUpload, check_no_stale_companions, run_folder
from novaft.operator.training_adapter import TrainingAdapter
from novaft.operator.workflow_adapter import WorkflowAdapter

VALIDATION_REPORT_FILE = "validation-report.json"
RUNS_PREFIX = "runs/"


@dataclass(frozen=True)
class CancelOutcome:
    status: RunStatus  # read right after the stop calls
    stopped: list[str]  # what was asked to stop, in the user's words
    problems: list[str]  # stops that failed (the run may still stop through the pipeline)


class PipelineOperator:
    def __init__(
        self,
        outputs: PipelineOutputs,
        *,
        runs: RunRepository,
        workflow: WorkflowAdapter,
        training: TrainingAdapter,
        storage: StorageAdapter,
        console_links: bool = True,
    ) -> None:
        self.outputs = outputs
        self.runs = runs
        self.workflow = workflow
        self.training = training
        self.storage = storage
        self.console_links = console_links

    @property
    def console_region(self) -> str | None:
        """The region for console links, or None when the clients talk to a local endpoint."""
        return self.outputs.region if self.console_links else None

    @classmethod
    def connect(cls, clients: AwsClients, stack_name: str) -> PipelineOperator:
        outputs = discover_pipeline(clients.cloudformation, stack_name, region=clients.region)
        return cls(
            outputs,
            runs=RunRepository.for_table(clients.dynamodb, outputs.runs_table),
            workflow=WorkflowAdapter(clients.stepfunctions),
            training=TrainingAdapter(clients.sagemaker),
            storage=StorageAdapter(clients.s3),
            console_links=not clients.uses_custom_endpoint,
        )

    # --- inspect -------------------------------------------------------------------------------------------------

    def status_of(self, run: RunView) -> RunStatus:
        """Re-read the run record, then its execution and training job."""
        fresh = self.runs.get(run.run_id) or run
        execution = self.workflow.describe(fresh.execution_arn) if fresh.execution_arn else None
        current_state = self.workflow.current_state(execution.execution_arn) if execution is not None else None
        training = self.training.describe(fresh.training_job_name) if fresh.training_job_name else None
        return RunStatus(run=fresh, execution=execution, current_state=current_state, training=training)

    def status(self, run_ref: str) -> RunStatus:
        return self.status_of(self.runs.resolve(run_ref))

    # --- cancel --------------------------------------------------------------------------------------------------

    def cancel(self, run_ref: str) -> CancelOutcome:
        """Stop the training job and the execution (whichever still runs).

        The job goes first so no more billable time accrues; a job that cannot be stopped does not keep the
        execution running: the pipeline's stop_run function reacts to the ABORTED execution, stops the job too and
        records the run as Stopped.
        """
        status = self.status(run_ref)
        stopped: list[str] = []
        problems: list[str] = []
        if status.training is not None and status.training.stoppable:
            try:
                self.training.stop(status.training.job_name)
                stopped.append(f"training job {status.training.job_name}")
            except ClientError as exc:
                problems.append(f"could not stop training job {status.training.job_name}: {describe_client_error(exc)}")
        if status.execution is not None and status.execution.running:
            self.workflow.stop(status.execution.execution_arn, cause=f"novaft cancel {run_ref}")
            stopped.append(f"execution {status.execution.execution_arn.rsplit(':', 1)[-1]}")
        return CancelOutcome(status=self.status_of(status.run), stopped=stopped, problems=problems)

    # --- report --------------------------------------------------------------------------------------------------

    def validation_report(self, run_ref: str) -> tuple[RunView, dict[str, Any]]:
        run = self.runs.resolve(run_ref)
        if run.report_s3_uri:
            bucket, key = split_s3_uri(run.report_s3_uri)
        else:
            bucket, key = self.outputs.artifacts_bucket, f"{RUNS_PREFIX}{run.run_id}/{VALIDATION_REPORT_FILE}"
        report = self.storage.read_json(bucket, key)
        if report is None:
            raise ReportNotFound(
                f"run {run.run_name} ({run.run_id}, status {run.status}) has no validation report at "
                f"s3://{bucket}/{key} yet"
            )
        if not isinstance(report, dict):
            raise ReportNotFound(f"s3://{bucket}/{key} is not a validation report (not a JSON object)")
        return run, report

    # --- submit --------------------------------------------------------------------------------------------------

    def upload_submission(self, run_name: str, uploads: list[PlannedUpload]) -> None:
        bucket = self.outputs.datasets_bucket
        existing = self.storage.keys_under(bucket, run_folder(self.outputs.incoming_prefix, run_name))
        check_no_stale_companions(bucket=bucket, run_name=run_name, existing_keys=existing, uploads=uploads)
        for upload in uploads:
            self.storage.upload(Path(upload.source), bucket, upload.key)
