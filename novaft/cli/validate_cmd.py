"""``novaft validate``: check a Converse JSONL dataset locally, with the same code the pipeline's Lambda runs.

Contract (other tools depend on it):
``novaft validate PATH [--validation PATH] --model {micro,lite,pro,lite-2} --method {sft,dpo} [--max-length N]
[--format text|json|html]``; exit 0 valid, 1 invalid, 2 usage or I/O error. ``--format json`` prints one JSON object,
``ValidationReport.to_dict()``. ``novaft validate PATH --model M --eval {gen_qa,llm_judge}`` checks an evaluation data
file instead (``EvalValidationReport.to_dict()``; same exit codes, issue fields and line codes).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from novaft.errors import InputFileError, UsageError
from novaft.pipeline.facts import EVAL_DATA_FILES, EVAL_DATA_TASKS, METHODS, MODEL_NAMES, ExitCode
from novaft.validation import (
    PLATFORMS,
    ByteLine,
    ValidationOptions,
    ValidationReport,
    iter_byte_lines,
    validate_dataset,
)
from novaft.validation.eval_formats import EvalValidationReport, validate_eval_data
from novaft.validation.issues import Issue
from novaft.validation.options import (
    DEFAULT_CHARS_PER_TOKEN,
    DEFAULT_MAX_ERRORS,
    DEFAULT_MAX_LINE_BYTES,
    OVERLENGTH_POLICIES,
)
from novaft.validation.report import IssueSummary

ERRORS_SHOWN_IN_TEXT = 20
# The flags whose values are the ValidationOptions fields of the same name.
OPTIONS_FROM_FLAGS = (
    "model",
    "method",
    "max_length",
    "overlength",
    "chars_per_token",
    "max_errors",
    "dataset_bucket",
    "media_prefix",
    "platform",
    "min_records",
    "max_records",
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check a Converse JSONL dataset for Nova fine-tuning",
        description="Check a Converse JSONL dataset against the Nova fine-tuning rules. "
        "Exit 0 valid, 1 invalid, 2 usage or I/O error.",
    )
    parser.add_argument("path", metavar="PATH", help="training JSONL file")
    parser.add_argument("--validation", metavar="PATH", help="validation JSONL file, checked by the same rules")
    parser.add_argument("--model", required=True, choices=MODEL_NAMES)
    parser.add_argument("--method", choices=METHODS, help="training method (required unless --eval is given)")
    parser.add_argument(
        "--eval",
        dest="eval_task",
        choices=EVAL_DATA_TASKS,
        help="check an evaluation data file instead: "
        + ", ".join(f"{task} ({name})" for task, name in EVAL_DATA_FILES.items()),
    )
    parser.add_argument("--max-length", type=int, metavar="N", help="token limit per record (recipe max_length)")
    parser.add_argument(
        "--format",
        choices=("text", "json", "html"),
        default="text",
        dest="output_format",
        help="html: one self-contained page (statistics, histogram, every listed error); redirect it to a file",
    )
    parser.add_argument(
        "--overlength", choices=OVERLENGTH_POLICIES, default="fail", help="records over --max-length: fail or warn"
    )
    parser.add_argument(
        "--chars-per-token",
        type=float,
        default=DEFAULT_CHARS_PER_TOKEN,
        help=f"characters per token for the length estimate (default {DEFAULT_CHARS_PER_TOKEN})",
    )
    parser.add_argument("--max-errors", type=int, default=DEFAULT_MAX_ERRORS, help="errors listed in the report")
    parser.add_argument("--dataset-bucket", metavar="BUCKET", help="require media to be in this S3 bucket")
    parser.add_argument(
        "--media-prefix", metavar="PREFIX", help="with --dataset-bucket: require media under this key prefix"
    )
    parser.add_argument("--platform", choices=PLATFORMS, default="sagemaker")
    parser.add_argument("--min-records", type=int, metavar="N", help="override the minimum record count")
    parser.add_argument("--max-records", type=int, metavar="N", help="override the maximum record count (0: none)")
    parser.set_defaults(handler=run_validate)


def run_validate(args: argparse.Namespace) -> int:
    if args.eval_task is not None:
        return _run_validate_eval(args)
    if args.method is None:
        raise UsageError("--method is required (or --eval gen_qa|llm_judge for an evaluation data file)")
    if args.media_prefix is not None and args.dataset_bucket is None:
        # The prefix is a key prefix inside the dataset's bucket; alone it would be silently ignored.
        raise UsageError("--media-prefix needs --dataset-bucket: the prefix is a key prefix inside that bucket")
    options = ValidationOptions(**{name: getattr(args, name) for name in OPTIONS_FROM_FLAGS})
    with ExitStack() as files:
        train = files.enter_context(_open_dataset(args.path))
        validation = files.enter_context(_open_dataset(args.validation)) if args.validation else None
        report = validate_dataset(
            _lines(train, args.path, options.max_line_bytes),
            options,
            validation_lines=_lines(validation, args.validation, options.max_line_bytes) if validation else None,
        )
    return _print_report(args, report, lambda: format_text_report(report, args.path, args.validation))


def _run_validate_eval(args: argparse.Namespace) -> int:
    # Training-only options would be silently ignored; say so instead.
    given = [flag for flag, value in (("--method", args.method), ("--validation", args.validation)) if value]
    given += [
        flag for flag, value in (("--max-length", args.max_length), ("--dataset-bucket", args.dataset_bucket)) if value
    ]
    if given:
        raise UsageError(f"{', '.join(given)}: not used with --eval (an evaluation data file has no such rule)")
    with _open_dataset(args.path) as stream:
        eval_report = validate_eval_data(
            _lines(stream, args.path, DEFAULT_MAX_LINE_BYTES), args.model, args.eval_task, max_errors=args.max_errors
        )
    return _print_report(args, eval_report, lambda: format_eval_text_report(eval_report, args.path))


def _print_report(
    args: argparse.Namespace, report: ValidationReport | EvalValidationReport, text: Callable[[], str]
) -> int:
    """Write the report in the chosen format; the exit code says whether the data is valid."""
    if args.output_format == "json":
        sys.stdout.write(orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2).decode() + "\n")
    elif args.output_format == "html":
        sys.stdout.write(_html_page(report.to_dict(), args.path))
    else:
        sys.stdout.write(text())
    return ExitCode.OK if report.valid else ExitCode.FAILED


def _html_page(report: dict[str, Any], path: str) -> str:
    # Imported here: text and JSON runs (pre-commit hooks) do not pay for the page renderer.
    from datetime import UTC, datetime

    from novaft.report.page import validation_report_html

    return validation_report_html(report, path=path, generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ"))


def _open_dataset(path: str) -> BinaryIO:
    target = Path(path)
    if target.is_dir():
        raise InputFileError(f"{path} is a directory; give the path of a .jsonl file")
    try:
        return target.open("rb")
    except FileNotFoundError:
        raise InputFileError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read it ({exc.strerror or exc})") from None


def _lines(stream: BinaryIO, path: str, max_line_bytes: int) -> Iterator[ByteLine]:
    try:
        yield from iter_byte_lines(stream, max_line_bytes=max_line_bytes)
    except OSError as exc:
        raise InputFileError(f"{path}: read failed ({exc.strerror or exc})") from None


def format_text_report(report: ValidationReport, train_path: str, validation_path: str | None) -> str:
    """A summary for people: verdict, statistics, the first errors with line and field, then counts."""
    options = report.options
    stats = report.stats
    tokens = stats.estimated_tokens
    out: list[str] = []
    verdict = "VALID" if report.valid else "INVALID"
    out.append(f"{train_path}: {verdict} for model {options.model}, method {options.method} ({options.platform})")
    out.append(
        f"  records {stats.records:,} (invalid {report.invalid_records:,}), turns {stats.turns:,}, "
        f"characters {stats.characters:,}, images {stats.images:,}, videos {stats.videos:,}, "
        f"bytes {stats.total_bytes:,}"
    )
    out.append(
        f"  estimated tokens per record: min {_num(tokens.minimum)}, p50 {_num(tokens.p50)}, p95 {_num(tokens.p95)}, "
        f"max {_num(tokens.maximum)} (about {options.chars_per_token} characters per token)"
    )
    overlength = report.overlength
    if overlength.count:
        shown = ", ".join(str(line) for line in overlength.lines[:10])
        more = " ..." if overlength.count > 10 else ""
        out.append(
            f"  {overlength.count:,} records over max length {overlength.max_length:,} "
            f"({overlength.policy}): lines {shown}{more}"
        )
    if report.validation_stats is not None:
        out.append(f"  validation file {validation_path}: {report.validation_stats.records:,} records")
    out += _issue_lines(report, error_text=_train_error_text, warning_text=_train_warning_text)
    return "\n".join(out) + "\n"


def _train_error_text(issue: Issue) -> str:
    file_note = f"{issue.file} " if issue.file != "train" else ""
    return f"{file_note}{_eval_issue_text(issue)}"


def _train_warning_text(issue: Issue) -> str:
    return f"{issue.file} {_where(issue)} [{issue.code}]: {issue.message}"


def format_eval_text_report(report: EvalValidationReport, path: str) -> str:
    """The evaluation file's verdict, counts and first errors, in the training report's layout."""
    stats = report.stats
    verdict = "VALID" if report.valid else "INVALID"
    out = [
        f"{path}: {verdict} as {EVAL_DATA_FILES[report.task]} for model {report.model}",
        f"  records {stats.records:,} (invalid {stats.invalid_records:,}), characters {stats.characters:,}, "
        f"bytes {stats.total_bytes:,}",
    ]
    out += _issue_lines(report, error_text=_eval_issue_text, warning_text=_eval_issue_text)
    return "\n".join(out) + "\n"


def _eval_issue_text(issue: Issue) -> str:
    return f"{_where(issue)} {issue.path} [{issue.code}]: {issue.message}"


def _where(issue: Issue) -> str:
    return f"line {issue.line}" if issue.line else "file"


def _issue_lines(
    report: IssueSummary, *, error_text: Callable[[Issue], str], warning_text: Callable[[Issue], str]
) -> list[str]:
    """The first errors, the error counts by code and the first warnings, indented under their headings."""
    out = []
    if report.errors:
        out.append(f"Errors (first {len(report.errors)} of {report.error_total:,}):")
        out += [f"  {error_text(issue)}" for issue in report.errors[:ERRORS_SHOWN_IN_TEXT]]
        if len(report.errors) > ERRORS_SHOWN_IN_TEXT:
            out.append(f"  ... {len(report.errors) - ERRORS_SHOWN_IN_TEXT} more listed with --format json")
        out.append(
            "Error counts: " + ", ".join(f"{code} {count:,}" for code, count in sorted(report.error_counts.items()))
        )
    if report.warnings:
        out.append("Warnings:")
        out += [f"  {warning_text(issue)}" for issue in report.warnings[:ERRORS_SHOWN_IN_TEXT]]
    return out


def _num(value: int | None) -> str:
    return f"{value:,}" if value is not None else "-"
