"""The evaluation fragment as data: after a completed run, a plan, a bounded Map of evaluation jobs each waited for
like training, a recorded and notified result, then the deployment; a failed evaluation ends as EvaluationFailed."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest

from novaft.pipeline.contracts import EvaluationJobResult
from stacks.constructs.workflow_definition import PollingBounds
from stacks.constructs.workflow_deployment import DeploymentPolling
from stacks.constructs.workflow_evaluation import EVALUATION_FAILED_ERROR, EvaluationBounds
from tests.infrastructure.bare_workflow import BareStack

MAX_POLLS = 7
MAX_CONCURRENCY = 3


@pytest.fixture(scope="module")
def states() -> dict[str, dict[str, Any]]:
    graph = BareStack().workflow_graph(
        PollingBounds(interval=cdk.Duration.seconds(60), max_polls=3),
        evaluation=EvaluationBounds(
            interval=cdk.Duration.seconds(45), max_polls=MAX_POLLS, max_concurrency=MAX_CONCURRENCY
        ),
        deployment=DeploymentPolling(interval_seconds=30, max_polls=3),
    )
    return dict(graph["States"])


def test_a_completed_run_is_evaluated_before_it_is_deployed(states: dict[str, dict[str, Any]]) -> None:
    assert states["ResultStatus"]["Choices"][0]["Next"] == "PlanEvaluation"
    assert states["PlanEvaluation"]["Next"] == "HasEvaluationJobs"
    has_jobs = states["HasEvaluationJobs"]
    assert has_jobs["Choices"] == [
        {"Variable": "$.evaluation_plan.jobs[0]", "IsPresent": True, "Next": "EvaluationJobs"}
    ]
    # No evaluation asked for: straight on to the deployment.
    assert has_jobs["Default"] == "InitDeploymentPolls"
    assert states["EvaluationOutcome"]["Default"] == "InitDeploymentPolls"


def test_jobs_run_in_a_bounded_map_and_are_recorded_then_notified(states: dict[str, dict[str, Any]]) -> None:
    jobs = states["EvaluationJobs"]
    assert jobs["Type"] == "Map"
    assert jobs["MaxConcurrency"] == MAX_CONCURRENCY
    assert jobs["ItemsPath"] == "$.evaluation_plan.jobs"
    assert jobs["Next"] == "RecordEvaluation"
    assert jobs["Catch"][0]["Next"] == "RecordEvaluationFailure"
    assert states["RecordEvaluation"]["Next"] == "NotifyEvaluation"
    assert states["RecordEvaluationFailure"]["Next"] == "NotifyEvaluation"
    assert states["NotifyEvaluation"]["Next"] == "EvaluationOutcome"
    assert states["PlanEvaluation"]["Catch"][0]["Next"] == "RecordEvaluationFailure"


def test_each_job_is_waited_for_with_a_bounded_describe_loop(states: dict[str, dict[str, Any]]) -> None:
    inner = states["EvaluationJobs"]["ItemProcessor"]["States"]
    assert states["EvaluationJobs"]["ItemProcessor"]["StartAt"] == "StartEvaluation"
    assert inner["StartEvaluation"]["Catch"][0]["Next"] == "EvaluationNotStarted"
    assert inner["WaitForEvaluation"]["Seconds"] == 45
    assert inner["DescribeEvaluationJob"]["Resource"].endswith(":states:::aws-sdk:sagemaker:describeTrainingJob")
    choices = inner["EvaluationJobStatus"]["Choices"]
    bound = choices[0]["And"][1]
    assert bound == {"Variable": "$.evaluation_polls.count", "NumericGreaterThanEquals": MAX_POLLS}
    assert choices[0]["Next"] == "StopTimedOutEvaluation"
    assert choices[1]["Next"] == "WaitForEvaluation"
    assert inner["EvaluationJobStatus"]["Default"] == "EvaluationJobFinished"


def test_every_map_item_ends_in_the_shape_record_evaluation_reads(states: dict[str, dict[str, Any]]) -> None:
    inner = states["EvaluationJobs"]["ItemProcessor"]["States"]
    for name in ("EvaluationJobFinished", "EvaluationNotStarted"):
        keys = {key.removesuffix(".$") for key in inner[name]["Parameters"]}
        assert keys <= set(EvaluationJobResult.model_fields)
        assert {"task", "side", "job_name", "status"} <= keys


def test_a_failed_evaluation_ends_the_execution_as_evaluation_failed(states: dict[str, dict[str, Any]]) -> None:
    outcome = states["EvaluationOutcome"]["Choices"][0]
    assert outcome == {"Variable": "$.evaluation.failed", "BooleanEquals": True, "Next": "EvaluationFailedEnd"}
    assert states["EvaluationFailedEnd"]["Error"] == EVALUATION_FAILED_ERROR


def test_a_stage_may_set_a_default_evaluation_checked_against_its_default_job() -> None:
    from stacks.config import ConfigError, StageConfig
    from tests.infrastructure.conftest import stage_context

    default = {"tasks": ["gen_qa"], "compare_with_base": True}
    assert StageConfig.from_context(stage_context(default_evaluation=default)).default_evaluation == default
    with pytest.raises(ConfigError, match="default_evaluation"):
        StageConfig.from_context(stage_context(default_evaluation={"tasks": ["no_such_task"]}))


def test_starting_a_job_retries_throttling_and_missing_capacity(states: dict[str, dict[str, Any]]) -> None:
    from novaft.pipeline.errors import SageMakerCapacityError, SageMakerThrottled

    start = states["EvaluationJobs"]["ItemProcessor"]["States"]["StartEvaluation"]
    retried = {error for retry in start["Retry"] for error in retry["ErrorEquals"]}
    assert {SageMakerThrottled.workflow_error, SageMakerCapacityError.workflow_error} <= retried
