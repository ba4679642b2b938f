"""Which files ``novaft submit`` uploads where, and in which order (pure).

The trigger contract (docs/architecture.md) starts a run when ``incoming/<run>/train.jsonl`` is written and reads
``validation.jsonl`` and ``job.yaml`` beside it at that moment, so those two go first and ``train.jsonl`` last.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from novaft.operator.errors import SubmitConflict
from novaft.pipeline.run_identity import JOB_FILE, TRAIN_FILE, VALIDATION_FILE


@dataclass(frozen=True)
class PlannedUpload:
    source: Path
    key: str


def run_folder(incoming_prefix: str, run_name: str) -> str:
    return f"{incoming_prefix}{run_name}/"


def plan_uploads(
    *, incoming_prefix: str, run_name: str, train: Path, validation: Path | None, job: Path | None
) -> list[PlannedUpload]:
    folder = run_folder(incoming_prefix, run_name)
    uploads = []
    if validation is not None:
        uploads.append(PlannedUpload(validation, f"{folder}{VALIDATION_FILE}"))
    if job is not None:
        uploads.append(PlannedUpload(job, f"{folder}{JOB_FILE}"))
    uploads.append(PlannedUpload(train, f"{folder}{TRAIN_FILE}"))
    return uploads


def check_no_stale_companions(
    *, bucket: str, run_name: str, existing_keys: Iterable[str], uploads: Iterable[PlannedUpload]
) -> None:
    """A validation.jsonl or job.yaml left by an earlier submission would silently join this run; refuse that."""
    planned = {upload.key for upload in uploads}
    stale = sorted(
        key for key in existing_keys if key.rsplit("/", 1)[-1] in (VALIDATION_FILE, JOB_FILE) and key not in planned
    )
    if stale:
        listed = ", ".join(f"s3://{bucket}/{key}" for key in stale)
        raise SubmitConflict(
            f"run {run_name!r} already has {listed} from an earlier submission, which this run would pick up; "
            "pass --run with a new name (or give the same kind of file again to replace it)"
        )
