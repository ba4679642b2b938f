"""Turn an S3 ``Object Created`` event into a run: which layout it matches, the run's name, id and job name.

Layouts (docs/architecture.md, "Trigger contract"):

* ``<incoming>/<run>/train.jsonl`` starts run ``<run>``; ``validation.jsonl`` and ``job.yaml`` beside it are used
  when they exist.
* ``<incoming>/<name>.jsonl`` starts run ``<name>`` with the deployed default job.
* Anything else starts nothing.

The run id is ``<sanitized run name>-<12 hex of sha256(content identity)>``. The content identity is the bucket,
the training key and, for each input (train, validation, job spec), its key, size and checksum (the ETag when S3
keeps no checksum); without a job.yaml, the deployed default job. So a re-delivered event, and a new version of
identical bytes, map to the id of the run that already has them (the conditional put detects it), while changed
content under the same name gets a new id: a new attempt.

Why a checksum before the ETag: the datasets bucket encrypts with SSE-KMS, and S3 documents that the ETag of an
SSE-KMS object is not an MD5 digest of its data, so two uploads of the same bytes need not share it. S3 keeps a
checksum of the plaintext for every new object (the one the client sent, else its default CRC64NVME). Either
value of a multipart upload depends on the part size: the same bytes uploaded with another part size count as
new content.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from novaft.pipeline.contracts import DatasetLocation, PinnedObject, RunContext, S3ObjectCreatedEvent
from novaft.pipeline.facts import EVAL_DATA_FILE, JOB_FILE, TRAIN_FILE, VALIDATION_FILE
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
    # The run's evaluation set (gen_qa format), folder layout only.
    eval_key_candidate: str | None = None


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
            eval_key_candidate=f"{run_folder}{EVAL_DATA_FILE}",
        )
    return None


def sanitize_run_name(run_name: str) -> str:
    """Lower-case letters, digits and single hyphens, so the name fits SageMaker job-name rules."""
    cleaned = _NOT_NAME_CHARS.sub("-", run_name.lower()).strip("-")
    return cleaned[:RUN_NAME_MAX_CHARS].rstrip("-") or "run"


def content_identity(pinned: PinnedObject) -> str:
    """What says two versions hold the same bytes: key, size and checksum (else ETag)."""
    fingerprint = pinned.checksum or f"etag:{pinned.etag.strip(chr(34))}"
    return f"{pinned.key}|{pinned.size}|{fingerprint}"


def default_job_identity(default_job: dict[str, Any] | None) -> str:
    """The job spec identity of a run without job.yaml: the deployed default job, canonically serialized."""
    return "default:" + json.dumps(default_job, sort_keys=True, separators=(",", ":"))


def run_id_for(run_name: str, dataset: DatasetLocation, *, default_job: dict[str, Any] | None) -> str:
    """Deterministic per content: ``<sanitized name>-<12 hex>`` (module docstring)."""
    parts = [
        dataset.bucket,
        content_identity(dataset.train),
        content_identity(dataset.validation) if dataset.validation else "no validation",
        content_identity(dataset.job) if dataset.job else default_job_identity(default_job),
    ]
    # Only when present, so runs without an evaluation set keep the ids they always had.
    if dataset.eval_set is not None:
        parts.append(content_identity(dataset.eval_set))
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return f"{sanitize_run_name(run_name)}-{digest[:RUN_ID_HASH_HEX_CHARS]}"


def ignored_run(event: S3ObjectCreatedEvent, artifacts_bucket: str) -> RunContext:
    """The ``$.run`` of an object that starts nothing (the workflow routes it to ``NotATrainingFile``)."""
    return RunContext(
        run_id="",
        run_name="",
        ignored=True,
        dataset=DatasetLocation(bucket=event.detail.bucket.name, train=pinned_from_event(event)),
        artifacts_bucket=artifacts_bucket,
        artifacts_prefix="",
        training_job_name="",
    )


def pinned_from_event(event: S3ObjectCreatedEvent) -> PinnedObject:
    """The object as the event names it (no checksum: events carry none)."""
    detail = event.detail.object
    return PinnedObject(key=detail.key, version_id=detail.version_id, etag=detail.etag or "", size=detail.size or 0)


def run_context_for(
    run_name: str, dataset: DatasetLocation, *, attempt: int, artifacts_bucket: str, runs_prefix: str, run_id: str
) -> RunContext:
    """The ``$.run`` of a training file whose inputs are pinned in ``dataset``."""
    return RunContext(
        run_id=run_id,
        run_name=run_name,
        attempt=attempt,
        dataset=dataset,
        artifacts_bucket=artifacts_bucket,
        artifacts_prefix=f"{runs_prefix}{run_id}/",
        training_job_name=training_job_name(run_id),
    )
