"""The deployment fragment as data: after a completed run, a bounded DeployModel loop, then a recorded and notified
smoke test, or a recorded and notified failure that ends the execution as DeploymentFailed."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest

from novaft.pipeline.contracts import DeploymentProgress, DeployModelInput
from stacks.constructs.workflow_definition import PollingBounds
from stacks.constructs.workflow_deployment import DEPLOYMENT_FAILED_ERROR, DeploymentPolling
from tests.infrastructure.bare_workflow import BareStack

MAX_DEPLOYMENT_POLLS = 9


@pytest.fixture(scope="module")
def states() -> dict[str, dict[str, Any]]:
    deployment = DeploymentPolling(interval_seconds=30, max_polls=MAX_DEPLOYMENT_POLLS)
    polling = PollingBounds(interval=cdk.Duration.seconds(60), max_polls=3)
    return dict(BareStack().workflow_graph(polling, deployment=deployment)["States"])


def test_a_completed_run_goes_to_the_deployment_loop(states: dict[str, dict[str, Any]]) -> None:
    completed = states["ResultStatus"]["Choices"][0]
    assert completed["Next"] == "InitDeploymentPolls"
    assert states["InitDeploymentPolls"]["Next"] == "DeployModel"
    assert states["DeployModel"]["Next"] == "DeploymentPhase"
    assert states["WaitForDeployment"]["Seconds"] == 30
    assert states["CountDeploymentPoll"]["Next"] == "DeployModel"


def test_the_phase_choice_covers_every_phase_and_the_poll_bound(states: dict[str, dict[str, Any]]) -> None:
    choice = states["DeploymentPhase"]
    by_phase = {c["StringEquals"]: c["Next"] for c in choice["Choices"] if "StringEquals" in c}
    assert by_phase == {"skipped": "RunSucceeded", "active": "RecordDeployment", "failed": "RecordDeploymentFailure"}
    bound = next(c for c in choice["Choices"] if "NumericGreaterThanEquals" in c)
    assert bound["NumericGreaterThanEquals"] == MAX_DEPLOYMENT_POLLS and bound["Next"] == "DeploymentTimedOut"
    assert choice["Default"] == "WaitForDeployment"
    # The phases the Choice names are exactly those DeployModel can return.
    phases = set(DeploymentProgress.model_fields["phase"].annotation.__args__)  # type: ignore[union-attr]
    assert set(by_phase) | {"importing", "deploying"} == phases


def test_every_deployment_task_failure_is_recorded_then_notified(states: dict[str, dict[str, Any]]) -> None:
    for name in ("DeployModel", "RecordDeployment"):
        catch = states[name]["Catch"][0]
        assert catch["Next"] == "RecordDeploymentFailure" and catch["ResultPath"] == "$.deployment_failure"
    assert states["DeploymentTimedOut"]["Next"] == "RecordDeploymentFailure"
    assert states["RecordDeploymentFailure"]["Next"] == "NotifyDeploymentFailure"
    assert states["NotifyDeploymentFailure"]["Next"] == "DeploymentFailedEnd"
    assert states["DeploymentFailedEnd"]["Error"] == DEPLOYMENT_FAILED_ERROR
    assert states["RecordDeployment"]["Next"] == "NotifyDeployment"
    assert states["NotifyDeployment"]["Next"] == "RunSucceeded"


def test_deploy_model_gets_the_whole_state_its_contract_reads(states: dict[str, dict[str, Any]]) -> None:
    assert states["DeployModel"]["InputPath"] == "$"
    assert {"run", "validation", "evaluation", "deployment"} <= set(DeployModelInput.model_fields)


def test_no_state_calls_bedrock_through_an_sdk_integration(states: dict[str, dict[str, Any]]) -> None:
    # Bedrock is called from Lambda (novaft.aws.bedrock, whose requests are checked against botocore's models);
    # an aws-sdk:bedrock task added later needs its own check against the service model.
    resources = [str(state.get("Resource", "")) for state in states.values()]
    assert not [resource for resource in resources if ":aws-sdk:bedrock" in resource]
