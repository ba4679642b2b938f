"""The pure deployment rules: what cannot work is refused with the field, value and what is allowed; names and
tokens are what Bedrock accepts (botocore's patterns) and the same for the same run; the smoke prompt and the gate."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import botocore.session
import pytest

from novaft.operator.runs import RunView
from novaft.operator.text import LIVE_DEPLOYMENT_MARK, format_runs_table
from novaft.pipeline.deployment import (
    DEFAULT_SMOKE_PROMPT,
    DeploymentRefused,
    check_deploy,
    deploy_problems,
    first_user_prompt,
    gate_blocks,
    model_tags,
    request_token,
    resource_name,
    truncated,
)
from novaft.pipeline.facts import CHECKPOINT_TAG, DEPLOY_NONE, DEPLOY_ON_DEMAND, DEPLOY_PROVISIONED, ON_DEMAND_REGIONS
from novaft.policy import StagePolicy, evaluate_deployment
from novaft.recipes import JobSpec, JobSpecError

_BEDROCK = botocore.session.get_session().get_service_model("bedrock")


def _pattern(operation: str, member: str) -> re.Pattern[str]:
    shape = _BEDROCK.operation_model(operation).input_shape.members[member]
    return re.compile(f"^(?:{shape.metadata['pattern']})$")


@pytest.mark.parametrize(
    "run_id", ["demo-0123456789ab", "a--b---c-0123456789ab", "x" * 200 + "-0123456789ab", "Run_With.Odd-1"]
)
def test_resource_names_match_bedrocks_patterns_and_are_stable(run_id: str) -> None:
    name = resource_name(run_id)
    assert len(name) <= 63 and name == resource_name(run_id)
    for operation, member in [
        ("CreateCustomModel", "modelName"),
        ("CreateCustomModelDeployment", "modelDeploymentName"),
        ("CreateProvisionedModelThroughput", "provisionedModelName"),
    ]:
        assert _pattern(operation, member).match(name), (operation, name)


def test_long_run_ids_keep_distinct_names() -> None:
    assert resource_name("x" * 100 + "-a") != resource_name("x" * 100 + "-b")


def test_request_tokens_match_the_idempotency_pattern_and_differ_by_purpose() -> None:
    token = request_token("demo-1", "model", "s3://bucket/ckpt")
    assert _pattern("CreateCustomModel", "clientRequestToken").match(token)
    assert token == request_token("demo-1", "model", "s3://bucket/ckpt")
    assert token != request_token("demo-1", "model", "s3://bucket/other")
    assert token != request_token("demo-1", DEPLOY_ON_DEMAND, "s3://bucket/ckpt")


def test_a_long_checkpoint_is_tagged_by_its_digest() -> None:
    long_uri = "s3://bucket/" + "k" * 400
    assert model_tags("r", "dev", "s3://b/c")[CHECKPOINT_TAG] == "s3://b/c"
    assert model_tags("r", "dev", long_uri)[CHECKPOINT_TAG].startswith("sha256:")


def test_on_demand_refuses_full_rank_and_regions_without_it() -> None:
    assert deploy_problems(DEPLOY_ON_DEMAND, peft="lora", region=ON_DEMAND_REGIONS[1]) == []
    (full,) = deploy_problems(DEPLOY_ON_DEMAND, peft="full", region="us-east-1")
    assert full.field == "deploy.target" and DEPLOY_PROVISIONED in full.allowed
    (region,) = deploy_problems(DEPLOY_ON_DEMAND, peft="lora", region="ap-northeast-1")
    assert "ap-northeast-1" in region.reason and "us-east-1 or us-west-2" in region.allowed
    assert deploy_problems(DEPLOY_PROVISIONED, peft="full", region="ap-northeast-1") == []
    assert deploy_problems(DEPLOY_NONE, peft="full", region=None) == []
    with pytest.raises(DeploymentRefused, match="unknown target"):
        check_deploy("sagemaker-endpoint", peft="lora", region=None)


def test_the_job_spec_refuses_what_cannot_deploy_with_every_problem() -> None:
    with pytest.raises(JobSpecError) as refused:
        JobSpec.model_validate(
            {
                "model": "micro",
                "method": "sft",
                "peft": "full",
                "deploy": {"target": DEPLOY_ON_DEMAND, "model_units": 2},
            }
        )
    text = str(refused.value)
    assert "deploy.target: on-demand deployment serves only LoRA" in text
    assert "deploy.model_units: model units apply to provisioned throughput" in text
    with pytest.raises(JobSpecError, match=r"deploy\.target: not a valid choice"):
        JobSpec.model_validate({"model": "micro", "method": "sft", "peft": "lora", "deploy": {"target": "endpoint"}})
    spec = JobSpec.model_validate({"model": "micro", "method": "sft", "peft": "lora"})
    assert spec.deploy.target == DEPLOY_NONE


def test_provisioned_throughput_needs_the_stage_to_allow_it_and_is_bounded() -> None:
    (refused,) = evaluate_deployment(StagePolicy(), target=DEPLOY_PROVISIONED, model_units=1)
    assert refused.rule == "allow_provisioned_throughput"
    allowing = StagePolicy(allow_provisioned_throughput=True, max_model_units=2)
    assert evaluate_deployment(allowing, target=DEPLOY_PROVISIONED, model_units=2) == []
    (too_many,) = evaluate_deployment(allowing, target=DEPLOY_PROVISIONED, model_units=3)
    assert too_many.rule == "max_model_units" and too_many.value == "3 model units"
    assert evaluate_deployment(StagePolicy(), target=DEPLOY_ON_DEMAND, model_units=None) == []


def test_the_smoke_prompt_is_the_first_user_text_of_the_data() -> None:
    lines = [
        "not json",
        json.dumps({"schemaVersion": "bedrock-conversation-2024", "messages": [{"role": "user", "content": [{}]}]}),
        json.dumps({"messages": [{"role": "user", "content": [{"text": "What is LoRA?"}]}]}),
    ]
    assert first_user_prompt(lines) == "What is LoRA?"
    assert first_user_prompt([json.dumps({"query": "Eval question?"})]) == "Eval question?"
    assert first_user_prompt([]) is None
    assert DEFAULT_SMOKE_PROMPT
    assert truncated("a" * 10, 5) == "aa..."


@pytest.mark.parametrize(
    ("evaluation", "blocked"),
    [
        (None, False),
        ({}, False),
        ({"results": {"mmlu": 0.6}}, False),
        ({"gate": {"passed": True}}, False),
        ({"gate": {"passed": False, "reason": "mmlu 0.4 below 0.5"}}, True),
        ({"gate": {}}, True),
    ],
)
def test_only_a_gate_that_did_not_pass_holds_the_model_back(evaluation: dict | None, blocked: bool) -> None:
    assert (gate_blocks(evaluation) is not None) == blocked


def test_runs_table_marks_live_deployments_and_says_how_to_remove_them() -> None:
    created = datetime(2026, 1, 1, tzinfo=UTC)
    live = {
        "status": "Active",
        "target": DEPLOY_ON_DEMAND,
        "deployment_arn": "arn:aws:bedrock:x:1:custom-model-deployment/a",
    }
    runs = [
        RunView(run_id="a-1", run_name="a", status="Completed", created_at=created, deployment=live),
        RunView(run_id="b-1", run_name="b", status="Completed", created_at=created, deployment={"status": "Deleted"}),
    ]
    text = format_runs_table(runs, now=created)
    assert f"Completed{LIVE_DEPLOYMENT_MARK}" in text.splitlines()[1]
    assert LIVE_DEPLOYMENT_MARK not in text.splitlines()[2]
    assert "a-1: bedrock-on-demand arn:aws:bedrock:x:1:custom-model-deployment/a (remove: novaft undeploy a-1)" in text
    assert "b-1:" not in text
