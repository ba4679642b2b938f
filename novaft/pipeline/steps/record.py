"""RecordResult / RecordFailure: write the run's final record and run.json, and compose the notification."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from novaft.errors import NovaftError
from novaft.pipeline.contracts import RecordResultInput, RunContext, RunRecordResult, WorkflowFailure
from novaft.pipeline.errors import EventNotRecognized, RunNotFound
from novaft.pipeline.facts import RUN_JSON_FILE, STATUS_COMPLETED, TRAINING_OUTPUT_DIR
from novaft.pipeline.manifest import output_archive_key, read_output_manifest
from novaft.pipeline.records import (
    RunUpdate,
    TrainingOutcome,
    console_links,
    failure_update,
    finished_update,
    notification_for,
    run_document,
    summarize_failure,
    training_outcome_from_describe,
)
from novaft.pipeline.settings import Settings
from novaft.pipeline.steps.ports import ObjectStore, RunStore, TrainingJobs, TrainingLogs
from novaft.pipeline.steps.run_report import read_training_metrics, report_key, save_metrics, write_run_report
from novaft.report.metrics import TrainingMetrics


@dataclass(frozen=True)
class RecordedRun:
    result: RunRecordResult
    outcome: TrainingOutcome | None  # present when a training job finished (for metrics)


@dataclass(frozen=True)
class Recording:
    """What recording one run's end needs: the run, the deployment's settings, the ports and the time."""

    run: RunContext
    settings: Settings
    objects: ObjectStore
    runs: RunStore
    jobs: TrainingJobs
    now: str
    logs: TrainingLogs | None = None  # the job's log stream: the loss when the archive has none

    @property
    def artifacts_uri(self) -> str:
        return f"s3://{self.run.artifacts_bucket}/{self.run.artifacts_prefix}"

    @property
    def run_json_key(self) -> str:
        return f"{self.run.artifacts_prefix}{RUN_JSON_FILE}"

    @property
    def run_json_uri(self) -> str:
        return f"s3://{self.run.artifacts_bucket}/{self.run_json_key}"


@dataclass(frozen=True)
class Notice:
    """The notification's content: one headline, labelled details (empty ones are left out) and console links."""

    headline: str
    details: dict[str, Any]
    links: dict[str, str]


def record_result(
    payload: RecordResultInput,
    *,
    settings: Settings,
    objects: ObjectStore,
    runs: RunStore,
    jobs: TrainingJobs,
    now: str,
    logs: TrainingLogs | None = None,
) -> RecordedRun:
    recording = Recording(payload.run, settings, objects, runs, jobs, now, logs)
    if payload.training is not None:
        return _record_finished(recording, payload.training.training_job_name)
    if payload.failure is not None:
        return _record_failure(recording, payload.failure)
    raise EventNotRecognized("record_result needs either 'training' (job finished) or 'failure' (a step failed)")


def _existing_item(recording: Recording) -> dict[str, Any]:
    run = recording.run
    try:
        return recording.runs.get(run.run_id)
    except RunNotFound:
        # Still record what is known: run.json and the e-mail matter more than the missing item.
        return {"run_id": run.run_id, "run_name": run.run_name}


