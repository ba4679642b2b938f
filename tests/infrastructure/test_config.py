"""StageConfig: cdk.json context in, clear errors out (no CDK needed)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from novaft.policy import StagePolicy
from stacks.app_factory import REPO_ROOT
from stacks.config import ConfigError, StageConfig
from tests.infrastructure.conftest import stage_context

# The region recipes/prices.yaml has prices for: the default policy can bound a run's cost only there.
PRICED_REGION = "us-east-1"
SHORT_JOB = {"model": "micro", "method": "sft", "peft": "lora", "max_runtime_seconds": 3600}


@pytest.mark.parametrize("region", ["us-east-1", "us-west-2", "ap-northeast-1"])
def test_regions_with_training_images(region: str) -> None:
    assert StageConfig.from_context(stage_context(region=region)).region == region


@pytest.mark.parametrize("region", ["eu-west-2", "eu-west-1", "ap-southeast-2"])
def test_region_without_training_images_is_refused(region: str) -> None:
    with pytest.raises(ConfigError, match=rf"region: region '{region}' has no Amazon Nova SageMaker training images"):
        StageConfig.from_context(stage_context(region=region))


def test_default_region_applies_when_the_stage_names_none() -> None:
    assert StageConfig.from_context(stage_context(region=None), default_region="us-west-2").region == "us-west-2"


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"novaft:stage": "qa", "novaft:stages": {"dev": {}}}, "novaft:stage='qa' is not a stage"),
        ({}, "'novaft:stages' is missing"),
        (stage_context(region=None), "names no region"),
        (stage_context(log_retention_days=10), "log_retention_days 10 is not a CloudWatch Logs retention"),
        (stage_context(colour="blue"), r"colour: Extra inputs are not permitted \(given 'blue'\)"),
        (stage_context(poll_interval_seconds=60, max_training_hours=600), "raise poll_interval_seconds to at least"),
        (stage_context(default_job={"model": "nova-micro"}), r"default_job: job spec: .*model: not a valid choice"),
        (
            stage_context(max_training_hours=12),
            "default_job max_runtime_seconds 86400 is longer than max_training_hours",
        ),
    ],
)
def test_invalid_context_is_explained(context: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        StageConfig.from_context(context)


@pytest.mark.parametrize(("given", "stored"), [("incoming", "incoming/"), ("/drop//", "drop/")])
def test_prefixes_end_with_one_slash(given: str, stored: str) -> None:
    assert StageConfig.from_context(stage_context(incoming_prefix=given)).incoming_prefix == stored


@pytest.mark.parametrize(("interval", "hours", "polls"), [(300, 48, 588), (600, 120, 726)])
def test_poll_bound_covers_the_training_time(interval: int, hours: int, polls: int) -> None:
    config = StageConfig.from_context(stage_context(poll_interval_seconds=interval, max_training_hours=hours))
    assert config.max_polls == polls
    assert config.max_polls * interval >= hours * 3600


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_committed_cdk_json_stages_are_valid(stage: str) -> None:
    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    assert StageConfig.from_context({**context, "novaft:stage": stage}).stage == stage


def test_cdk_json_keeps_the_cli_offline() -> None:
    settings = json.loads((REPO_ROOT / "cdk.json").read_text())
    assert settings["notices"] is False
    assert settings["context"]["cli-telemetry"] is False


# --- the stage policy ------------------------------------------------------------------------------------------------


def test_a_stage_without_a_policy_gets_the_safe_defaults_bounded_by_its_training_hours() -> None:
    config = StageConfig.from_context(
        stage_context(region=PRICED_REGION, max_training_hours=12, default_job=SHORT_JOB, policy={})
    )
    assert config.policy == StagePolicy(max_runtime_hours=12)


def test_a_stage_whose_region_has_no_prices_needs_them_or_no_cost_cap() -> None:
    # With max_run_usd set and no price, the default job's cost cannot be bounded: synth says so, not every run.
    with pytest.raises(ConfigError, match=r"default_job breaks the stage policy: max_run_usd: .* no price for ml\.p5"):
        StageConfig.from_context(stage_context(region="us-west-2", policy={}))


def test_the_policy_object_is_read_into_the_config() -> None:
    given = {"max_instance_count": 2, "allowed_tag_keys": ["team"], "require_network_isolation": True}
    policy = StageConfig.from_context(stage_context(region=PRICED_REGION, policy=given)).policy
    assert (policy.max_instance_count, policy.allowed_tag_keys, policy.require_network_isolation) == (
        2,
        ("team",),
        True,
    )


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        (
            {"max_run_usd": "lots"},
            r"novaft:stages\.test: 1 problem:\n  - policy\.max_run_usd: wrong type \(given: 'lots'",
        ),
        ({"max_instance_count": 0}, r"policy\.max_instance_count: out of range \(given: 0"),
        ({"allowed_peft": ["qlora"]}, r"policy\.allowed_peft\[0\]: not a valid choice \(given: 'qlora'"),
        ({"max_runtime_hours": 49}, r"policy\.max_runtime_hours: longer than the stage's max_training_hours \(48\)"),
        ({"allowed_tag_keys": ["novaft:owner"]}, r"policy\.allowed_tag_keys: novaft:owner: the 'novaft:' prefix"),
        ({"max_run_usd": 100, "approval_above_usd": 500}, r"policy\.approval_above_usd: above max_run_usd"),
        ({"colour": "blue"}, r"policy\.colour: unknown key"),
        ([1], r"policy: not a mapping"),
    ],
)
def test_synth_refuses_a_bad_policy_naming_the_key(policy: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        StageConfig.from_context(stage_context(region=PRICED_REGION, policy=policy))


@pytest.mark.parametrize(
    ("policy", "rule"),
    [
        ({"allowed_models": ["lite"]}, "allowed_models"),
        ({"max_instance_count": 1}, "max_instance_count"),
        ({"max_run_usd": 100, "approval_above_usd": 50}, "max_run_usd"),
    ],
)
def test_a_default_job_the_policy_refuses_is_refused_at_synth(policy: dict[str, Any], rule: str) -> None:
    with pytest.raises(ConfigError, match=rf"default_job breaks the stage policy: {rule}:"):
        StageConfig.from_context(stage_context(region=PRICED_REGION, policy=policy))


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_cdk_json_stages_carry_an_explicit_policy_with_the_safe_defaults(stage: str) -> None:
    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    assert set(context["novaft:stages"][stage]["policy"]) == set(StagePolicy.model_fields)
    config = StageConfig.from_context({**context, "novaft:stage": stage})
    assert config.policy == StagePolicy()


@pytest.mark.parametrize(
    ("vpc", "message"),
    [
        ({"subnet_ids": ["vpc-1"], "security_group_ids": ["sg-1"]}, r"vpc\.subnet_ids: 'vpc-1': not an id starting"),
        ({"subnet_ids": ["subnet-1"], "security_group_ids": ["sg-1"] * 6}, r"vpc\.security_group_ids"),
    ],
)
def test_vpc_ids_are_checked(vpc: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        StageConfig.from_context(stage_context(vpc=vpc))
