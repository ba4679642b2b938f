"""Evaluation data files (gen_qa.jsonl, llm_judge.jsonl): field rules, hostile input, and `novaft validate --eval`."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from novaft.cli import main
from novaft.pipeline.facts import ExitCode
from novaft.validation import Code, iter_byte_lines
from novaft.validation.eval_formats import EvalCode, EvalValidationReport, validate_eval_data

GEN_QA = {"system": "Answer briefly.", "query": "What ends a question?", "response": "?", "metadata": "punctuation"}
JUDGE = {"prompt": "Name a prime.", "response_A": "4", "response_B": "7"}


def _check(data: bytes, task: str = "gen_qa", **options: Any) -> EvalValidationReport:
    max_line_bytes = options.pop("max_line_bytes", 16 * 1024 * 1024)
    lines = iter_byte_lines(io.BytesIO(data), max_line_bytes=max_line_bytes)
    return validate_eval_data(lines, "lite", task, max_line_bytes=max_line_bytes, **options)  # type: ignore[arg-type]


def _jsonl(*records: Any) -> bytes:
    return b"".join(json.dumps(record).encode() + b"\n" for record in records)


def _codes(report: EvalValidationReport) -> list[tuple[int, str, str]]:
    return [(issue.line, issue.code, issue.path) for issue in report.errors]


def test_valid_gen_qa_with_and_without_optional_fields() -> None:
    report = _check(_jsonl(GEN_QA, {"query": "2+2?", "response": "4"}))
    assert report.valid
    assert report.records == 2
    assert report.stats.optional_fields == {"system": 1, "metadata": 1}


def test_valid_llm_judge() -> None:
    assert _check(_jsonl(JUDGE, JUDGE), "llm_judge").valid


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"response": "r"}, [(1, EvalCode.FIELD_MISSING, "$.query")]),
        ({"query": "  ", "response": "r"}, [(1, EvalCode.FIELD_EMPTY, "$.query")]),
        ({"query": "q", "response": ["r"]}, [(1, EvalCode.FIELD_TYPE, "$.response")]),
        ({"query": "q", "response": "r", "system": None}, [(1, EvalCode.FIELD_TYPE, "$.system")]),
        ({"query": "q", "response": "r", "metadata": {"tag": 1}}, [(1, EvalCode.FIELD_TYPE, "$.metadata")]),
        ({}, [(1, EvalCode.FIELD_MISSING, "$.query"), (1, EvalCode.FIELD_MISSING, "$.response")]),
    ],
)
def test_gen_qa_field_rules(record: dict[str, Any], expected: list[tuple[int, str, str]]) -> None:
    report = _check(_jsonl(record))
    assert _codes(report) == expected
    assert report.stats.invalid_records == 1


def test_optional_fields_may_be_empty_strings() -> None:
    assert _check(_jsonl({"query": "q", "response": "r", "system": "", "metadata": ""})).valid


@pytest.mark.parametrize("missing", ["prompt", "response_A", "response_B"])
def test_llm_judge_needs_prompt_and_both_responses(missing: str) -> None:
    record = {key: value for key, value in JUDGE.items() if key != missing}
    assert _codes(_check(_jsonl(record), "llm_judge")) == [(1, EvalCode.FIELD_MISSING, f"$.{missing}")]


def test_unknown_keys_are_warnings_reported_once_each() -> None:
    report = _check(_jsonl({**GEN_QA, "answer": "x"}, {**GEN_QA, "answer": "y"}))
    assert report.valid
    assert [(issue.line, issue.code, issue.path) for issue in report.warnings] == [
        (1, EvalCode.FIELD_UNKNOWN, "$.answer")
    ]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", [(0, Code.EMPTY_FILE, "$")]),
        (b"\n\n", [(1, Code.BLANK_LINE, "$"), (2, Code.BLANK_LINE, "$"), (0, Code.EMPTY_FILE, "$")]),
        (b"[1, 2]\n", [(1, Code.NOT_AN_OBJECT, "$")]),
        (b"null\n", [(1, Code.NOT_AN_OBJECT, "$")]),
        (b'{"query": "q",\n', [(1, Code.INVALID_JSON, "$")]),
        (b'{"query": "\xff\xfe", "response": "r"}\n', [(1, Code.INVALID_UTF8, "$")]),
        (b"\x00\x01\x02binary\x89PNG\r\n", [(1, Code.INVALID_UTF8, "$")]),
        (b"\x00\x01\x02binary\r\n", [(1, Code.INVALID_JSON, "$")]),
        (b"[" * 2000 + b"]" * 2000 + b"\n", [(1, Code.JSON_TOO_DEEP, "$")]),
    ],
)
def test_hostile_lines_get_named_errors(data: bytes, expected: list[tuple[int, str, str]]) -> None:
    assert _codes(_check(data)) == expected


def test_bom_is_reported_and_the_rest_of_the_line_still_checked() -> None:
    report = _check(b"\xef\xbb\xbf" + _jsonl({"query": "q"}))
    assert _codes(report) == [(1, Code.UTF8_BOM, "$"), (1, EvalCode.FIELD_MISSING, "$.response")]


def test_a_line_over_the_cap_is_skipped_without_being_held() -> None:
    huge = b'{"query": "' + b"a" * 5000 + b'", "response": "r"}\n'
    report = _check(huge + _jsonl(GEN_QA), max_line_bytes=1024)
    assert _codes(report) == [(1, Code.LINE_TOO_LONG, "$")]
    assert report.records == 2


def test_deeply_nested_field_value_is_a_type_error_with_a_short_preview() -> None:
    nested = "[" * 900 + "]" * 900
    report = _check(b'{"query": ' + nested.encode() + b', "response": "r"}\n')
    assert _codes(report) == [(1, EvalCode.FIELD_TYPE, "$.query")]
    assert len(report.errors[0].message) < 200


def test_error_list_is_capped_but_every_error_counted() -> None:
    report = _check(_jsonl(*([{"response": "r"}] * 50)), max_errors=5)
    assert len(report.errors) == 5
    assert report.error_counts == {EvalCode.FIELD_MISSING: 50}


# --- novaft validate --eval ------------------------------------------------------------------------------------------


def _validate(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse rejects invalid choices itself
        return int(exc.code or 0)


def test_cli_valid_file_exits_zero_with_the_json_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "gen_qa.jsonl"
    path.write_bytes(_jsonl(GEN_QA))
    assert _validate(["validate", str(path), "--model", "micro", "--eval", "gen_qa", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is True
    assert (report["records"], report["model"], report["eval"], report["file_name"]) == (
        1,
        "micro",
        "gen_qa",
        "gen_qa.jsonl",
    )
    assert {"errors", "error_counts", "warnings", "warning_counts", "stats"} <= set(report)


def test_cli_invalid_file_exits_one_naming_line_field_and_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "llm_judge.jsonl"
    path.write_bytes(_jsonl(JUDGE, {"prompt": "p", "response_A": "a"}))
    assert _validate(["validate", str(path), "--model", "pro", "--eval", "llm_judge"]) == ExitCode.FAILED
    out = capsys.readouterr().out
    assert "INVALID as llm_judge.jsonl" in out
    assert "line 2 $.response_B [field_missing]" in out


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--eval", "mmlu"], "invalid choice"),
        (["--eval", "gen_qa", "--method", "sft"], "--method: not used with --eval"),
        ([], "--method is required"),
    ],
)
def test_cli_usage_errors_exit_two(
    extra: list[str], fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "gen_qa.jsonl"
    path.write_bytes(_jsonl(GEN_QA))
    assert _validate(["validate", str(path), "--model", "lite", *extra]) == ExitCode.USAGE
    assert fragment in capsys.readouterr().err


def test_cli_missing_file_exits_two(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = str(tmp_path / "gen_qa.jsonl")
    assert _validate(["validate", missing, "--model", "lite", "--eval", "gen_qa"]) == ExitCode.USAGE
    assert "no such file" in capsys.readouterr().err
