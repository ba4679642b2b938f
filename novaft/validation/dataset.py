"""Validate a whole dataset (training file and optional validation file) from streams of byte lines.

How awkward input is treated (the lead copies this list to the README):

* Empty file (no records): error ``empty_file``.
* Blank or whitespace-only line: error ``blank_line`` (the AWS sample validator rejects blank lines; the stricter
  choice). A final newline at the end of the file is not a blank line.
* CRLF line ends: accepted (JSON treats ``\\r`` as whitespace; the reader drops it).
* UTF-8 byte order mark on line 1: error ``utf8_bom`` (JSON Lines forbids it and strict parsers reject it); the rest
  of the line is still checked.
* Bytes that are not UTF-8: error ``invalid_utf8`` with the byte offset.
* A line longer than ``max_line_bytes`` (16 MiB by default, far above a 65k-token record): error ``line_too_long``;
  the line is never held in memory, the reader skips to the next newline.
* A top-level array or any non-object line: error ``not_an_object``.
* JSON nested deeper than the parser's limit (1,024 levels): error ``json_too_deep``.
* Missing file, directory, unreadable file: not this module's concern; the CLI reports them with exit code 2.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import orjson

from novaft.validation.fast_path import TextRecordFastPath
from novaft.validation.issues import Code, FileRole, Issue, IssueLog
from novaft.validation.limits import MODEL_DISPLAY_NAMES, MODEL_RULES, Modality, size_guidance_for
from novaft.validation.line_reader import ByteLine
from novaft.validation.options import ValidationOptions
from novaft.validation.record_rules import RecordChecker
from novaft.validation.report import OverlengthSummary, ValidationReport
from novaft.validation.stats import DatasetStats, StatsAccumulator

_BOM = b"\xef\xbb\xbf"
_MAX_OVERLENGTH_LINES = 1000
# Recommended minimums [constraints]: 100 samples per task for SFT, 1,000 preference pairs for DPO.
_RECOMMENDED_RECORDS = {"sft": 100, "dpo": 1000}


@dataclass(slots=True)
class _RunState:
    """Shared by the training and validation files of one run."""

    options: ValidationOptions
    checker: RecordChecker
    errors: IssueLog
    warnings: IssueLog
    overlength_count: int = 0
    overlength_lines: list[int] = field(default_factory=list)
    first_image: tuple[FileRole, int] | None = None
    first_video: tuple[FileRole, int] | None = None
    modalities_reported: bool = False


def validate_dataset(
    train_lines: Iterable[ByteLine],
    options: ValidationOptions,
    *,
    validation_lines: Iterable[ByteLine] | None = None,
) -> ValidationReport:
    """Check every line of the training file (and the validation file, if given) and return the full report.

    Lines come from ``iter_byte_lines`` over a local file or an S3 body; memory stays flat whatever their number.
    """
    state = _RunState(options, RecordChecker(options), IssueLog(options.max_errors), IssueLog(options.max_errors))
    train_stats, invalid_records = _validate_file(train_lines, "train", state)
    _check_dataset_size(train_stats, state)
    validation_stats = None
    if validation_lines is not None:
        validation_stats = _validate_validation_file(validation_lines, state)
    return ValidationReport(
        options=options,
        errors=tuple(state.errors.kept),
        error_counts=dict(state.errors.counts),
        warnings=tuple(state.warnings.kept),
        warning_counts=dict(state.warnings.counts),
        stats=train_stats,
        validation_stats=validation_stats,
        invalid_records=invalid_records,
        overlength=OverlengthSummary(
            options.effective_max_length, options.overlength, state.overlength_count, tuple(state.overlength_lines)
        ),
    )


def _validate_file(lines: Iterable[ByteLine], role: FileRole, state: _RunState) -> tuple[DatasetStats, int]:
    stats = StatsAccumulator()
    errors = state.errors
    checker = state.checker
    summarize_line = TextRecordFastPath(state.options).summarize_line
    add_text_record = stats.add_text_record
    max_length = state.options.effective_max_length
    invalid_records = 0
    total_bytes = 0
    loads = orjson.loads
    for number, content, size, overlong in lines:
        total_bytes += size
        if overlong:
            stats.records += 1
            invalid_records += 1
            errors.add(
                Issue(
                    number,
                    Code.LINE_TOO_LONG,
                    "$",
                    f"line is {size:,} bytes, over the {state.options.max_line_bytes:,}-byte limit; skipped",
                    role,
                )
            )
            continue
        errors_before = errors.added
        if number == 1 and content.startswith(_BOM):
            errors.add(
                Issue(1, Code.UTF8_BOM, "$", "the file starts with a UTF-8 byte order mark; save it without BOM", role)
            )
            content = content[3:]
        if not content or content.isspace():
            errors.add(Issue(number, Code.BLANK_LINE, "$", "blank line; every line must hold one JSON record", role))
            continue
        stats.records += 1
        # Most records are clean text; the fast path proves it from the raw line without the detailed walk (see
        # fast_path.py). Only the lines it declines are parsed into dicts and walked.
        summary = summarize_line(content)
        if summary is not None:
            add_text_record(*summary)
            if summary[2] > max_length:
                _record_overlength(number, summary[2], role, state)
        else:
            try:
                record = loads(content)
            except ValueError as exc:
                code, message = explain_parse_error(content, exc)
                errors.add(Issue(number, code, "$", message, role))
                invalid_records += 1
                continue
            facts, findings = checker.check(record)
            for code, path, message in findings:
                errors.add(Issue(number, code, path, message, role))
            if facts is not None:
                stats.add_facts(facts)
                if facts.images or facts.videos:
                    _track_modalities(facts.images > 0, facts.videos > 0, role, number, state)
                if facts.estimated_tokens > max_length:
                    _record_overlength(number, facts.estimated_tokens, role, state)
        if errors.added != errors_before:
            invalid_records += 1
    stats.total_bytes = total_bytes
    return stats.summary(), invalid_records


def explain_parse_error(content: bytes, exc: ValueError) -> tuple[str, str]:
    """The issue code and message for a line orjson could not parse (also used by the evaluation formats)."""
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as decode_error:
        return Code.INVALID_UTF8, f"the line is not valid UTF-8 (byte {decode_error.start + 1} of the line)"
    reason = str(exc)
    if "depth limit" in reason or "recursion" in reason:
        return Code.JSON_TOO_DEEP, "JSON nested too deeply (over 1,024 levels); a Converse record needs fewer than 10"
    return Code.INVALID_JSON, f"not valid JSON: {reason}"


def _track_modalities(has_images: bool, has_video: bool, role: FileRole, line: int, state: _RunState) -> None:
    if has_images and state.first_image is None:
        state.first_image = (role, line)
    if has_video and state.first_video is None:
        state.first_video = (role, line)
    if state.modalities_reported or state.first_image is None or state.first_video is None:
        return
    state.modalities_reported = True
    image_role, image_line = state.first_image
    video_role, video_line = state.first_video
    state.errors.add(
        Issue(
            line,
            Code.DATASET_MODALITIES_MIXED,
            "$.messages",
            f"a dataset holds text with images or text with video, not both: images first at {image_role} line "
            f"{image_line}, video first at {video_role} line {video_line}",
            role,
        )
    )


def _record_overlength(line: int, tokens: int, role: FileRole, state: _RunState) -> None:
    state.overlength_count += 1
    if len(state.overlength_lines) < _MAX_OVERLENGTH_LINES:
        state.overlength_lines.append(line)
    max_length = state.options.effective_max_length
    target = state.errors if state.options.overlength == "fail" else state.warnings
    target.add(
        Issue(
            line,
            Code.RECORD_TOO_LONG,
            "$",
            f"about {tokens:,} tokens (estimated), over max length {max_length:,}; shorten it, raise --max-length, "
            "or pass --overlength warn to let training truncate it",
            role,
        )
    )


def _check_dataset_size(stats: DatasetStats, state: _RunState) -> None:
    options = state.options
    records = stats.records
    if records == 0:
        state.errors.add(Issue(0, Code.EMPTY_FILE, "$", "the training file holds no records", "train"))
        return
    bounds = options.record_bounds
    if records < bounds.minimum:
        state.errors.add(
            Issue(
                0,
                Code.TOO_FEW_RECORDS,
                "$",
                f"{records:,} records; {MODEL_DISPLAY_NAMES[options.model]} needs at least {bounds.minimum:,} "
                f"({bounds.source})",
                "train",
            )
        )
    if bounds.maximum is not None and records > bounds.maximum:
        state.errors.add(
            Issue(
                0,
                Code.TOO_MANY_RECORDS,
                "$",
                f"{records:,} records; at most {bounds.maximum:,} ({bounds.source}). On SageMaker the size tables "
                "allow more: pass --max-records N (0 for no limit) to lift this bound",
                "train",
            )
        )
    recommended = _RECOMMENDED_RECORDS[options.method]
    if records < recommended:
        state.warnings.add(
            Issue(
                0,
                Code.FEW_RECORDS_RECOMMENDED,
                "$",
                f"{records:,} records; AWS recommends at least {recommended:,} for {options.method.upper()}",
                "train",
            )
        )
    modality: Modality = "media" if stats.has_images or stats.has_video else "text"
    guidance = size_guidance_for(options.method, options.model, modality, options.effective_max_length)
    if guidance is not None and records > guidance.max_records:
        note = f"; {guidance.note}" if guidance.note else ""
        state.warnings.add(
            Issue(
                0,
                Code.DATASET_SIZE,
                "$",
                f"{records:,} records; for {MODEL_DISPLAY_NAMES[options.model]} {options.method.upper()} "
                f"({'text only' if modality == 'text' else 'with media'}) at up to {guidance.context_tokens:,}-token "
                f"context the AWS guide estimates about {guidance.max_records:,} records fit a 5-day run at "
                f"5 epochs{note}; expect a longer run or raise the job's time limit",
                "train",
            )
        )


def _validate_validation_file(lines: Iterable[ByteLine], state: _RunState) -> DatasetStats | None:
    options = state.options
    if not MODEL_RULES[options.model].accepts_validation_set:
        name = MODEL_DISPLAY_NAMES[options.model]
        if options.platform == "bedrock":
            state.errors.add(
                Issue(
                    0,
                    Code.VALIDATION_SET_NOT_SUPPORTED,
                    "$",
                    f"{name} on Bedrock rejects a validation set",
                    "validation",
                )
            )
        else:
            state.warnings.add(
                Issue(
                    0,
                    Code.VALIDATION_SET_IGNORED,
                    "$",
                    f"{name} does not use a validation set; the file is ignored and was not checked",
                    "validation",
                )
            )
        return None
    stats, _ = _validate_file(lines, "validation", state)
    if stats.records == 0:
        state.errors.add(Issue(0, Code.EMPTY_FILE, "$", "the validation file holds no records", "validation"))
    return stats
