"""``novaft submit``'s local check: the job spec and the data, with the same code and options the pipeline uses."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from novaft.errors import InputFileError
from novaft.pipeline.job_spec_source import job_spec_from, validation_options_for
from novaft.recipes import JobSpec
from novaft.validation import ValidationReport, iter_byte_lines, validate_dataset

STACK_DEFAULT_JOB_SOURCE = "the stack's default job (output DefaultJob)"


@dataclass(frozen=True)
class LocalCheck:
    """``spec`` is None when no job spec is known locally (no --job, and the stack publishes no default job)."""

    spec: JobSpec | None
    report: ValidationReport | None

    @property
    def ok(self) -> bool:
        return self.report is None or self.report.valid


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputFileError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read it ({exc.strerror or exc})") from None


def job_spec_for_submit(job: Path | None, default_job: dict[str, Any] | None) -> JobSpec | None:
    """The spec the run will use: ``--job`` if given, else the stack's default; raises ``JobSpecInvalid``."""
    if job is not None:
        return job_spec_from(_read_text(job), source=str(job), default_job=None)
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
