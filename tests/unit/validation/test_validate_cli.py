"""``novaft validate``: exit codes, the JSON contract and the text summary, on the shipped samples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from novaft.cli import main
from novaft.pipeline.facts import ExitCode

SAMPLES = Path(__file__).resolve().parents[3] / "samples"


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["samples/sft-valid.jsonl", "--model", "lite", "--method", "sft"], ExitCode.OK),
        (["samples/dpo-valid.jsonl", "--model", "pro", "--method", "dpo"], ExitCode.OK),
        (["samples/sft-broken.jsonl", "--model", "lite", "--method", "sft"], ExitCode.FAILED),
        (["samples/sft-valid.jsonl", "--model", "lite", "--method", "dpo"], ExitCode.FAILED),
        (["samples/no-such-file.jsonl", "--model", "lite", "--method", "sft"], ExitCode.USAGE),
        (["samples", "--model", "lite", "--method", "sft"], ExitCode.USAGE),
        (["samples/sft-valid.jsonl", "--model", "lite-2", "--method", "dpo"], ExitCode.USAGE),
        (["samples/sft-valid.jsonl", "--model", "lite", "--method", "sft", "--max-length", "0"], ExitCode.USAGE),
    ],
)
def test_exit_codes(args: list[str], code: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(SAMPLES.parent)
    assert main(["validate", *args]) == code


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-1"])
def test_chars_per_token_must_be_finite_and_positive(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "validate",
            str(SAMPLES / "sft-valid.jsonl"),
            "--model",
            "lite",
            "--method",
            "sft",
            f"--chars-per-token={value}",
        ]
    )
    err = capsys.readouterr().err
    assert code == ExitCode.USAGE
    assert err.startswith("novaft: chars per token must be a finite number above 0")
    assert len(err.splitlines()) == 1


def test_media_prefix_without_dataset_bucket_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["validate", str(SAMPLES / "sft-valid.jsonl"), "--model", "lite", "--method", "sft", "--media-prefix", "in/"]
    )
    assert code == ExitCode.USAGE
    assert "--media-prefix needs --dataset-bucket" in capsys.readouterr().err


def test_media_prefix_with_dataset_bucket_is_accepted() -> None:
    args = ["--model", "lite", "--method", "sft", "--dataset-bucket", "data", "--media-prefix", "incoming/"]
    assert main(["validate", str(SAMPLES / "sft-valid.jsonl"), *args]) == ExitCode.OK


def test_bad_choice_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["validate", str(SAMPLES / "sft-valid.jsonl"), "--model", "huge", "--method", "sft"])
    assert exit_info.value.code == ExitCode.USAGE


def test_json_output_follows_the_contract(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["validate", str(SAMPLES / "sft-broken.jsonl"), "--model", "lite", "--method", "sft", "--format", "json"]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == ExitCode.FAILED
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
    assert code == ExitCode.FAILED
    assert [(e["file"], e["line"], e["code"]) for e in errors] == [("validation", 1, "messages_invalid")]


def test_text_output_shows_summary_errors_and_counts(capsys: pytest.CaptureFixture[str]) -> None:
    main(["validate", str(SAMPLES / "sft-broken.jsonl"), "--model", "lite", "--method", "sft"])
    out = capsys.readouterr().out
    assert "INVALID" in out
    assert "line 2 $.messages[0].role [role_invalid]" in out
    assert "Error counts:" in out and "blank_line 1" in out
