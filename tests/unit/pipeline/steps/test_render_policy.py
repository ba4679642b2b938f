"""RenderRecipe under the stage policy: the request carries the stage's settings, a base run resolves to its
checkpoint, and a run the policy does not clear is recorded and refused with the rule, the value and the limit."""

from __future__ import annotations

from typing import Any

import pytest

from novaft.pipeline.contracts import RenderRecipeInput, RunInputs, StartTrainingInput, ValidationOutcome
from novaft.pipeline.errors import BaseRunUnusable
from novaft.pipeline.facts import (
    PLAN_FILE,
    STATUS_APPROVAL_REQUIRED,
    STATUS_COMPLETED,
    STATUS_FAILED,
    STATUS_POLICY_VIOLATION,
    STATUS_REGISTERED,
    STATUS_VALIDATING,
)
from novaft.pipeline.steps.render import render_run_recipe
from novaft.pipeline.steps.start import start_training
from novaft.policy import ApprovalRequired, PolicyViolation, StagePolicy
from novaft.recipes import load_price_table
from tests.unit.pipeline.fakes import (
    ARTIFACTS_BUCKET,
    DEFAULT_JOB,
    LATER,
    RUN,
    FakeObjectStore,
    FakeRunStore,
    FakeTrainingJobs,
    settings,
)

BASE_RUN_ID = "earlier-0123456789ab"
CHECKPOINT = "s3://customer-escrow-123456789012-smtj-abcdef/novaft-earlier/stepID"
KMS_KEY = "arn:aws:kms:us-west-2:123456789012:key/data"
# A small dataset: its estimate stays far below the default approval threshold.
STATS = {"records": 1000, "estimated_tokens": {"mean": 500}}


def _validation(job: dict[str, Any]) -> ValidationOutcome:
    prefix = f"s3://{ARTIFACTS_BUCKET}/{RUN.artifacts_prefix}input/"
    return ValidationOutcome(
        valid=True,
        records=STATS["records"],
        report_s3_uri=f"s3://{ARTIFACTS_BUCKET}/{RUN.artifacts_prefix}validation-report.json",
        stats=STATS,
        inputs=RunInputs(train_s3_uri=f"{prefix}train.jsonl", job_spec_s3_uri=f"{prefix}job-spec.json"),
        job_spec={**DEFAULT_JOB, **job},
    )


def _runs(**base_run: Any) -> FakeRunStore:
    items = {RUN.run_id: {"run_id": RUN.run_id, "status": STATUS_REGISTERED}}
    if base_run:
        items[BASE_RUN_ID] = {"run_id": BASE_RUN_ID, **base_run}
    return FakeRunStore(items)


def _render(
    job: dict[str, Any], runs: FakeRunStore | None = None, objects: FakeObjectStore | None = None, **stage: Any
) -> Any:
    return render_run_recipe(
        RenderRecipeInput(run=RUN, validation=_validation(job)),
        prices=load_price_table(),
        settings=settings(**{"kms_key_arn": KMS_KEY, "region": "us-east-1", "policy": StagePolicy(), **stage}),
        objects=objects or FakeObjectStore(),
        runs=runs or _runs(),
        now=LATER,
    )


def test_the_default_job_is_cleared_and_its_request_carries_the_stage_settings() -> None:
    objects, runs = FakeObjectStore(), _runs()
    plan = _render({}, runs, objects)
    request = plan.request
    assert request["OutputDataConfig"]["KmsKeyId"] == KMS_KEY
    assert request["EnableInterContainerTrafficEncryption"] is True
    assert "EnableNetworkIsolation" not in request and "VpcConfig" not in request
    decision = objects.json(ARTIFACTS_BUCKET, f"{RUN.artifacts_prefix}{PLAN_FILE}")["policy"]
    assert decision["allowed"] and not decision["needs_approval"]
    assert runs.items[RUN.run_id]["status"] == STATUS_VALIDATING


def test_the_rendered_request_passes_start_trainings_second_check() -> None:
    stage: dict[str, Any] = {"subnet_ids": ("subnet-1",), "security_group_ids": ("sg-1",)}
    policy = StagePolicy(require_network_isolation=True)
    plan = _render({}, policy=policy, **stage)
    assert plan.request["EnableNetworkIsolation"] is True
    assert plan.request["VpcConfig"] == {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]}
    started = start_training(
        StartTrainingInput(run=RUN, request=plan.request),
        settings=settings(kms_key_arn=KMS_KEY, region="us-east-1", policy=policy, **stage),
        jobs=FakeTrainingJobs(),
        runs=_runs(),
        now=LATER,
    )
    assert not started.already_started


