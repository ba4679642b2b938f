from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from novaft.cli import main
from novaft.pipeline.facts import ExitCode


def test_render_prints_the_recipe(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["render", "--model", "lite", "--method", "dpo", "--peft", "lora", "--instance-count", "8"]
    assert main([*args, "--set", "training_config.model.optim.lr=5e-6"]) == 0
    values = yaml.safe_load(capsys.readouterr().out)
    assert values["run"]["replicas"] == 8
    assert values["training_config"]["model"]["optim"]["lr"] == 5e-6


def test_render_writes_a_file_and_job_yaml_is_overridden_by_flags(tmp_path: Path) -> None:
    job = tmp_path / "job.yaml"
    job.write_text("model: micro\nmethod: sft\npeft: full\nhyperparameters:\n  epochs: 3\n")
    out = tmp_path / "recipe.yaml"
    assert main(["render", "--job", str(job), "--peft", "lora", "-o", str(out)]) == 0
    values = yaml.safe_load(out.read_text())
    assert values["training_config"]["trainer"]["max_epochs"] == 3
    assert values["training_config"]["model"]["peft"]["peft_scheme"] == "lora"


def _exit_code(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse rejects invalid choices itself
        return int(exc.code or 0)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--model", "mega", "--method", "sft", "--peft", "lora"], "invalid choice"),
        (["--model", "pro", "--method", "sft", "--peft", "full", "--instance-type", "ml.g5.48xlarge"], "instance_type"),
        (["--model", "micro", "--method", "sft", "--peft", "lora", "--set", "run.replicas=4"], "--instance-count"),
        (["--model", "micro", "--method", "sft", "--peft", "lora", "--set", "lr"], "dotted.key=value"),
        (["--model", "micro", "--method", "sft", "--peft", "lora", "--job", "missing.yaml"], "no such file"),
        (["--method", "sft", "--peft", "lora"], "model: required"),
    ],
)
def test_render_exits_2_with_a_clear_message(
    args: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _exit_code(["render", *args]) == 2
    assert fragment in capsys.readouterr().err


def test_plan_json_has_request_instances_estimate_and_placeholders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"valid": True, "records": 2000, "stats": {"estimated_tokens": {"mean": 1500}}}))
    args = ["plan", "--train", "s3://data/incoming/support/train.jsonl", "--model", "micro", "--method", "sft"]
    assert main([*args, "--peft", "lora", "--stats", str(report), "--format", "json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["request"]["TrainingJobName"].startswith("novaft-support-")
    assert plan["instances"] == {"type": "ml.p5.48xlarge", "count": 2}
    assert plan["estimate"]["records"] == 2000 and plan["estimate"]["training_hours"] is not None
    assert any("example" in item for item in plan["placeholders"])


def test_plan_text_says_it_is_an_estimate(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["plan", "--train", "s3://data/incoming/a.jsonl", "--model", "micro", "--method", "sft", "--peft", "lora"]
    assert main([*args, "--region", "us-west-2", "--role-arn", "arn:aws:iam::123456789012:role/R"]) == 0
    out = capsys.readouterr().out
    assert "an estimate, not a quote" in out
    assert "176779409107.dkr.ecr.us-west-2" in out
    assert "role ARN is an example" not in out


def test_plan_rejects_a_region_without_images(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["plan", "--train", "s3://d/a.jsonl", "--model", "micro", "--method", "sft", "--peft", "lora"]
    assert main([*args, "--region", "eu-central-1"]) == 2
    assert "us-east-1" in capsys.readouterr().err


PLAN = ["plan", "--train", "s3://d/incoming/a.jsonl", "--model", "micro", "--method", "sft", "--peft", "lora"]


def test_plan_names_an_unreadable_price_table_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tables" / "prices").mkdir(parents=True)
    assert main([*PLAN, "--prices", "tables/prices"]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "price table tables/prices cannot be read" in err
    assert str(tmp_path) not in err


@pytest.mark.parametrize(
    "content",
    [
        json.dumps({"records": 5, "estimated_tokens": {"mean": 100}}),  # bare stats, not a report
        json.dumps({"valid": "yes", "records": 5, "stats": {}}),
        json.dumps({"valid": True, "records": 5, "stats": []}),
        json.dumps([{"valid": True}]),
        "[" * 100_000 + "]" * 100_000,
    ],
)
def test_plan_stats_must_be_a_validation_report(
    content: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report.json"
    report.write_text(content)
    assert main([*PLAN, "--stats", str(report)]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert f"{report}: not a validation report" in err and "Traceback" not in err


def test_set_problems_name_the_key_typed(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["render", "--model", "lite", "--method", "dpo", "--peft", "lora"]
    assert main([*args, "--set", "training_config.model.optim.lr=abc"]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "--set training_config.model.optim.lr: " in err and "'abc'" in err
    assert "hyperparameters.lr" not in err


def test_set_reports_every_bad_key_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["render", "--model", "lite", "--method", "dpo", "--peft", "lora", "--set", "a.b=1", "--set", "c.d=2"]
    assert main(args) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "--set: 2 problems" in err and "--set a.b" in err and "--set c.d" in err


def test_set_values_are_read_as_bounded_yaml(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["render", "--model", "lite", "--method", "dpo", "--peft", "lora"]
    assert main([*args, "--set", "training_config.model.optim.lr=" + "[" * 10_000]) == ExitCode.USAGE
    assert "nested deeper than" in capsys.readouterr().err


def test_set_with_a_job_yaml_whose_hyperparameters_are_not_a_mapping_names_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = tmp_path / "job.yaml"
    job.write_text("model: lite\nmethod: dpo\npeft: lora\nhyperparameters: [1, 2]\n")
    assert main(["render", "--job", str(job), "--set", "training_config.model.optim.lr=5e-6"]) == ExitCode.USAGE
    assert "hyperparameters: " in capsys.readouterr().err
