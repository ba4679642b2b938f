"""StageConfig: cdk.json context in, clear errors out (no CDK needed)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stacks.app_factory import REPO_ROOT
from stacks.config import ConfigError, StageConfig
from tests.infrastructure.conftest import stage_context


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
