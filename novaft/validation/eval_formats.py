"""Validate an evaluation data file: ``gen_qa.jsonl`` (bring your own dataset) or ``llm_judge.jsonl`` (LLM judge).

Sources: Nova user guide, "Evaluation recipe examples" (customize-fine-tune-evaluate-recipe-examples). gen_qa: one
JSON object per line with ``query`` and ``response`` (required strings) and ``system`` and ``metadata`` (optional
strings). llm_judge: ``prompt``, ``response_A`` (the baseline response) and ``response_B`` (the response compared with
it); the page marks only ``prompt`` as required, but the judge compares A with B, so novaft requires all three.

The contract is the training validator's: the same line reader and bounds (a line over ``max_line_bytes`` is never
held in memory), the same ``Issue`` (line, code, path, message, file) and codes for lines and JSON (``blank_line``,
``utf8_bom``, ``invalid_utf8``, ``invalid_json``, ``json_too_deep``, ``not_an_object``, ``line_too_long``,
``empty_file``), and the same report keys. Field rules add ``field_missing``, ``field_empty`` (empty or whitespace
only), ``field_type``; a key the format does not define is a warning, ``field_unknown``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import orjson

from novaft.pipeline.facts import EVAL_DATA_FILES, EVAL_DATA_TASKS, EvalDataTask, ModelName
from novaft.validation.dataset import explain_parse_error
from novaft.validation.issues import Code, Issue, IssueLog, show_value
from novaft.validation.line_reader import ByteLine
from novaft.validation.options import DEFAULT_MAX_ERRORS, DEFAULT_MAX_LINE_BYTES
from novaft.validation.report import IssueSummary

_BOM = b"\xef\xbb\xbf"
# Unknown keys are reported once each (the first line that has it): a file with a stray key on every line stays short.
_MAX_UNKNOWN_KEYS_REPORTED = 20
_KEY_CHARS_KEPT = 60


class EvalCode:
    """Issue codes of the evaluation formats (the line and JSON codes are ``Code``'s)."""

    FIELD_MISSING = "field_missing"
    FIELD_EMPTY = "field_empty"
    FIELD_TYPE = "field_type"
    FIELD_UNKNOWN = "field_unknown"


@dataclass(frozen=True, slots=True)
class EvalFormat:
    """The fields of one evaluation data format: all are strings; required ones must hold text."""

    task: EvalDataTask
    required: tuple[str, ...]
    optional: tuple[str, ...]

    @property
    def file_name(self) -> str:
        return EVAL_DATA_FILES[self.task]


EVAL_FORMATS: dict[EvalDataTask, EvalFormat] = {
    "gen_qa": EvalFormat("gen_qa", required=("query", "response"), optional=("system", "metadata")),
    "llm_judge": EvalFormat("llm_judge", required=("prompt", "response_A", "response_B"), optional=()),
}


@dataclass(frozen=True, slots=True)
class EvalDataStats:
    records: int  # lines that hold a record (blank lines excluded), valid or not
    invalid_records: int
    total_bytes: int
    characters: int  # of every string field of the records that parsed as objects
    optional_fields: dict[str, int]  # records that set each optional field

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class EvalValidationReport(IssueSummary):
    """The result for one evaluation data file; ``to_dict`` has the keys of the training report that apply."""

    model: ModelName
    task: EvalDataTask
    errors: tuple[Issue, ...]
    error_counts: dict[str, int]
    warnings: tuple[Issue, ...]
    warning_counts: dict[str, int]
    stats: EvalDataStats

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.issues_dict(),
            "stats": self.stats.to_dict(),
            "model": self.model,
            "eval": self.task,
            "file_name": EVAL_FORMATS[self.task].file_name,
        }


