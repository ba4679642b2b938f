"""``novaft validate``: exit codes, the JSON contract and the text summary, on the shipped samples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import novaft.cli
from novaft.cli import main

SAMPLES = Path(__file__).resolve().parents[3] / "samples"


@pytest.fixture(autouse=True)
def only_validate_command(monkeypatch: pytest.MonkeyPatch) -> None:
    # Other command modules are built in parallel; this test exercises the dispatcher with the validate command only.
    monkeypatch.setattr(novaft.cli, "COMMAND_MODULES", ("novaft.cli.validate_cmd",))


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["samples/sft-valid.jsonl", "--model", "lite", "--method", "sft"], 0),
        (["samples/dpo-valid.jsonl", "--model", "pro", "--method", "dpo"], 0),
        (["samples/sft-broken.jsonl", "--model", "lite", "--method", "sft"], 1),
        (["samples/sft-valid.jsonl", "--model", "lite", "--method", "dpo"], 1),
        (["samples/no-such-file.jsonl", "--model", "lite", "--method", "sft"], 2),
        (["samples", "--model", "lite", "--method", "sft"], 2),
        (["samples/sft-valid.jsonl", "--model", "lite-2", "--method", "dpo"], 2),
        (["samples/sft-valid.jsonl", "--model", "lite", "--method", "sft", "--max-length", "0"], 2),
    ],
)
def test_exit_codes(args: list[str], code: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(SAMPLES.parent)
    assert main(["validate", *args]) == code


def test_bad_choice_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["validate", str(SAMPLES / "sft-valid.jsonl"), "--model", "huge", "--method", "sft"])
    assert exit_info.value.code == 2


def test_json_output_follows_the_contract(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["validate", str(SAMPLES / "sft-broken.jsonl"), "--model", "lite", "--method", "sft", "--format", "json"]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert {"valid", "records", "errors", "error_counts", "warnings", "stats"} <= report.keys()
    assert report["valid"] is False and report["records"] == 11
    assert {"line", "code", "path", "message"} <= report["errors"][0].keys()
    assert (report["errors"][0]["line"], report["errors"][0]["code"]) == (2, "role_invalid")
    assert sum(report["error_counts"].values()) == len(report["errors"])
    assert {"min", "p50", "p95", "max"} <= report["stats"]["estimated_tokens"].keys()


def test_validation_file_errors_name_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "validation.jsonl"
    broken.write_text('{"messages": []}\n')
    code = main(
        [
            "validate",
            str(SAMPLES / "sft-valid.jsonl"),
            "--validation",
            str(broken),
            "--model",
            "micro",
            "--method",
            "sft",
            "--format",
            "json",
        ]
    )
    errors = json.loads(capsys.readouterr().out)["errors"]
    assert code == 1
    assert [(e["file"], e["line"], e["code"]) for e in errors] == [("validation", 1, "messages_invalid")]


def test_text_output_shows_summary_errors_and_counts(capsys: pytest.CaptureFixture[str]) -> None:
    main(["validate", str(SAMPLES / "sft-broken.jsonl"), "--model", "lite", "--method", "sft"])
    out = capsys.readouterr().out
    assert "INVALID" in out
    assert "line 2 $.messages[0].role [role_invalid]" in out
    assert "Error counts:" in out and "blank_line 1" in out
