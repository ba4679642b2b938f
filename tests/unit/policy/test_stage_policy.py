"""The stage policy as cdk.json gives it: defaults, round trip, and configuration errors naming the key."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from novaft.errors import MAX_ECHOED_CHARS, UsageError
from novaft.pipeline import facts
from novaft.policy import PolicyConfigError, StagePolicy, evaluate, policy_request_from
from novaft.recipes.catalog import load_catalog
from novaft.recipes.estimate import estimate_run, load_price_table
from novaft.recipes.job_spec import JobSpec

REPO = Path(__file__).resolve().parents[3]
SOURCE = "cdk.json stage 'dev' policy"
DOC_ROW = re.compile(r"^\| `(?P<key>[a-z_]+)` \| `(?P<default>[^`]+)` \|")


def _load(data: Any, max_training_hours: float = 120) -> StagePolicy:
    return StagePolicy.from_mapping(data, max_training_hours=max_training_hours, source=SOURCE)


def _documented_defaults() -> dict[str, Any]:
    text = (REPO / "docs" / "policy.md").read_text(encoding="utf-8")
    section = text.split("## Keys and their defaults", 1)[1].split("\n## ", 1)[0]
    rows = [DOC_ROW.match(line) for line in section.splitlines()]
    return {row["key"]: json.loads(row["default"]) for row in rows if row}


def test_documented_defaults_are_the_models_defaults() -> None:
    assert _documented_defaults() == StagePolicy().to_dict()


def test_an_empty_policy_object_gives_the_defaults() -> None:
    assert _load({}) == StagePolicy()


def test_runtime_default_is_lowered_to_a_shorter_stage() -> None:
    default = StagePolicy().max_runtime_hours
    assert _load({}, max_training_hours=default / 2).max_runtime_hours == default / 2
    assert _load({}, max_training_hours=default * 5).max_runtime_hours == default


def test_to_dict_is_json_and_reads_back_unchanged() -> None:
    policy = _load(
        {
            "allowed_models": ["micro"],
            "allowed_instance_types": ["ml.g5.12xlarge"],
            "max_run_usd": 100.5,
            "approval_above_usd": 0,
            "budget_usd": 1000,
            "allowed_tag_keys": ["team"],
            "require_network_isolation": True,
        }
    )
    data = json.loads(json.dumps(policy.to_dict()))
    assert _load(data) == policy


def test_an_allowed_list_of_every_catalog_instance_type_is_accepted() -> None:
    every = sorted({name for variant in load_catalog().variants for name in variant.instance_types})
    assert _load({"allowed_instance_types": every}).allowed_instance_types == tuple(every)


@pytest.mark.parametrize(
    ("data", "key", "given", "allowed"),
    [
        ({"max_run_usd": True}, "policy.max_run_usd", "True", "US dollars"),
        ({"max_run_usd": "6000"}, "policy.max_run_usd", "'6000'", "US dollars"),
        ({"max_run_usd": 0}, "policy.max_run_usd", "0", "above 0"),
        ({"max_run_usd": float("inf")}, "policy.max_run_usd", "inf", "US dollars"),
        ({"approval_above_usd": -1}, "policy.approval_above_usd", "-1", "0 or more"),
        ({"budget_usd": -0.5}, "policy.budget_usd", "-0.5", "0 or more"),
        ({"max_instance_count": 0}, "policy.max_instance_count", "0", "1 or more"),
        ({"max_instance_count": 2.5}, "policy.max_instance_count", "2.5", "an integer"),
        ({"max_instance_count": False}, "policy.max_instance_count", "False", "an integer"),
        ({"max_concurrent_jobs": -2}, "policy.max_concurrent_jobs", "-2", "1 or more"),
        ({"max_runtime_hours": 0}, "policy.max_runtime_hours", "0", "above 0"),
        ({"max_runtime_hours": 121}, "policy.max_runtime_hours", "121", "max_training_hours (120)"),
        ({"approval_timeout_hours": 0}, "policy.approval_timeout_hours", "0", "above 0"),
        ({"approval_timeout_hours": 9000}, "policy.approval_timeout_hours", "9000", "at most 8760"),
        ({"allowed_models": ["micro", "mega"]}, "policy.allowed_models[1]", "'mega'", ", ".join(facts.MODEL_NAMES)),
        ({"allowed_methods": ["ppo"]}, "policy.allowed_methods[0]", "'ppo'", ", ".join(facts.METHODS)),
        ({"allowed_peft": ["qlora"]}, "policy.allowed_peft[0]", "'qlora'", ", ".join(facts.PEFT_CHOICES)),
        ({"allowed_peft": "lora"}, "policy.allowed_peft", "'lora'", "a non-empty list"),
        ({"allowed_models": []}, "policy.allowed_models", "[]", "a non-empty list"),
        ({"allowed_instance_types": []}, "policy.allowed_instance_types", "[]", "ml.p5.48xlarge"),
        ({"allowed_instance_types": ["ml.p5.96xlarge"]}, "policy.allowed_instance_types", "ml.p5.96xlarge", "ml.p5"),
        ({"allowed_tag_keys": ["team", "NOVAFT:run-id"]}, "policy.allowed_tag_keys", "NOVAFT:run-id", "'novaft:'"),
        ({"allowed_tag_keys": [" "]}, "policy.allowed_tag_keys", "' '", "tag keys"),
        ({"allowed_tag_keys": [7]}, "policy.allowed_tag_keys[0]", "7", "tag keys"),
        ({"require_network_isolation": "yes"}, "policy.require_network_isolation", "'yes'", "true or false"),
        ({"allow_base_checkpoint_uri": 1}, "policy.allow_base_checkpoint_uri", "1", "true or false"),
        ({"approval_above_usd": 700, "max_run_usd": 600}, "policy.approval_above_usd", "700", "at most max_run_usd"),
        ({"max_run_usd_per_day": 5}, "policy.max_run_usd_per_day", "5", "max_run_usd"),
    ],
)
def test_config_error_names_the_key_the_value_and_what_is_allowed(
    data: dict[str, Any], key: str, given: str, allowed: str
) -> None:
    with pytest.raises(PolicyConfigError) as caught:
        _load(data)
    assert [problem.field for problem in caught.value.problems] == [key]
    message = str(caught.value)
    assert message.startswith(f"{SOURCE}: 1 problem:")
    line = message.splitlines()[1]
    assert line.startswith(f"  - {key}: ")
    assert given in line
    assert allowed in line.split("allowed: ", 1)[1]


def test_every_wrong_key_is_reported_at_once() -> None:
    with pytest.raises(PolicyConfigError) as caught:
        _load({"max_run_usd": -1, "max_instance_count": "4", "colour": "red"})
    assert sorted(problem.field for problem in caught.value.problems) == [
        "policy.colour",
        "policy.max_instance_count",
        "policy.max_run_usd",
    ]
    assert "3 problems" in str(caught.value)


def test_a_policy_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(PolicyConfigError, match=r"policy: not a mapping \(given: \['lora'\]"):
        _load(["lora"])


def _problem_line(size: int) -> str:
    with pytest.raises(PolicyConfigError) as caught:
        _load({"k" * size: "v" * size})
    return str(caught.value).splitlines()[1]


def test_long_values_and_keys_are_cut() -> None:
    line = _problem_line(1000)
    assert "k" * MAX_ECHOED_CHARS not in line
    assert "v" * MAX_ECHOED_CHARS not in line
    assert "... (1,007 characters)" in line and "... (1,002 characters)" in line
    # A hundred times more given: the line grows only by the digits of the lengths it names.
    assert len(_problem_line(100_000)) == len(line) + 4


def test_config_error_is_a_usage_error() -> None:
    # The CLI maps UsageError to its usage exit code, and the workflow to InvalidConfiguration.
    assert issubclass(PolicyConfigError, UsageError)


def test_the_platforms_own_tags_are_under_the_reserved_prefix() -> None:
    for tag in (facts.RUN_ID_TAG, facts.STAGE_TAG):
        with pytest.raises(PolicyConfigError, match="reserved"):
            _load({"allowed_tag_keys": [tag]})


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_each_shipped_stage_runs_its_default_job_under_its_policy(stage: str) -> None:
    # The defaults must not refuse what the repository itself ships; it may ask for approval.
    config = json.loads((REPO / "cdk.json").read_text(encoding="utf-8"))["context"]["novaft:stages"][stage]
    policy = _load(config.get("policy", {}), max_training_hours=config["max_training_hours"])
    spec = JobSpec.model_validate(config["default_job"])
    estimate = estimate_run(spec, None, load_price_table(), region=config["region"])
    decision = evaluate(policy, policy_request_from(spec, estimate, spent_last_30_days_usd=0, active_jobs=0))
    assert decision.violations == ()
    assert decision.cost_ceiling_usd is not None


def test_null_means_the_default_because_the_cdk_drops_null_context_values() -> None:
    assert _load({"max_run_usd": None, "approval_above_usd": None}) == StagePolicy()


@pytest.mark.parametrize("key", ["max_run_usd", "approval_above_usd", "budget_usd", "allowed_instance_types"])
def test_false_turns_a_limit_off_and_reads_back_unchanged(key: str) -> None:
    policy = _load({key: False})
    assert getattr(policy, key) is None
    assert _load(json.loads(json.dumps(policy.to_dict()))) == policy
