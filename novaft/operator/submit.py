"""What ``novaft submit`` does before it uploads (pure but for reading the local files): the run name, the local
check of the job spec and the data (the same code and options the pipeline uses), and which files go where.

The trigger contract (docs/architecture.md) starts a run when ``incoming/<run>/train.jsonl`` is written and reads
``validation.jsonl`` and ``job.yaml`` beside it at that moment, so those two go first and ``train.jsonl`` last.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from novaft.errors import InputFileError, UsageError
from novaft.operator.errors import SubmitConflict
from novaft.operator.runs import RunView
from novaft.pipeline.contracts import DatasetLocation, PinnedObject
from novaft.pipeline.facts import JOB_FILE, OUTPUT_DEFAULT_JOB, TRAIN_FILE, VALIDATION_FILE
from novaft.pipeline.job_spec_source import job_spec_from, validation_options_for
from novaft.pipeline.run_identity import run_id_for, sanitize_run_name
from novaft.recipes import JobSpec
from novaft.recipes.job_spec import read_job_file
from novaft.validation import ValidationReport, iter_byte_lines, validate_dataset

STACK_DEFAULT_JOB_SOURCE = f"the stack's default job (output {OUTPUT_DEFAULT_JOB})"


def run_name_for(data_file: str, requested: str | None) -> str:
    """``--run`` if given (it must already be a clean name), else the data file's stem, sanitized.

    The name becomes the folder ``incoming/<run>/``; the pipeline records that folder name as the run name, so the
    CLI only uploads names the pipeline's own sanitizing leaves unchanged, and ``novaft status NAME`` finds the run.
    """
    if requested is None:
        return sanitize_run_name(PurePath(data_file).stem)
    cleaned = sanitize_run_name(requested)
    if cleaned != requested:
        raise UsageError(
            f"--run {requested!r} is not a valid run name: use lower-case letters, digits and single hyphens, "
            f"40 characters at most (for example {cleaned!r})"
        )
    return requested


@dataclass(frozen=True)
class LocalCheck:
    """``spec`` is None when no job spec is known locally (no --job, and the stack publishes no default job)."""

    spec: JobSpec | None
    report: ValidationReport | None

    @property
    def ok(self) -> bool:
        return self.report is None or self.report.valid


def job_spec_for_submit(job: Path | None, default_job: dict[str, Any] | None) -> JobSpec | None:
    """The spec the run will use: ``--job`` if given, else the stack's default; raises ``JobSpecInvalid``."""
    if job is not None:
        return job_spec_from(read_job_file(job), source=str(job), default_job=None)
    if default_job is not None:
        return job_spec_from(None, source=STACK_DEFAULT_JOB_SOURCE, default_job=default_job)
    return None


def check_locally(
    *,
    train: Path,
    validation: Path | None,
    spec: JobSpec | None,
    dataset_bucket: str | None,
    media_prefix: str | None = None,
) -> LocalCheck:
    """Validate the data against the spec's model, method and max length; skipped when no spec is known."""
    if spec is None:
        return LocalCheck(spec=None, report=None)
    options = validation_options_for(spec, dataset_bucket=dataset_bucket, media_prefix=media_prefix)
    with ExitStack() as files:
        try:
            train_stream = files.enter_context(train.open("rb"))
            validation_stream = files.enter_context(validation.open("rb")) if validation else None
        except OSError as exc:
            raise InputFileError(f"{exc.filename}: cannot read it ({exc.strerror or exc})") from None
        report = validate_dataset(
            iter_byte_lines(train_stream, max_line_bytes=options.max_line_bytes),
            options,
            validation_lines=(
                iter_byte_lines(validation_stream, max_line_bytes=options.max_line_bytes)
                if validation_stream is not None
                else None
            ),
        )
    return LocalCheck(spec=spec, report=report)


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


@dataclass(frozen=True)
class Registration:
    """What the pipeline made of one submission: a new run (an attempt), or a duplicate of an existing run."""

    run: RunView
    duplicate: bool


def submission_run_id(run_name: str, uploaded: DatasetLocation, default_job: dict[str, Any] | None) -> str:
    """The run id RegisterRun gives the uploaded files: it identifies runs by content (novaft.pipeline.run_identity),
    so the same id names the run that already has these files, if there is one."""
    return run_id_for(run_name, uploaded, default_job=default_job)


def registration_of(run: RunView | None, uploaded_train: PinnedObject) -> Registration | None:
    """``None`` while the pipeline has not registered the content; a duplicate when the run with this content was
    registered for another version of the training file than the one just uploaded."""
    if run is None:
        return None
    train = run.dataset.get("train")
    registered_version = train.get("version_id") if isinstance(train, Mapping) else None
    return Registration(run=run, duplicate=registered_version != uploaded_train.version_id)
