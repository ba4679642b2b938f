"""RegisterRun: decide whether the object starts a run and record the run exactly once per object version."""

from __future__ import annotations

from novaft.pipeline.contracts import RegisterRunInput, RunContext
from novaft.pipeline.facts import S3_OBJECT_CREATED
from novaft.pipeline.records import registered_item
from novaft.pipeline.run_identity import classify_object_key, ignored_run, run_context_for
from novaft.pipeline.settings import Settings
from novaft.pipeline.steps.ports import ObjectStore, RunStore


def register_run(
    payload: RegisterRunInput, *, settings: Settings, objects: ObjectStore, runs: RunStore, now: str
) -> RunContext:
    """``ignored`` for files that start nothing; ``duplicate`` (with the first execution) for a re-delivery."""
    event = payload.event
    layout = classify_object_key(event.detail.object.key, settings.incoming_prefix)
    if layout is None or event.detail_type != S3_OBJECT_CREATED:
        return ignored_run(event, settings.artifacts_bucket)
    bucket = event.detail.bucket.name
    candidates = [key for key in (layout.validation_key_candidate, layout.job_key_candidate) if key]
    existing = frozenset(key for key in candidates if objects.exists(bucket, key))
    run = run_context_for(
        event,
        layout,
        existing_keys=existing,
        artifacts_bucket=settings.artifacts_bucket,
        runs_prefix=settings.runs_prefix,
    )
    previous = runs.put_new(registered_item(run, execution_arn=payload.execution_arn, created_at=now))
    if previous is None:
        return run
    return run.model_copy(update={"duplicate": True, "existing_execution_arn": previous.get("execution_arn")})
