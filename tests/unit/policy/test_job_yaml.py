"""What job.yaml may set under a stage policy, and the request built from a planned run."""

from __future__ import annotations

import pytest

from novaft.policy import JOB_SPEC_STAGE_OWNED_FIELDS, policy_request_from, stage_owned_field_problems
from novaft.recipes.errors import JobSpecError
from novaft.recipes.estimate import estimate_run, load_price_table
from novaft.recipes.job_spec import JobSpec


@pytest.mark.parametrize("key", sorted(JOB_SPEC_STAGE_OWNED_FIELDS))
def test_the_job_spec_refuses_each_stage_owned_key_saying_where_the_stage_sets_it(key: str) -> None:
    # Not a job spec field (the stage sets it), yet refused with its own reason rather than as an unknown key.
    assert key not in JobSpec.model_fields
    with pytest.raises(JobSpecError) as raised:
        JobSpec.from_yaml_text(f"model: micro\nmethod: sft\npeft: lora\n{key}: x\n", source="incoming/r/job.yaml")
    (problem,) = raised.value.problems
    assert (problem.field, problem.reason) == (key, JOB_SPEC_STAGE_OWNED_FIELDS[key])
    assert "set by the stage" in str(raised.value) and "unknown key" not in str(raised.value)


@pytest.mark.parametrize("key", sorted(JOB_SPEC_STAGE_OWNED_FIELDS))
def test_each_stage_owned_key_present_gives_one_problem_naming_where_it_is_set(key: str) -> None:
    # Present at all counts, even null: job.yaml has no say over these keys.
    problems = stage_owned_field_problems({"model": "micro", key: None})
    assert problems == [f"job.yaml key {key!r} is not allowed here: {JOB_SPEC_STAGE_OWNED_FIELDS[key]}"]
    assert "set by the stage" in problems[0]


def test_a_job_yaml_without_stage_keys_has_no_problems() -> None:
    job = {"model": "micro", "method": "sft", "peft": "lora", "tags": {"team": "a"}, "max_runtime_seconds": 3600}
    assert stage_owned_field_problems(job) == []


def test_every_stage_key_is_reported_at_once() -> None:
    job = dict.fromkeys(JOB_SPEC_STAGE_OWNED_FIELDS, "x")
    assert len(stage_owned_field_problems(job)) == len(JOB_SPEC_STAGE_OWNED_FIELDS)


def test_the_request_takes_choices_from_the_spec_and_figures_from_the_estimate() -> None:
    spec = JobSpec.model_validate(
        {
            "model": "micro",
            "method": "dpo",
            "peft": "lora",
            "instance_count": 4,
            "max_runtime_seconds": 5400,
            "tags": {"team": "a", "cost-center": "b"},
            "base_checkpoint_s3_uri": "s3://escrow/run-1/",
        }
    )
    stats = {"records": 1000, "estimated_tokens": {"mean": 1000}}
    estimate = estimate_run(spec, stats, load_price_table(), region="us-east-1")
    request = policy_request_from(spec, estimate, spent_last_30_days_usd=12.5, active_jobs=1)
    assert (request.model, request.method, request.peft) == ("micro", "dpo", "lora")
    # The instance type is the catalog's default, resolved by the estimate.
    assert (request.instance_type, request.instance_count) == (estimate.instance_type, 4)
    assert request.max_runtime_hours == 1.5
    assert request.price_per_instance_hour == estimate.price_per_instance_hour is not None
    assert request.estimated_cost_usd == estimate.cost is not None
    assert request.tag_keys == ("team", "cost-center")
    assert request.base_checkpoint_uri_given
    assert (request.spent_last_30_days_usd, request.active_jobs, request.region) == (12.5, 1, "us-east-1")


def test_a_spec_without_a_base_checkpoint_gives_none() -> None:
    spec = JobSpec.model_validate({"model": "micro", "method": "sft", "peft": "lora"})
    request = policy_request_from(spec, estimate_run(spec, None, None))
    assert not request.base_checkpoint_uri_given
    assert request.price_per_instance_hour is None
    assert request.estimated_cost_usd is None