def validate_eval_data(
    lines: Iterable[ByteLine],
    model: ModelName,
    task: EvalDataTask,
    *,
    max_errors: int = DEFAULT_MAX_ERRORS,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> EvalValidationReport:
    """Check every line of an evaluation data file (lines from ``iter_byte_lines``; memory stays flat)."""
    if task not in EVAL_DATA_TASKS:
        raise ValueError(f"no data format for evaluation task {task!r}; one of {', '.join(EVAL_DATA_TASKS)}")
    data_format = EVAL_FORMATS[task]
    known = frozenset(data_format.required + data_format.optional)
    errors = IssueLog(max_errors)
    warnings = IssueLog(max_errors)
    unknown_reported: set[str] = set()
    optional_counts: Counter[str] = Counter(dict.fromkeys(data_format.optional, 0))
    records = invalid = total_bytes = characters = 0
    for number, content, size, overlong in lines:
        total_bytes += size
        if overlong:
            records += 1
            invalid += 1
            message = f"line is {size:,} bytes, over the {max_line_bytes:,}-byte limit; skipped"
            errors.add(Issue(number, Code.LINE_TOO_LONG, "$", message))
            continue
        errors_before = errors.added
        if number == 1 and content.startswith(_BOM):
            errors.add(
                Issue(1, Code.UTF8_BOM, "$", "the file starts with a UTF-8 byte order mark; save it without BOM")
            )
            content = content[len(_BOM) :]
        if not content or content.isspace():
            errors.add(Issue(number, Code.BLANK_LINE, "$", "blank line; every line must hold one JSON record"))
            continue
        records += 1
        try:
            record = orjson.loads(content)
        except ValueError as exc:
            code, message = explain_parse_error(content, exc)
            errors.add(Issue(number, code, "$", message))
            invalid += 1
            continue
        if not isinstance(record, dict):
            kind = type(record).__name__ if record is not None else "null"
            errors.add(
                Issue(number, Code.NOT_AN_OBJECT, "$", f"each line must be one JSON object, found a JSON {kind}")
            )
            invalid += 1
            continue
        for name in data_format.required:
            _check_field(record, name, number, errors, required=True)
        for name in data_format.optional:
            if name in record:
                optional_counts[name] += 1
                _check_field(record, name, number, errors, required=False)
        characters += sum(len(value) for value in record.values() if isinstance(value, str))
        for key in record:
            if key in known or len(unknown_reported) >= _MAX_UNKNOWN_KEYS_REPORTED:
                continue
            # Keys are kept and echoed cut short: a key can be megabytes long.
            short_key = key[:_KEY_CHARS_KEPT]
            if short_key not in unknown_reported:
                unknown_reported.add(short_key)
                fields = ", ".join(data_format.required + data_format.optional)
                message = (
                    f"{show_value(key)} is not a field of {data_format.file_name} ({fields}); "
                    "the evaluation may ignore or reject it (reported once)"
                )
                warnings.add(Issue(number, EvalCode.FIELD_UNKNOWN, f"$.{short_key}", message))
        if errors.added != errors_before:
            invalid += 1
    if records == 0:
        errors.add(Issue(0, Code.EMPTY_FILE, "$", f"the {data_format.file_name} file holds no records"))
    return EvalValidationReport(
        model=model,
        task=task,
        errors=tuple(errors.kept),
        error_counts=dict(errors.counts),
        warnings=tuple(warnings.kept),
        warning_counts=dict(warnings.counts),
        stats=EvalDataStats(records, invalid, total_bytes, characters, dict(optional_counts)),
    )


def _check_field(record: dict[str, Any], name: str, line: int, errors: IssueLog, *, required: bool) -> None:
    path = f"$.{name}"
    if name not in record:
        if required:
            errors.add(Issue(line, EvalCode.FIELD_MISSING, path, f'each record needs "{name}": a non-empty string'))
        return
    value = record[name]
    if not isinstance(value, str):
        kind = "null" if value is None else type(value).__name__
        # A list or object is described, not echoed: it can be large or nested too deeply for repr or orjson.dumps.
        shown = f"of {len(value):,} items" if isinstance(value, list | dict) else show_value(value)
        message = f"{name} must be a string, got a JSON {kind} {shown}"
        errors.add(Issue(line, EvalCode.FIELD_TYPE, path, message))
    elif required and not value.strip():
        errors.add(Issue(line, EvalCode.FIELD_EMPTY, path, f"{name} is empty; it must hold text"))
