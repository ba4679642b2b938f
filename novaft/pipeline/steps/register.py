"""RegisterRun: decide whether the object starts a run, pin its inputs, and record the run once per content.

Pinning: the training file's version comes from the event; the validation file and job.yaml beside it are the
versions present now. Every later step reads only these versions (ValidateDataset copies them into the run's
snapshot), so an upload that lands after registration cannot change what this run validates or trains.
"""

from __future__ import annotations

from typing import Any

from novaft.pipeline.contracts import DatasetLocation, PinnedObject, RegisterRunInput, RunContext
from novaft.pipeline.facts import S3_OBJECT_CREATED
from novaft.pipeline.records import registered_item
from novaft.pipeline.run_identity import classify_object_key, ignored_run, run_context_for, run_id_for
from novaft.pipeline.settings import Settings
from novaft.pipeline.steps.ports import ObjectStore, RunStore


def register_run(
    payload: RegisterRunInput, *, settings: Settings, objects: ObjectStore, runs: RunStore, now: str
) -> RunContext:
    """``ignored`` for files that start nothing; ``duplicate`` (naming the existing run) for content already run."""
    event = payload.event
    layout = classify_object_key(event.detail.object.key, settings.incoming_prefix)
    if layout is None or event.detail_type != S3_OBJECT_CREATED:
        return ignored_run(event, settings.artifacts_bucket)
    bucket = event.detail.bucket.name
    dataset = DatasetLocation(
        bucket=bucket,
        train=objects.head(bucket, layout.train_key, event.detail.object.version_id),
        validation=_current_version(objects, bucket, layout.validation_key_candidate),
        job=_current_version(objects, bucket, layout.job_key_candidate),
        eval_set=_current_version(objects, bucket, layout.eval_key_candidate),
    )
    run_id = run_id_for(layout.run_name, dataset, default_job=settings.default_job)
    existing = runs.find(run_id)
    if existing is not None:
        return _duplicate_of(existing, layout.run_name, dataset, settings)
    run = run_context_for(
        layout.run_name,
        dataset,
        attempt=runs.next_attempt(layout.run_name),
        artifacts_bucket=settings.artifacts_bucket,
        runs_prefix=settings.runs_prefix,
        run_id=run_id,
    )
    # Two deliveries of the same content at once both pass the find above; the conditional put lets one through
    # (the other's attempt number is then skipped).
    previous = runs.put_new(registered_item(run, execution_arn=payload.execution_arn, created_at=now))
    if previous is None:
        return run
    return _duplicate_of(previous, layout.run_name, dataset, settings)


def _current_version(objects: ObjectStore, bucket: str, key: str | None) -> PinnedObject | None:
    if key is None or not objects.exists(bucket, key):
        return None
    return objects.head(bucket, key)


def _duplicate_of(existing: dict[str, Any], run_name: str, dataset: DatasetLocation, settings: Settings) -> RunContext:
    run_id = str(existing["run_id"])
    run = run_context_for(
        run_name,
        dataset,
        # DynamoDB returns numbers as Decimal; records from before attempts were counted have none.
        attempt=int(existing.get("attempt") or 0),
        artifacts_bucket=settings.artifacts_bucket,
        runs_prefix=settings.runs_prefix,
        run_id=run_id,
    )
    execution_arn = existing.get("execution_arn")
    return run.model_copy(
        update={"duplicate": True, "existing_execution_arn": str(execution_arn) if execution_arn else None}
    )
