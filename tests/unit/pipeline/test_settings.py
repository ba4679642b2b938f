from __future__ import annotations

import json

import pytest

from novaft.pipeline.errors import SettingsInvalid
from novaft.pipeline.settings import Settings
from novaft.policy import StagePolicy

BASE = {"NOVAFT_STAGE": "dev", "NOVAFT_ARTIFACTS_BUCKET": "artifacts", "NOVAFT_RUNS_TABLE": "runs"}


@pytest.mark.parametrize(
    ("extra", "field", "expected"),
    [
        ({}, "incoming_prefix", "incoming/"),
        ({"NOVAFT_INCOMING_PREFIX": "drop"}, "incoming_prefix", "drop/"),
        ({"NOVAFT_INCOMING_PREFIX": "/a/b//"}, "incoming_prefix", "a/b/"),
        ({"NOVAFT_RUNS_PREFIX": "jobs/"}, "runs_prefix", "jobs/"),
        ({"NOVAFT_SUBNET_IDS": "subnet-1, subnet-2,"}, "subnet_ids", ("subnet-1", "subnet-2")),
        ({"NOVAFT_SECURITY_GROUP_IDS": ""}, "security_group_ids", ()),
        ({"NOVAFT_DEFAULT_JOB": '{"model": "micro"}'}, "default_job", {"model": "micro"}),
        ({"AWS_REGION": "us-west-2", "AWS_DEFAULT_REGION": "eu-west-1"}, "region", "us-west-2"),
        ({"AWS_DEFAULT_REGION": "eu-west-1"}, "region", "eu-west-1"),
        ({"NOVAFT_TOPIC_ARN": "arn:aws:sns:us-east-1:1:t"}, "topic_arn", "arn:aws:sns:us-east-1:1:t"),
    ],
)
def test_settings_from_env_parses_each_variable(extra: dict[str, str], field: str, expected: object) -> None:
    settings = Settings.from_env({**BASE, **extra})
    assert getattr(settings, field) == expected


@pytest.mark.parametrize(
    ("environ", "message_part"),
    [
        ({}, "NOVAFT_STAGE, NOVAFT_ARTIFACTS_BUCKET, NOVAFT_RUNS_TABLE"),
        ({**BASE, "NOVAFT_RUNS_TABLE": "  "}, "NOVAFT_RUNS_TABLE"),
        ({**BASE, "NOVAFT_DEFAULT_JOB": "{not json"}, "NOVAFT_DEFAULT_JOB is not valid JSON"),
        ({**BASE, "NOVAFT_DEFAULT_JOB": "[1]"}, "must be a JSON object"),
        ({**BASE, "NOVAFT_POLICY": '{"max_run_usd": -1}'}, r"NOVAFT_POLICY: 1 problem:\n  - policy.max_run_usd"),
        (
            {**BASE, "NOVAFT_POLICY": '{"max_runtime_hours": 30}', "NOVAFT_MAX_TRAINING_SECONDS": str(24 * 3600)},
            "policy.max_runtime_hours: longer than the stage's max_training_hours",
        ),
    ],
)
def test_settings_from_env_names_the_bad_variable(environ: dict[str, str], message_part: str) -> None:
    with pytest.raises(SettingsInvalid, match=message_part):
        Settings.from_env(environ)


def test_require_names_the_missing_variable() -> None:
    settings = Settings.from_env(BASE)
    with pytest.raises(SettingsInvalid, match="NOVAFT_TRAINING_ROLE_ARN"):
        settings.require("training_role_arn")
    assert settings.run_prefix("r-1") == "runs/r-1/"


def test_the_policy_the_stack_passes_is_read_back_unchanged() -> None:
    policy = StagePolicy(max_instance_count=2, allowed_tag_keys=("team",), require_network_isolation=True)
    settings = Settings.from_env({**BASE, "NOVAFT_POLICY": json.dumps(policy.to_dict())})
    assert settings.policy == policy


def test_without_a_policy_the_safe_defaults_apply() -> None:
    assert Settings.from_env(BASE).policy == StagePolicy()
