from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from novaft.cli import main


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