def test_a_job_breaking_the_policy_is_recorded_and_refused_with_rule_value_and_limit() -> None:
    objects, runs = FakeObjectStore(), _runs()
    with pytest.raises(PolicyViolation) as raised:
        _render({"instance_count": 8}, runs, objects)
    message = str(raised.value)
    assert "max_instance_count" in message and "8 x ml.p5.48xlarge" in message and "limit: 4 instances" in message
    item = runs.items[RUN.run_id]
    assert item["status"] == STATUS_POLICY_VIOLATION and item["failure_error"] == "PolicyViolation"
    # 8 x ml.p5.48xlarge for 24 h also passes the $6,000 cost ceiling: every rule broken is listed.
    assert [finding["rule"] for finding in item["policy_findings"]] == ["max_instance_count", "max_run_usd"]
    # The plan is still written: a refused run shows what it would have done and why it did not.
    decision = objects.json(ARTIFACTS_BUCKET, f"{RUN.artifacts_prefix}{PLAN_FILE}")["policy"]
    assert not decision["allowed"]


@pytest.mark.parametrize(
    ("job", "policy", "rule"),
    [
        ({"tags": {"team": "a"}}, StagePolicy(), "allowed_tag_keys"),
        ({"peft": "full"}, StagePolicy(), "allowed_peft"),
        ({"max_runtime_seconds": 7200}, StagePolicy(max_runtime_hours=1), "max_runtime_hours"),
        ({"base_checkpoint_s3_uri": CHECKPOINT}, StagePolicy(), "allow_base_checkpoint_uri"),
    ],
)
def test_each_rule_refuses_the_run(job: dict[str, Any], policy: StagePolicy, rule: str) -> None:
    with pytest.raises(PolicyViolation) as raised:
        _render(job, policy=policy)
    assert [finding.rule for finding in raised.value.findings] == [rule]


def test_what_the_policy_allows_is_rendered() -> None:
    policy = StagePolicy(allowed_tag_keys=("team",), allow_base_checkpoint_uri=True)
    plan = _render({"tags": {"team": "a"}, "base_checkpoint_s3_uri": CHECKPOINT}, policy=policy)
    assert {"Key": "team", "Value": "a"} in plan.request["Tags"]
    assert plan.request["HyperParameters"]["base_model_location"] == CHECKPOINT


def test_a_run_that_needs_approval_is_recorded_and_refused_with_the_reasons() -> None:
    runs = _runs()
    with pytest.raises(ApprovalRequired) as raised:
        _render({}, runs, policy=StagePolicy(approval_above_usd=0.0))
    assert "approval_above_usd $0.00" in str(raised.value)
    assert "no approval gate" in str(raised.value)
    item = runs.items[RUN.run_id]
    assert item["status"] == STATUS_APPROVAL_REQUIRED and item["failure_error"] == "ApprovalRequired"
    assert item["approval_reasons"] == list(raised.value.reasons)


def test_a_base_run_id_continues_from_that_runs_checkpoint() -> None:
    runs = _runs(status=STATUS_COMPLETED, checkpoint_s3_uri=CHECKPOINT)
    plan = _render({"base_run_id": BASE_RUN_ID}, runs)
    assert plan.request["HyperParameters"]["base_model_location"] == CHECKPOINT
    # Naming an earlier run is not an s3:// URI: the default policy allows it.
    assert runs.items[RUN.run_id]["status"] == STATUS_VALIDATING


@pytest.mark.parametrize(
    ("base_run", "fragment"),
    [
        ({}, f"no run {BASE_RUN_ID!r} in this stage's runs table"),
        ({"status": STATUS_FAILED, "checkpoint_s3_uri": CHECKPOINT}, f"has status {STATUS_FAILED!r}"),
        ({"status": STATUS_COMPLETED, "manifest_problem": "no manifest.json"}, "recorded no checkpoint (its output"),
    ],
)
def test_a_base_run_that_cannot_be_continued_is_named(base_run: dict[str, Any], fragment: str) -> None:
    with pytest.raises(BaseRunUnusable) as raised:
        _render({"base_run_id": BASE_RUN_ID}, _runs(**base_run))
    assert fragment in str(raised.value) and "base_run_id" in str(raised.value)
