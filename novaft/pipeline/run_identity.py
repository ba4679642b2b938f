"""Turn an S3 ``Object Created`` event into a run: which layout it matches, the run's name, id and job name.

Layouts (docs/architecture.md, "Trigger contract"):

* ``<incoming>/<run>/train.jsonl`` starts run ``<run>``; ``validation.jsonl`` and ``job.yaml`` beside it are used
  when they exist.
* ``<incoming>/<name>.jsonl`` starts run ``<name>`` with the deployed default job.
* Anything else starts nothing.

The run id is ``<sanitized run name>-<hex of sha256(bucket/key/version-id or etag)>``: a re-delivery of the same
object version maps to the same id (so the conditional put detects it), while a new upload under the same name
gets a new id.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from novaft.pipeline.contracts import DatasetLocation, RunContext, S3ObjectCreatedEvent
from novaft.pipeline.facts import JOB_FILE, TRAIN_FILE, VALIDATION_FILE
from novaft.recipes import training_job_name

JSONL_SUFFIX = ".jsonl"
RUN_ID_HASH_HEX_CHARS = 12
# Leaves room for the hash and any job-name prefix inside SageMaker's 63-character job-name limit
# (CreateTrainingJob API reference, TrainingJobName).
RUN_NAME_MAX_CHARS = 40
_NOT_NAME_CHARS = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class RunLayout:
    """Where a run's files are, by layout; sibling files are candidates whose existence the caller checks."""

    run_name: str
    train_key: str
    validation_key_candidate: str | None
    job_key_candidate: str | None


def classify_object_key(key: str, incoming_prefix: str) -> RunLayout | None:
    """The layout ``key`` matches, or ``None`` when the object starts no run."""
    if not key.startswith(incoming_prefix):
        return None
    relative = key[len(incoming_prefix) :]
    parts = relative.split("/")
    if len(parts) == 1 and parts[0].endswith(JSONL_SUFFIX) and len(parts[0]) > len(JSONL_SUFFIX):
        return RunLayout(
            run_name=parts[0][: -len(JSONL_SUFFIX)],
            train_key=key,
            validation_key_candidate=None,
            job_key_candidate=None,
        )
    if len(parts) == 2 and parts[0] and parts[1] == TRAIN_FILE:
        run_folder = f"{incoming_prefix}{parts[0]}/"
        return RunLayout(
            run_name=parts[0],
            train_key=key,
            validation_key_candidate=f"{run_folder}{VALIDATION_FILE}",
            job_key_candidate=f"{run_folder}{JOB_FILE}",
        )
    return None


def sanitize_run_name(run_name: str) -> str:
    """Lower-case letters, digits and single hyphens, so the name fits SageMaker job-name rules."""
    cleaned = _NOT_NAME_CHARS.sub("-", run_name.lower()).strip("-")
    return cleaned[:RUN_NAME_MAX_CHARS].rstrip("-") or "run"


def run_id_for(run_name: str, bucket: str, key: str, version_id: str | None, etag: str | None) -> str:
    """Deterministic per object version: ``<sanitized name>-<12 hex>``."""
    object_identity = version_id or (etag or "").strip('"')
    digest = hashlib.sha256(f"{bucket}/{key}/{object_identity}".encode()).hexdigest()
    return f"{sanitize_run_name(run_name)}-{digest[:RUN_ID_HASH_HEX_CHARS]}"


def ignored_run(event: S3ObjectCreatedEvent, artifacts_bucket: str) -> RunContext:
    """The ``$.run`` of an object that starts nothing (the workflow routes it to ``NotATrainingFile``)."""
    return RunContext(
        run_id="",
        run_name="",
        ignored=True,
        dataset=DatasetLocation(
            bucket=event.detail.bucket.name,
            train_key=event.detail.object.key,
            version_id=event.detail.object.version_id,
            etag=event.detail.object.etag,
        ),
        artifacts_bucket=artifacts_bucket,
        artifacts_prefix="",
        training_job_name="",
    )


def run_context_for(
    event: S3ObjectCreatedEvent,
    layout: RunLayout,
    *,
    existing_keys: frozenset[str],
    artifacts_bucket: str,
    runs_prefix: str,
) -> RunContext:
    """The ``$.run`` of a training file; ``existing_keys`` says which sibling candidates exist in the bucket."""
    bucket = event.detail.bucket.name
    version_id = event.detail.object.version_id
    etag = event.detail.object.etag
    run_id = run_id_for(layout.run_name, bucket, layout.train_key, version_id, etag)
    validation_key = layout.validation_key_candidate if layout.validation_key_candidate in existing_keys else None
    job_key = layout.job_key_candidate if layout.job_key_candidate in existing_keys else None
    return RunContext(
        run_id=run_id,
        run_name=layout.run_name,
        dataset=DatasetLocation(
            bucket=bucket,
            train_key=layout.train_key,
            validation_key=validation_key,
            job_key=job_key,
            version_id=version_id,
            etag=etag,
        ),
        artifacts_bucket=artifacts_bucket,
        artifacts_prefix=f"{runs_prefix}{run_id}/",
        training_job_name=training_job_name(run_id),
    )
