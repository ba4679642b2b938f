"""The operator's use cases against one deployed pipeline: find it, look up, follow, stop and report on runs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import ClientError

from novaft.aws.clients import AwsSession
from novaft.aws.cloudformation import CloudFormationStacks
from novaft.aws.errors import ExecutionNotFound, ObjectNotFound, StackNotFound, describe_error
from novaft.aws.runs_table import RunsTable
from novaft.aws.s3_objects import S3Objects, split_s3_uri
from novaft.aws.sagemaker_jobs import SageMakerTrainingJobs
from novaft.aws.step_functions import StepFunctionsExecutions
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
)
from novaft.operator.submit import PlannedUpload, check_no_stale_companions, run_folder
from novaft.pipeline.errors import TrainingJobNotFound
from novaft.pipeline.facts import VALIDATION_REPORT_FILE, run_artifact_key


class Stacks(Protocol):
    def outputs(self, stack_name: str) -> dict[str, str]: ...

    def names(self) -> list[str]: ...


class Executions(Protocol):
    def describe(self, execution_arn: str) -> dict[str, Any]: ...

    def newest_events(self, execution_arn: str) -> list[dict[str, Any]]: ...

    def stop(self, execution_arn: str, *, cause: str) -> None: ...


class TrainingJobs(Protocol):
    def describe(self, job_name: str) -> dict[str, Any]: ...

    def stop(self, job_name: str) -> None: ...


class Objects(Protocol):
    def read_bytes(self, bucket: str, key: str, version_id: str | None = None) -> bytes: ...

    def keys_under(self, bucket: str, prefix: str) -> list[str]: ...

    def upload_file(self, path: Path, bucket: str, key: str) -> None: ...


@dataclass(frozen=True)
class CancelOutcome:
    status: RunStatus  # read right after the stop calls
    stopped: list[str]  # what was asked to stop, in the user's words
    problems: list[str]  # stops that failed (the run may still stop through the pipeline)


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
    ) -> None:
        self.outputs = outputs
        self.runs = RunLookup(runs)
        self.executions = executions
        self.training_jobs = training_jobs
        self.objects = objects
        self.console_links = console_links

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
                self.training_jobs.stop(status.training.job_name)
                stopped.append(f"training job {status.training.job_name}")
            except (ClientError, NovaftError) as exc:
                problems.append(f"could not stop training job {status.training.job_name}: {describe_error(exc)}")
        if status.execution is not None and status.execution.running:
            self.executions.stop(status.execution.execution_arn, cause=f"novaft cancel {run_ref}")
            stopped.append(f"execution {status.execution.execution_arn.rsplit(':', 1)[-1]}")
        return CancelOutcome(status=self.status_of(status.run), stopped=stopped, problems=problems)

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

    # --- submit --------------------------------------------------------------------------------------------------

    def upload_submission(self, run_name: str, uploads: Sequence[PlannedUpload]) -> None:
        bucket = self.outputs.datasets_bucket
        existing = self.objects.keys_under(bucket, run_folder(self.outputs.incoming_prefix, run_name))
        check_no_stale_companions(bucket=bucket, run_name=run_name, existing_keys=existing, uploads=uploads)
        for upload in uploads:
            self.objects.upload_file(Path(upload.source), bucket, upload.key)
