"""The stage policy refuses a run on moto: RenderRecipe and StartTraining record PolicyViolation and start no job,
and RecordFailure keeps that status and notifies."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lambdas.handlers import record_result, render_recipe, start_training
from novaft.pipeline.facts import PLAN_FILE, RECORD_TYPE_RUN, STATUS_POLICY_VIOLATION, STATUS_VALIDATING
from novaft.policy import PolicyViolation
from tests.handlers.conftest import ARTIFACTS_BUCKET, Aws, FakeLambdaContext, load_event


def _registered(aws: Aws, event: dict[str, Any]) -> str:
    run_id = str(event["run"]["run_id"])
    aws.put_item({"run_id": run_id, "record_type": RECORD_TYPE_RUN, "status": STATUS_VALIDATING, "execution_arn": "a"})
    return run_id


def _record_failure(aws: Aws, event: dict[str, Any], error: PolicyViolation, context: FakeLambdaContext) -> Any:
    # The Catch's {Error, Cause} as Step Functions writes it for a failed Lambda task.
    cause = json.dumps({"errorType": error.workflow_error, "errorMessage": str(error)})
    failure = {"run": event["run"], "failure": {"Error": error.workflow_error, "Cause": cause}}
    return record_result.lambda_handler(failure, context)


def test_render_recipe_refuses_a_job_over_the_policy_and_record_failure_keeps_the_status(
    aws: Aws, lambda_context: FakeLambdaContext
) -> None:
    event = load_event("render_recipe.json")
    event["validation"]["job_spec"] = {**event["validation"]["job_spec"], "instance_count": 8}
    run_id = _registered(aws, event)

    with pytest.raises(PolicyViolation) as raised:
        render_recipe.lambda_handler(event, lambda_context)

    assert "max_instance_count" in str(raised.value) and "limit: 4 instances" in str(raised.value)
    item = aws.item(run_id)
    assert item["status"] == STATUS_POLICY_VIOLATION
    assert item["policy_findings"][0]["rule"] == "max_instance_count"
    prefix = event["run"]["artifacts_prefix"]
    assert aws.read_json(ARTIFACTS_BUCKET, f"{prefix}{PLAN_FILE}")["policy"]["allowed"] is False

    recorded = _record_failure(aws, event, raised.value, lambda_context)

    assert recorded["status"] == STATUS_POLICY_VIOLATION
    assert STATUS_POLICY_VIOLATION in recorded["subject"] and "max_instance_count" in recorded["message"]
    assert aws.item(run_id)["status"] == STATUS_POLICY_VIOLATION
    assert aws.sagemaker.list_training_jobs()["TrainingJobSummaries"] == []


def test_start_training_refuses_a_request_changed_past_the_policy(aws: Aws, lambda_context: FakeLambdaContext) -> None:
    event = load_event("start_training.json")
    event["request"]["ResourceConfig"]["InstanceCount"] = 8
    run_id = _registered(aws, event)

    with pytest.raises(PolicyViolation, match="max_instance_count"):
        start_training.lambda_handler(event, lambda_context)

    assert aws.item(run_id)["status"] == STATUS_POLICY_VIOLATION
    assert aws.sagemaker.list_training_jobs()["TrainingJobSummaries"] == []
