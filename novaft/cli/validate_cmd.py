"""``novaft validate``: check a Converse JSONL dataset locally, with the same code the pipeline's Lambda runs.

Contract (other tools depend on it):
``novaft validate PATH [--validation PATH] --model {micro,lite,pro,lite-2} --method {sft,dpo} [--max-length N]
[--format text|json]``; exit 0 valid, 1 invalid, 2 usage or I/O error. ``--format json`` prints one JSON object,
``ValidationReport.to_dict()``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from novaft.errors import InputFileError, UsageError
from novaft.pipeline.facts import METHODS, MODEL_NAMES, ExitCode
from novaft.validation import (
    PLATFORMS,
    ByteLine,
    ValidationOptions,
    ValidationReport,
    iter_byte_lines,
    validate_dataset,
)
from novaft.validation.options import DEFAULT_CHARS_PER_TOKEN, DEFAULT_MAX_ERRORS, OVERLENGTH_POLICIES

ERRORS_SHOWN_IN_TEXT = 20


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
    parser.add_argument("--method", required=True, choices=METHODS)
    parser.add_argument("--max-length", type=int, metavar="N", help="token limit per record (recipe max_length)")
    parser.add_argument("--format", choices=("text", "json"), default="text", dest="output_format")
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
    if args.media_prefix is not None and args.dataset_bucket is None:
        # The prefix is a key prefix inside the dataset's bucket; alone it would be silently ignored.
        raise UsageError("--media-prefix needs --dataset-bucket: the prefix is a key prefix inside that bucket")
    options = ValidationOptions(
        model=args.model,
        method=args.method,
        max_length=args.max_length,
        overlength=args.overlength,
        chars_per_token=args.chars_per_token,
        max_errors=args.max_errors,
        dataset_bucket=args.dataset_bucket,
        media_prefix=args.media_prefix,
        platform=args.platform,
        min_records=args.min_records,
        max_records=args.max_records,
    )
    with ExitStack() as files:
        train = files.enter_context(_open_dataset(args.path))
        validation = files.enter_context(_open_dataset(args.validation)) if args.validation else None
        report = validate_dataset(
            _lines(train, args.path, options),
            options,
            validation_lines=_lines(validation, args.validation, options) if validation else None,
        )
    if args.output_format == "json":
        sys.stdout.write(orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        sys.stdout.write(format_text_report(report, args.path, args.validation))
    return ExitCode.OK if report.valid else ExitCode.FAILED


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


def _lines(stream: BinaryIO, path: str, options: ValidationOptions) -> Iterator[ByteLine]:
    try:
        yield from iter_byte_lines(stream, max_line_bytes=options.max_line_bytes)
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
    if report.errors:
        out.append(f"Errors (first {len(report.errors)} of {report.error_total:,}):")
        for issue in report.errors[:ERRORS_SHOWN_IN_TEXT]:
            where = f"line {issue.line}" if issue.line else "file"
            file_note = f"{issue.file} " if issue.file != "train" else ""
            out.append(f"  {file_note}{where} {issue.path} [{issue.code}]: {issue.message}")
        if len(report.errors) > ERRORS_SHOWN_IN_TEXT:
            out.append(f"  ... {len(report.errors) - ERRORS_SHOWN_IN_TEXT} more listed with --format json")
        out.append(
            "Error counts: " + ", ".join(f"{code} {count:,}" for code, count in sorted(report.error_counts.items()))
        )
    if report.warnings:
        out.append("Warnings:")
        for issue in report.warnings[:ERRORS_SHOWN_IN_TEXT]:
            where = f"line {issue.line}" if issue.line else "file"
            out.append(f"  {issue.file} {where} [{issue.code}]: {issue.message}")
    return "\n".join(out) + "\n"


def _num(value: int | None) -> str:
    return f"{value:,}" if value is not None else "-"
