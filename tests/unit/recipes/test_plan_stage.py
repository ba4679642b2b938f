"""``novaft plan --stage``: the stage's policy from cdk.json; the pipeline's verdict and message; the exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from novaft.cli import main
from novaft.pipeline.facts import RUN_ID_TAG, STAGE_TAG, STATUS_AWAITING_APPROVAL, STATUS_REJECTED, ExitCode
from novaft.pipeline.steps.evaluation import estimate_evaluation
from novaft.policy import PolicyFinding, PolicyViolation
from novaft.recipes import JobSpec, load_price_table

PLAN = ["plan", "--train", "s3://data/incoming/support/train.jsonl", "--model", "micro", "--method", "sft"]
LORA = [*PLAN, "--peft", "lora"]


def _cdk_json(tmp_path: Path, **stage: Any) -> Path:
    entry = {"region": "us-east-1", "default_job": {"model": "micro", "method": "sft", "peft": "lora"}, **stage}
    path = tmp_path / "cdk.json"
    path.write_text(json.dumps({"context": {"novaft:stage": "dev", "novaft:stages": {"dev": entry}}}))
    return path


def _report(tmp_path: Path, records: int = 200) -> Path:
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"valid": True, "records": records, "stats": {"estimated_tokens": {"mean": 300}}}))
    return report


def _code(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def test_a_job_over_the_policy_exits_4_naming_rule_value_and_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cdk_json = _cdk_json(tmp_path)
    code = _code([*LORA, "--instance-count", "8", "--stage", "dev", "--cdk-json", str(cdk_json)])
    assert code == ExitCode.POLICY == 4
    captured = capsys.readouterr()
    assert "max_instance_count: more instances than this stage allows" in captured.err
    assert "(given: 8 x ml.p5.48xlarge; limit: 4 instances)" in captured.err
    assert captured.err.startswith("novaft: the stage policy refuses this run (2 problems):")
    assert "refused: the pipeline records the run as PolicyViolation" in captured.out


def test_the_message_is_the_one_the_pipeline_records(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cdk_json = _cdk_json(tmp_path, policy={"max_instance_count": 2, "max_run_usd": False})
    code = _code([*LORA, "--instance-count", "4", "--stage", "dev", "--cdk-json", str(cdk_json), "--format", "json"])
    assert code == ExitCode.POLICY
    captured = capsys.readouterr()
    plan = json.loads(captured.out)
    findings = plan["policy"]["decision"]["violations"]
    assert [finding["rule"] for finding in findings] == ["max_instance_count"]
    expected = PolicyViolation([PolicyFinding(**finding) for finding in findings])
    assert captured.err == f"novaft: {expected}\n"


def test_a_run_needing_approval_exits_0_and_says_it_will_wait_and_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cdk_json = _cdk_json(tmp_path, policy={"approval_above_usd": 0})
    report = _report(tmp_path)
    code = _code([*LORA, "--stage", "dev", "--cdk-json", str(cdk_json), "--stats", str(report)])
    assert code == ExitCode.OK
    out = capsys.readouterr().out
    assert "allowed, but it will wait for approval before it starts, because:" in out
    assert "is above approval_above_usd $0.00" in out
    assert f"the run waits as {STATUS_AWAITING_APPROVAL} until `novaft approve RUN`" in out
    assert f"unanswered within 72 h it is {STATUS_REJECTED}" in out


def test_an_allowed_run_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cdk_json = _cdk_json(tmp_path)
    assert _code([*LORA, "--stage", "dev", "--cdk-json", str(cdk_json), "--stats", str(_report(tmp_path))]) == 0
    assert "allowed: no rule broken, no approval needed" in capsys.readouterr().out


def test_the_request_carries_the_stages_vpc_isolation_encryption_and_tags(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vpc = {"subnet_ids": ["subnet-1"], "security_group_ids": ["sg-1"]}
    cdk_json = _cdk_json(tmp_path, region="us-east-1", vpc=vpc, policy={"require_network_isolation": True})
    argv = [*LORA, "--stage", "dev", "--cdk-json", str(cdk_json), "--format", "json", "--stats", str(_report(tmp_path))]
    assert _code(argv) == 0
    plan = json.loads(capsys.readouterr().out)
    request = plan["request"]
    assert request["VpcConfig"] == {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]}
    assert request["EnableNetworkIsolation"] is True and request["EnableInterContainerTrafficEncryption"] is True
    assert {tag["Key"] for tag in request["Tags"]} == {RUN_ID_TAG, STAGE_TAG}
    assert plan["policy"]["stage"] == "dev" and plan["policy"]["policy"]["require_network_isolation"] is True
    assert any("data key" in item for item in plan["placeholders"])


def test_the_cdk_json_of_the_current_directory_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _cdk_json(tmp_path, policy={"max_instance_count": 1})
    monkeypatch.chdir(tmp_path)
    assert _code([*LORA, "--stage", "dev"]) == ExitCode.POLICY
    assert "limit: 1 instances" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("stage", "extra", "fragment"),
    [
        ({}, ["--stage", "prod"], "--stage 'prod': not a stage in"),
        ({"policy": {"max_run_usd": "lots"}}, ["--stage", "dev"], "stages.dev: 1 problem:\n  - policy.max_run_usd"),
        ({"policy": {"colour": 1}}, ["--stage", "dev"], "policy.colour: unknown key"),
    ],
)
def test_a_bad_stage_or_policy_exits_2_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], stage: dict[str, Any], extra: list[str], fragment: str
) -> None:
    cdk_json = _cdk_json(tmp_path, **stage)
    assert _code([*LORA, *extra, "--cdk-json", str(cdk_json)]) == ExitCode.USAGE
    assert fragment in capsys.readouterr().err


def test_cdk_json_without_stage_and_a_missing_file_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _code([*LORA, "--cdk-json", str(tmp_path / "cdk.json")]) == ExitCode.USAGE
    assert "--cdk-json: only used with --stage NAME" in capsys.readouterr().err
    assert _code([*LORA, "--stage", "dev", "--cdk-json", str(tmp_path / "nope.json")]) == ExitCode.USAGE
    assert "nope.json: no such file" in capsys.readouterr().err


def test_the_shipped_stages_refuse_and_allow_as_documented(capsys: pytest.CaptureFixture[str]) -> None:
    # The repository's own cdk.json: the default micro LoRA job is allowed, eight instances are not.
    cdk_json = str(Path(__file__).resolve().parents[3] / "cdk.json")
    assert _code([*LORA, "--stage", "dev", "--cdk-json", cdk_json]) == ExitCode.OK
    assert _code([*LORA, "--instance-count", "8", "--stage", "prod", "--cdk-json", cdk_json]) == ExitCode.POLICY


MMLU_WITH_BASE = {"tasks": ["mmlu"], "compare_with_base": True}


def _json_plan(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert _code([*argv, "--format", "json"]) == ExitCode.OK
    plan: dict[str, Any] = json.loads(capsys.readouterr().out)
    return plan


def test_the_stage_default_evaluation_is_estimated_and_counted_as_render_recipe_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report, unbounded = str(_report(tmp_path)), {"max_run_usd": False}
    cdk_json = _cdk_json(tmp_path, policy=unbounded)
    without = _json_plan([*LORA, "--stage", "dev", "--cdk-json", str(cdk_json), "--stats", report], capsys)
    cdk_json = _cdk_json(tmp_path, policy=unbounded, default_evaluation=MMLU_WITH_BASE)
    plan = _json_plan([*LORA, "--stage", "dev", "--cdk-json", str(cdk_json), "--stats", report], capsys)
    spec = JobSpec.model_validate({"model": "micro", "method": "sft", "peft": "lora", "evaluation": MMLU_WITH_BASE})
    expected = estimate_evaluation(spec, load_price_table(), region="us-east-1").to_dict()
    assert plan["estimate"]["evaluation"] == expected and expected["jobs"] == 2
    assert "evaluation" not in without["estimate"]
    # The policy's ceiling counts the evaluation jobs' whole runtime, as RenderRecipe's does.
    ceiling = plan["policy"]["decision"]["cost_ceiling_usd"]
    assert ceiling == pytest.approx(without["policy"]["decision"]["cost_ceiling_usd"] + expected["ceiling_usd"])

    assert _code([*LORA, "--stage", "dev", "--cdk-json", str(cdk_json), "--stats", report]) == ExitCode.OK
    out = capsys.readouterr().out
    assert f"evaluation      2 job(s) x 1 x {expected['instance_type']}" in out
    assert f"ceiling {expected['ceiling_usd']} USD (6 h max runtime per job)" in out
    assert f"(instances x max runtime x price + evaluation jobs ${expected['ceiling_usd']:,.2f})" in out


def test_a_job_that_sets_its_own_evaluation_keeps_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cdk_json = str(_cdk_json(tmp_path, policy={"max_run_usd": False}, default_evaluation=MMLU_WITH_BASE))
    job = tmp_path / "job.yaml"
    job.write_text("model: micro\nmethod: sft\npeft: lora\nevaluation:\n  tasks: []\n")
    plan = _json_plan([*PLAN, "--job", str(job), "--stage", "dev", "--cdk-json", cdk_json], capsys)
    assert "evaluation" not in plan["estimate"]
    job.write_text("model: micro\nmethod: sft\npeft: lora\nevaluation:\n  tasks: [bbh]\n")
    plan = _json_plan([*PLAN, "--job", str(job), "--stage", "dev", "--cdk-json", cdk_json], capsys)
    assert plan["estimate"]["evaluation"]["jobs"] == 1


def test_a_job_asking_for_evaluation_shows_it_without_a_stage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = tmp_path / "job.yaml"
    job.write_text("model: micro\nmethod: sft\npeft: lora\nevaluation:\n  tasks: [mmlu, bbh]\n")
    plan = _json_plan([*PLAN, "--job", str(job)], capsys)
    assert plan["estimate"]["evaluation"]["jobs"] == 2 and "policy" not in plan


def test_a_bad_stage_default_evaluation_exits_2_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cdk_json = _cdk_json(tmp_path, default_evaluation={"tasks": ["llm_judge"]})
    assert _code([*LORA, "--stage", "dev", "--cdk-json", str(cdk_json)]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "stages.dev.default_evaluation" in err and "llm_judge" in err
    assert _code([*LORA, "--stage", "dev", "--cdk-json", str(_cdk_json(tmp_path, default_evaluation=["mmlu"]))]) == 2
    assert "stages.dev.default_evaluation: not a mapping" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "not JSON (line 1): depth limit exceeded"),
        (b"\xf9\xfe not text", "not JSON (line 1)"),
        (b"", "not JSON (line 1)"),
        (b" " * (2 * 1024 * 1024), "larger than 1,048,576 bytes"),
    ],
    ids=["deep", "not-utf8", "empty", "huge"],
)
def test_a_hostile_cdk_json_is_a_short_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    cdk_json = tmp_path / "cdk.json"
    cdk_json.write_bytes(content)
    code = _code([*LORA, "--stage", "dev", "--cdk-json", str(cdk_json)])
    err = capsys.readouterr().err
    assert code == ExitCode.USAGE
    assert message in err and "Traceback" not in err and len(err) < 300