def _record_finished(recording: Recording, job_name: str) -> RecordedRun:
    run = recording.run
    outcome = training_outcome_from_describe(recording.jobs.describe(job_name))
    checkpoint, manifest_problem, archive = None, None, None
    if outcome.status == STATUS_COMPLETED:
        archive_key = output_archive_key(f"{run.artifacts_prefix}{TRAINING_OUTPUT_DIR}/", job_name)
        try:
            archive = recording.objects.read_bytes(run.artifacts_bucket, archive_key)
            checkpoint = read_output_manifest(archive, source=f"s3://{run.artifacts_bucket}/{archive_key}")
        except (NovaftError, OSError) as error:  # a missing archive must not lose the record of a finished job
            manifest_problem = str(error)
    update = finished_update(
        outcome,
        checkpoint_s3_uri=checkpoint.checkpoint_s3_uri if checkpoint else None,
        now=recording.now,
        run_json_uri=recording.run_json_uri,
    )
    if manifest_problem:
        update = RunUpdate(update.status, update.updated_at, {**update.fields, "manifest_problem": manifest_problem})
    reading = read_training_metrics(archive, job_name=job_name, logs=recording.logs)
    metrics_fields: dict[str, Any] = {"metrics_problem": reading.problem}
    if reading.metrics is not None:
        metrics_fields |= save_metrics(recording.objects, run.artifacts_bucket, run.artifacts_prefix, reading.metrics)
    update = RunUpdate(update.status, update.updated_at, {**update.fields, **metrics_fields})
    existing = _existing_item(recording)
    links = console_links(
        recording.settings.region, training_job_name=job_name, execution_arn=existing.get("execution_arn")
    )
    if outcome.status == STATUS_COMPLETED:
        headline = "Training completed."
    else:
        headline = f"Training ended with status {outcome.status}: {outcome.failure_reason or 'no reason given'}."
    metrics = ", ".join(f"{name}={value:g}" for name, value in sorted(outcome.final_metrics.items()))
    summary = reading.metrics.summary if reading.metrics else None
    details = {
        "Training job": job_name,
        "Checkpoint (use as model_name_or_path or for Bedrock import)": update.fields.get("checkpoint_s3_uri"),
        "Checkpoint manifest problem": manifest_problem,
        "Billable instance-hours": f"{outcome.training_hours:.2f}" if outcome.billable_seconds is not None else None,
        "Final metrics": metrics or None,
        "Training loss": (
            f"{summary.final_loss:.4g} at step {summary.steps} (minimum {summary.min_loss:.4g})" if summary else None
        ),
        "Artifacts": recording.artifacts_uri,
        "Run record": recording.run_json_uri,
    }
    notice = Notice(headline, details, links)
    return RecordedRun(_store(recording, update, existing, notice, reading.metrics), outcome)


def _record_failure(recording: Recording, failure: WorkflowFailure) -> RecordedRun:
    run = recording.run
    summary = summarize_failure(failure)
    update = failure_update(summary, now=recording.now, run_json_uri=recording.run_json_uri)
    existing = _existing_item(recording)
    links = console_links(
        recording.settings.region,
        training_job_name=existing.get("training_job_arn") and run.training_job_name,
        execution_arn=existing.get("execution_arn"),
    )
    details = {
        "Error": summary.error,
        "Validation report": existing.get("report_s3_uri"),
        "Artifacts": recording.artifacts_uri,
        "Dataset": f"s3://{run.dataset.bucket}/{run.dataset.train_key}",
        "Run record": recording.run_json_uri,
    }
    headline = f"The run stopped at an error: {summary.message}"
    metrics = None
    if existing.get("training_job_arn"):  # a job ran before the failure: show how far its loss got
        reading = read_training_metrics(None, job_name=run.training_job_name, logs=recording.logs)
        metrics = reading.metrics
        if metrics is not None:
            fields = save_metrics(recording.objects, run.artifacts_bucket, run.artifacts_prefix, metrics)
            update = RunUpdate(update.status, update.updated_at, {**update.fields, **fields})
    return RecordedRun(_store(recording, update, existing, Notice(headline, details, links), metrics), None)


def _store(
    recording: Recording,
    update: RunUpdate,
    existing: dict[str, Any],
    notice: Notice,
    metrics: TrainingMetrics | None = None,
) -> RunRecordResult:
    run = recording.run
    report_uri = f"s3://{run.artifacts_bucket}/{report_key(run.artifacts_prefix)}"
    update = RunUpdate(update.status, update.updated_at, {**update.fields, "report_html_s3_uri": report_uri})
    document = run_document(existing, update, notice.links)
    write_run_report(
        recording.objects,
        bucket=run.artifacts_bucket,
        prefix=run.artifacts_prefix,
        run=document,
        metrics=metrics,
        now=recording.now,
    )
    # The e-mail names the report first among the places to look.
    notice = Notice(notice.headline, {"Report": report_uri, **notice.details}, notice.links)
    run_json_uri = recording.objects.put_json(run.artifacts_bucket, recording.run_json_key, document)
    if "execution_arn" in existing:  # the item exists (registered); update only then
        recording.runs.update(run.run_id, update.item_fields())
    notification = notification_for(
        run=run,
        stage=recording.settings.stage,
        status=update.status,
        headline=notice.headline,
        details=notice.details,
        links=notice.links,
    )
    return RunRecordResult(
        status=update.status, subject=notification.subject, message=notification.message, run_json_s3_uri=run_json_uri
    )
