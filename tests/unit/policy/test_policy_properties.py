"""Properties of evaluate: a run inside every limit is never refused; one limit passed breaks that rule only."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from novaft.pipeline import facts
from novaft.policy import PolicyRequest, StagePolicy, cost_ceiling_usd, evaluate
from novaft.recipes.catalog import load_catalog

INSTANCE_TYPES = tuple(dict.fromkeys(name for variant in load_catalog().variants for name in variant.instance_types))
TAG_KEYS = st.text(st.characters(categories=("L", "N"), include_characters="-_."), min_size=1, max_size=20)

Case = tuple[StagePolicy, PolicyRequest]


def _choice(draw: st.DrawFn, names: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """A non-empty allowed list that leaves at least one name out, and one allowed name."""
    allowed = draw(st.lists(st.sampled_from(names), min_size=1, max_size=len(names) - 1, unique=True))
    return tuple(allowed), draw(st.sampled_from(allowed))


@st.composite
def within_limits(draw: st.DrawFn) -> Case:
    models, model = _choice(draw, facts.MODEL_NAMES)
    methods, method = _choice(draw, facts.METHODS)
    peft_choices, peft = _choice(draw, facts.PEFT_CHOICES)
    instance_types, instance_type = _choice(draw, INSTANCE_TYPES)
    max_count = draw(st.integers(1, 64))
    max_hours = draw(st.floats(0.5, 672))
    allowed_tags = draw(st.lists(TAG_KEYS, max_size=5, unique=True))
    allow_uri = draw(st.booleans())
    max_jobs = draw(st.integers(1, 20))
    request = PolicyRequest(
        model=model,
        method=method,
        peft=peft,
        instance_type=instance_type,
        instance_count=draw(st.integers(1, max_count)),
        max_runtime_hours=draw(st.floats(0.01, max_hours)),
        price_per_instance_hour=draw(st.floats(0.01, 200)),
        estimated_cost_usd=draw(st.none() | st.floats(0, 1e6)),
        tag_keys=tuple(draw(st.lists(st.sampled_from(allowed_tags), unique=True))) if allowed_tags else (),
        base_checkpoint_uri_given=allow_uri and draw(st.booleans()),
        spent_last_30_days_usd=draw(st.none() | st.floats(0, 1e6)),
        active_jobs=draw(st.none() | st.integers(0, max_jobs - 1)),
        region=draw(st.none() | st.just("us-east-1")),
    )
    ceiling = cost_ceiling_usd(request)
    assert ceiling is not None
    # A cent of headroom: changing one dimension below rescales the price, which may move the rounding by a cent.
    max_run = draw(st.none() | st.floats(1, 10).map(lambda factor: (ceiling + 0.01) * factor))
    approval = draw(st.none() | st.floats(0, 1).map(lambda share: share * max_run if max_run else share * 1e6))
    policy = StagePolicy(
        allowed_models=models,
        allowed_methods=methods,
        allowed_peft=peft_choices,
        allowed_instance_types=draw(st.sampled_from([instance_types, None])),
        max_instance_count=max_count,
        max_runtime_hours=max_hours,
        max_run_usd=max_run,
        approval_above_usd=approval,
        budget_usd=draw(st.none() | st.floats(0, 1e7)),
        approval_timeout_hours=draw(st.floats(1, 8760)),
        max_concurrent_jobs=max_jobs,
        allowed_tag_keys=tuple(allowed_tags),
        allow_base_checkpoint_uri=allow_uri,
        require_network_isolation=draw(st.booleans()),
    )
    return policy, request


def _not_in(names: tuple[str, ...], allowed: tuple[str, ...] | None) -> str:
    return next(name for name in names if name not in (allowed or ()))


def _same_ceiling(request: PolicyRequest, **changes: Any) -> PolicyRequest:
    """The request with ``changes`` and the price rescaled so that its cost ceiling stays where it was."""
    changed = dataclasses.replace(request, **changes)
    old = request.instance_count * request.max_runtime_hours
    new = changed.instance_count * changed.max_runtime_hours
    return dataclasses.replace(changed, price_per_instance_hour=(request.price_per_instance_hour or 0) * old / new)


def _policy(policy: StagePolicy, **changes: Any) -> StagePolicy:
    return StagePolicy.model_validate({**policy.to_dict(), **changes})


# Each breaks one rule of a case that is inside every limit; the key is the rule it must break.
BREAKERS: dict[str, Callable[[StagePolicy, PolicyRequest], Case]] = {
    "allowed_models": lambda p, r: (p, dataclasses.replace(r, model=_not_in(facts.MODEL_NAMES, p.allowed_models))),
    "allowed_methods": lambda p, r: (p, dataclasses.replace(r, method=_not_in(facts.METHODS, p.allowed_methods))),
    "allowed_peft": lambda p, r: (p, dataclasses.replace(r, peft=_not_in(facts.PEFT_CHOICES, p.allowed_peft))),
    "allowed_instance_types": lambda p, r: (
        _policy(p, allowed_instance_types=[r.instance_type]),
        dataclasses.replace(r, instance_type=_not_in(INSTANCE_TYPES, (r.instance_type,))),
    ),
    "max_instance_count": lambda p, r: (p, _same_ceiling(r, instance_count=p.max_instance_count + 1)),
    "max_runtime_hours": lambda p, r: (p, _same_ceiling(r, max_runtime_hours=p.max_runtime_hours * 1.01)),
    "max_run_usd": lambda p, r: (
        _policy(p, max_run_usd=1.0, approval_above_usd=None),
        dataclasses.replace(r, price_per_instance_hour=2 / (r.instance_count * r.max_runtime_hours)),
    ),
    "allowed_tag_keys": lambda p, r: (p, dataclasses.replace(r, tag_keys=(*r.tag_keys, "not-listed/" * 3))),
    "allow_base_checkpoint_uri": lambda p, r: (
        _policy(p, allow_base_checkpoint_uri=False),
        dataclasses.replace(r, base_checkpoint_uri_given=True),
    ),
    "max_concurrent_jobs": lambda p, r: (p, dataclasses.replace(r, active_jobs=p.max_concurrent_jobs)),
    "allow_provisioned_throughput": lambda p, r: (
        _policy(p, allow_provisioned_throughput=False),
        dataclasses.replace(r, deploy_target=facts.DEPLOY_PROVISIONED),
    ),
    "max_model_units": lambda p, r: (
        _policy(p, allow_provisioned_throughput=True),
        dataclasses.replace(r, deploy_target=facts.DEPLOY_PROVISIONED, model_units=p.max_model_units + 1),
    ),
}


@given(within_limits())
def test_a_run_inside_every_limit_is_never_refused(case: Case) -> None:
    policy, request = case
    decision = evaluate(policy, request)
    assert decision.violations == ()
    assert decision.needs_approval == bool(decision.approval_reasons)


@given(within_limits(), st.sampled_from(sorted(BREAKERS)))
def test_one_dimension_past_its_limit_breaks_exactly_that_rule(case: Case, rule: str) -> None:
    policy, request = BREAKERS[rule](*case)
    assert [finding.rule for finding in evaluate(policy, request).violations] == [rule]


def test_every_refusing_rule_has_a_breaker() -> None:
    # Keys that are not limits on a run: thresholds that ask for approval and settings the stage applies itself.
    not_refusing = {"approval_above_usd", "budget_usd", "approval_timeout_hours", "require_network_isolation"}
    assert set(BREAKERS) == set(StagePolicy.model_fields) - not_refusing
