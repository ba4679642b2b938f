"""One run against the stage policy: every rule refuses past its limit and allows at it; approval says why."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pytest

from novaft.errors import NovaftError
from novaft.pipeline import facts
from novaft.policy import (
    PolicyRequest,
    PolicyViolation,
    StagePolicy,
    cost_ceiling_usd,
    evaluate,
)
from tests.unit.policy.run_choices import run_choices

# Ceiling 2 x 10 h x $100 = $2,000: inside every default limit; the estimate is under the default approval threshold.
REQUEST = PolicyRequest(**run_choices(), price_per_instance_hour=100.0, estimated_cost_usd=100.0)


def _policy(**overrides: Any) -> StagePolicy:
    return StagePolicy.model_validate(overrides)


def _request(**changes: Any) -> PolicyRequest:
    return dataclasses.replace(REQUEST, **changes)


def test_a_run_inside_the_defaults_is_allowed_without_approval() -> None:
    decision = evaluate(StagePolicy(), REQUEST)
    assert decision.allowed
    assert decision.violations == ()
    assert decision.approval_reasons == ()
    assert not decision.needs_approval
    decision.raise_for_violations()


# (rule, policy overrides, request at the limit (allowed), request past it (refused), value and limit in the message)
RULES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any], str, str]] = [
    ("allowed_models", {"allowed_models": ["micro"]}, {"model": "micro"}, {"model": "lite"}, "'lite'", "micro"),
    ("allowed_methods", {"allowed_methods": ["sft"]}, {"method": "sft"}, {"method": "dpo"}, "'dpo'", "sft"),
    ("allowed_peft", {}, {"peft": "lora"}, {"peft": "full"}, "'full'", "lora"),
    (
        "allowed_instance_types",
        {"allowed_instance_types": ["ml.p5.48xlarge"]},
        {"instance_type": "ml.p5.48xlarge"},
        {"instance_type": "ml.p4d.24xlarge"},
        "'ml.p4d.24xlarge'",
        "ml.p5.48xlarge",
    ),
    ("max_instance_count", {}, {"instance_count": 4}, {"instance_count": 5}, "5 x ml.p5.48xlarge", "4 instances"),
    (
        "max_runtime_hours",
        {},
        {"max_runtime_hours": 24},
        {"max_runtime_hours": 24.5},
        "24.5 h (max_runtime_seconds 88200)",
        "24 h",
    ),
    (
        "max_run_usd",
        {},
        {"price_per_instance_hour": 300.0},
        {"price_per_instance_hour": 300.01},
        "cost ceiling $6,000.20 (2 x ml.p5.48xlarge x 10 h x $300.01/h)",
        "$6,000.00 per run",
    ),
    (
        "max_run_usd",
        {"max_run_usd": 5000},
        {"price_per_instance_hour": None, "estimated_cost_usd": None, "region": "us-east-1"},
        {"price_per_instance_hour": None, "estimated_cost_usd": None, "region": "us-east-1"},
        "no price for ml.p5.48xlarge in us-east-1 in the price table",
        "$5,000.00 per run",
    ),
    (
        "allowed_tag_keys",
        {"allowed_tag_keys": ["team"]},
        {"tag_keys": ("team",)},
        {"tag_keys": ("owner",)},
        "'owner'",
        "team",
    ),
    (
        "allow_base_checkpoint_uri",
        {},
        {"base_checkpoint_uri_given": False},
        {"base_checkpoint_uri_given": True},
        "an s3:// base checkpoint URI",
        "only an earlier run's id",
    ),
    ("max_concurrent_jobs", {}, {"active_jobs": 1}, {"active_jobs": 2}, "2 jobs already training", "2 at once"),
]


@pytest.mark.parametrize(("rule", "policy", "at_limit", "past_limit", "value", "limit"), RULES)
def test_each_rule_refuses_past_its_limit_and_names_value_and_limit(
    rule: str, policy: dict[str, Any], at_limit: dict[str, Any], past_limit: dict[str, Any], value: str, limit: str
) -> None:
    stage = _policy(**policy)
    refused = evaluate(stage, _request(**past_limit))
    assert [finding.rule for finding in refused.violations] == [rule]
    assert (refused.violations[0].value, refused.violations[0].limit) == (value, limit)
    with pytest.raises(PolicyViolation) as caught:
        refused.raise_for_violations()
    assert f"{rule}: " in str(caught.value)
    assert value in str(caught.value)
    assert limit in str(caught.value)
    if at_limit != past_limit:
        assert evaluate(stage, _request(**at_limit)).violations == ()


@pytest.mark.parametrize("rule", sorted({rule for rule, *_ in RULES}))
def test_every_rule_is_a_policy_key(rule: str) -> None:
    # The rule name tells the operator which cdk.json key to change.
    assert rule in StagePolicy.model_fields


def test_an_unknown_price_is_allowed_when_there_is_no_cap() -> None:
    decision = evaluate(_policy(max_run_usd=None), _request(price_per_instance_hour=None))
    assert decision.allowed
    assert decision.cost_ceiling_usd is None


def test_unknown_running_jobs_are_not_counted_as_too_many() -> None:
    assert evaluate(_policy(max_concurrent_jobs=1), _request(active_jobs=None)).allowed


@pytest.mark.parametrize(
    ("allowed_tag_keys", "tag_key", "limit"),
    [((), facts.RUN_ID_TAG, "no tag keys"), (("team",), "NoVaFt:run-id", "team")],
)
def test_a_reserved_tag_key_is_refused_because_of_its_prefix_in_any_case(
    allowed_tag_keys: tuple[str, ...], tag_key: str, limit: str
) -> None:
    decision = evaluate(_policy(allowed_tag_keys=allowed_tag_keys), _request(tag_keys=(tag_key,)))
    [finding] = decision.violations
    assert (finding.rule, finding.value, finding.limit) == ("allowed_tag_keys", repr(tag_key), limit)
    assert facts.RESERVED_TAG_PREFIX in finding.message
    with pytest.raises(PolicyViolation, match=re.escape(finding.describe())):
        decision.raise_for_violations()


def test_the_violation_lists_every_finding() -> None:
    decision = evaluate(StagePolicy(), _request(peft="full", instance_count=5, active_jobs=9))
    with pytest.raises(PolicyViolation) as caught:
        decision.raise_for_violations()
    assert isinstance(caught.value, NovaftError)
    assert caught.value.findings == decision.violations
    assert "3 problems" in str(caught.value)
    for rule in ("allowed_peft", "max_instance_count", "max_concurrent_jobs"):
        assert f"  - {rule}: " in str(caught.value)


def test_the_ceiling_is_instances_times_runtime_times_price() -> None:
    request = _request(instance_count=3, max_runtime_hours=7.5, price_per_instance_hour=37.688)
    assert cost_ceiling_usd(request) == pytest.approx(3 * 7.5 * 37.688, abs=0.005)
    assert evaluate(StagePolicy(), request).cost_ceiling_usd == cost_ceiling_usd(request)
    assert cost_ceiling_usd(_request(price_per_instance_hour=None)) is None


# --- approval ------------------------------------------------------------------------------------------------------


def test_an_estimate_above_the_threshold_needs_approval_and_says_why() -> None:
    decision = evaluate(_policy(approval_above_usd=500), _request(estimated_cost_usd=812.4))
    assert decision.allowed
    assert decision.needs_approval
    assert decision.approval_reasons == ("estimated cost $812.40 is above approval_above_usd $500.00",)


def test_an_estimate_at_the_threshold_needs_no_approval() -> None:
    assert not evaluate(_policy(approval_above_usd=500), _request(estimated_cost_usd=500.0)).needs_approval


def test_without_an_estimate_the_ceiling_is_compared() -> None:
    decision = evaluate(_policy(approval_above_usd=500), _request(estimated_cost_usd=None))
    assert decision.needs_approval
    (reason,) = decision.approval_reasons
    assert "cost ceiling $2,000.00" in reason
    assert "no estimate" in reason
    assert not evaluate(_policy(approval_above_usd=2000), _request(estimated_cost_usd=None)).needs_approval


def test_an_estimate_above_the_ceiling_counts_only_the_ceiling() -> None:
    # The job is stopped at its max runtime, so it cannot bill the larger estimate.
    decision = evaluate(_policy(approval_above_usd=500), _request(estimated_cost_usd=9000.0))
    assert decision.approval_reasons == ("estimated cost $2,000.00 is above approval_above_usd $500.00",)


def test_an_unknown_cost_needs_approval() -> None:
    request = _request(price_per_instance_hour=None, estimated_cost_usd=None, instance_type="ml.p5en.48xlarge")
    decision = evaluate(_policy(max_run_usd=None, approval_above_usd=500), request)
    assert decision.needs_approval
    (reason,) = decision.approval_reasons
    assert "no price for ml.p5en.48xlarge" in reason


def test_no_threshold_never_asks() -> None:
    decision = evaluate(_policy(max_run_usd=None, approval_above_usd=None), _request(price_per_instance_hour=1e6))
    assert decision.allowed
    assert not decision.needs_approval


def test_a_run_that_would_pass_the_budget_needs_approval() -> None:
    policy = _policy(approval_above_usd=None, budget_usd=4000)
    decision = evaluate(policy, _request(spent_last_30_days_usd=2000.01))
    assert decision.needs_approval
    assert decision.approval_reasons == (
        "spend of the last 30 days $2,000.01 plus this run's cost ceiling $2,000.00 would pass budget_usd $4,000.00",
    )
    # The budget counts the ceiling, not the (smaller) estimate.
    assert not evaluate(policy, _request(spent_last_30_days_usd=2000.0)).needs_approval


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"spent_last_30_days_usd": None}, "last 30 days' spend is unknown"),
        ({"spent_last_30_days_usd": 0.0, "price_per_instance_hour": None}, "no price for ml.p5.48xlarge"),
    ],
)
def test_a_budget_that_cannot_be_checked_needs_approval(changes: dict[str, Any], words: str) -> None:
    decision = evaluate(_policy(max_run_usd=None, approval_above_usd=None, budget_usd=4000), _request(**changes))
    assert decision.needs_approval
    (reason,) = decision.approval_reasons
    assert words in reason
    assert "budget_usd $4,000.00" in reason


def test_a_refused_run_does_not_need_approval() -> None:
    decision = evaluate(_policy(approval_above_usd=0), _request(peft="full"))
    assert decision.approval_reasons
    assert not decision.allowed
    assert not decision.needs_approval


def test_the_decision_is_json() -> None:
    decision = evaluate(_policy(approval_above_usd=0), _request(peft="full"))
    data = json.loads(json.dumps(decision.to_dict()))
    assert data["allowed"] is False
    assert data["needs_approval"] is False
    assert data["violations"][0]["rule"] == "allowed_peft"
    assert data["cost_ceiling_usd"] == 2000.0
