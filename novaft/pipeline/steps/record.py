"""RecordResult / RecordFailure: write the run's final record and run.json, and compose the notification."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from novaft.errors import NovaftError
from novaft.pipeline.contracts import RecordResultInput, RunContext, RunRecordResult, WorkflowFailure
from novaft.pipeline.errors import EventNotRecognized, RunNotFound
from novaft.pipeline.manifest import output_archive_key, read_output_manifest
from novaft.pipeline.records import (
    STATUS_COMPLETED,
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
from novaft.pipeline.steps.ports import ObjectStore, RunStore, TrainingJobs

RUN_JSON_FILE = "run.json"
REPORT_FILE = "validation-report.json"


@dataclass(frozen=True)
class RecordedRun:
    result: RunRecordResult
    outcome: TrainingOutcome | None  # present when a training job finished (for metrics)


def record_result(
    payload: RecordResultInput,
    *,
    settings: Settings,
    objects: ObjectStore,
    runs: RunStore,
    jobs: TrainingJobs,
    now: str,
) -> RecordedRun:
    if payload.training is not None:
        return _record_finished(payload.run, payload.training.training_job_name, settings, objects, runs, jobs, now)
    if payload.failure is not None:
        return _record_failure(payload.run, payload.failure, settings, objects, runs, jobs, now)
    raise EventNotRecognized("record_result needs either 'training' (job finished) or 'failure' (a step failed)")


def _existing_item(runs: RunStore, run: RunContext) -> dict[str, Any]:
    try:
        return runs.get(run.run_id)
    except RunNotFound:
        # Still record what is known: run.json and the e-mail matter more than the missing item.
        return {"run_id": run.run_id, "run_name": run.run_name}


def _record_finished(
    run: RunContext,
    job_name: str,
    settings: Settings,
    objects: ObjectStore,
    runs: RunStore,
    jobs: TrainingJobs,
    now: str,
) -> RecordedRun:
    outcome = training_outcome_from_describe(jobs.describe(job_name))
    checkpoint, manifest_problem = None, None
    output_prefix = f"{run.artifacts_prefix}output/"
    if outcome.status == STATUS_COMPLETED:
        archive_key = output_archive_key(output_prefix, job_name)
        try:
            archive = objects.read_bytes(run.artifacts_bucket, archive_key)
            checkpoint = read_output_manifest(archive, source=f"s3://{run.artifacts_bucket}/{archive_key}")
        except (NovaftError, OSError) as error:  # a missing archive must not lose the record of a finished job
            manifest_problem = str(error)
    run_json_key = f"{run.artifacts_prefix}{RUN_JSON_FILE}"
    run_json_uri = f"s3://{run.artifacts_bucket}/{run_json_key}"
    update = finished_update(
        outcome,
        checkpoint_s3_uri=checkpoint.checkpoint_s3_uri if checkpoint else None,
        now=now,
        run_json_uri=run_json_uri,
    )
    if manifest_problem:
        update = RunUpdate(update.status, update.updated_at, {**update.fields, "manifest_problem": manifest_problem})
    existing = _existing_item(runs, run)
    links = console_links(settings.region, training_job_name=job_name, execution_arn=existing.get("execution_arn"))
    if outcome.status == STATUS_COMPLETED:
        headline = "Training completed."
    else:
        headline = f"Training ended with status {outcome.status}: {outcome.failure_reason or 'no reason given'}."
    metrics = ", ".join(f"{name}={value:g}" for name, value in sorted(outcome.final_metrics.items()))
    details = {
        "Training job": job_name,
        "Checkpoint (use as model_name_or_path or for Bedrock import)": update.fields.get("checkpoint_s3_uri"),
        "Checkpoint manifest problem": manifest_problem,
        "Billable instance-hours": f"{outcome.training_hours:.2f}" if outcome.billable_seconds is not None else None,
        "Final metrics": metrics or None,
        "Artifacts": f"s3://{run.artifacts_bucket}/{run.artifacts_prefix}",
        "Run record": run_json_uri,
    }
    return RecordedRun(_store(run, update, existing, links, headline, details, settings, objects, runs), outcome)


def _record_failure(
    run: RunContext,
    failure: WorkflowFailure,
    settings: Settings,
    objects: ObjectStore,
    runs: RunStore,
    jobs: TrainingJobs,
    now: str,
) -> RecordedRun:
    summary = summarize_failure(failure)
    run_json_uri = f"s3://{run.artifacts_bucket}/{run.artifacts_prefix}{RUN_JSON_FILE}"
    update = failure_update(summary, now=now, run_json_uri=run_json_uri)
    existing = _existing_item(runs, run)
    links = console_links(
        settings.region,
        training_job_name=existing.get("training_job_arn") and run.training_job_name,
        execution_arn=existing.get("execution_arn"),
    )
    details = {
        "Error": summary.error,
        "Validation report": existing.get("report_s3_uri"),
        "Artifacts": f"s3://{run.artifacts_bucket}/{run.artifacts_prefix}",
        "Dataset": f"s3://{run.dataset.bucket}/{run.dataset.train_key}",
        "Run record": run_json_uri,
    }
    headline = f"The run stopped at an error: {summary.message}"
    return RecordedRun(_store(run, update, existing, links, headline, details, settings, objects, runs), None)


def _store(
    run: RunContext,
    update: RunUpdate,
    existing: dict[str, Any],
    links: dict[str, str],
    headline: str,
    details: dict[str, Any],
    settings: Settings,
    objects: ObjectStore,
    runs: RunStore,
) -> RunRecordResult:
    document = run_document(existing, update, links)
    run_json_uri = objects.put_json(run.artifacts_bucket, f"{run.artifacts_prefix}{RUN_JSON_FILE}", document)
    if "execution_arn" in existing:  # the item exists (registered); update only then
        runs.update(run.run_id, update.item_fields())
    notification = notification_for(
        run=run, stage=settings.stage, status=update.status, headline=headline, details=details, links=links
    )
    return RunRecordResult(
        status=update.status, subject=notification.subject, message=notification.message, run_json_s3_uri=run_json_uri
    )
