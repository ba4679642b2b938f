"""The approval and queue gate as data: where it sits, how it waits, and that no way to RecordFailure or RecordResult
skips giving the training slot back."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest

from novaft.pipeline.errors import SageMakerCapacityError
from novaft.pipeline.facts import (
    APPROVAL_REJECTED_ERROR,
    APPROVAL_TIMED_OUT_CAUSE,
    OUTPUT_APPROVER_POLICY,
    QUEUE_WAIT_EXHAUSTED_ERROR,
    QUOTA_WAIT_EXHAUSTED_ERROR,
)
from novaft.pipeline.settings import ENV_NAMES
from novaft.pipeline.steps.job_slots import SlotContention
from novaft.policy import StagePolicy
from stacks.asl import state_machine_definitions
from stacks.constructs.approver_policy import ANSWER_ATTRIBUTES, TASK_ANSWER_ACTIONS
from stacks.constructs.workflow_definition import PollingBounds
from stacks.constructs.workflow_gate import (
    HISTORY_EVENTS_PER_QUEUE_POLL,
    SLOT_CONTENTION,
    GateBounds,
)
from stacks.security import ACTIONS_WITHOUT_RESOURCE_LEVEL
from tests.infrastructure.bare_workflow import BareStack
from tests.infrastructure.conftest import REGION, SynthesizedApp

BOUNDS = GateBounds(approval_timeout_hours=1.5, queue_poll_seconds=45, max_queue_polls=7)


def _states(*, with_gate: bool) -> dict[str, dict[str, Any]]:
    polling = PollingBounds(interval=cdk.Duration.seconds(60), max_polls=3)
    return dict(BareStack().workflow_graph(polling, gate=BOUNDS if with_gate else None)["States"])


@pytest.fixture(scope="module")
def states() -> dict[str, dict[str, Any]]:
    return _states(with_gate=True)


def _targets(state: dict[str, Any]) -> list[str]:
    """Every state this one can go to: Next, Default, each Choice's and each Catch's Next."""
    found = [state[key] for key in ("Next", "Default") if key in state]
    found += [choice["Next"] for choice in state.get("Choices", [])]
    found += [catch["Next"] for catch in state.get("Catch", [])]
    return found


def test_without_the_gate_render_goes_straight_to_start_training() -> None:
    states = _states(with_gate=False)
    assert states["RenderRecipe"]["Next"] == "StartTraining"
    assert not {"AwaitApproval", "AcquireSlot", "ReleaseSlot", "ReleaseSlotOnFailure"} & set(states)


def test_a_run_that_needs_approval_waits_on_a_task_token_until_the_stage_timeout(
    states: dict[str, dict[str, Any]],
) -> None:
    assert states["RenderRecipe"]["Next"] == "NeedsApproval"
    needs = states["NeedsApproval"]
    assert needs["Choices"] == [
        {
            "And": [
                {"Variable": "$.plan.approval", "IsPresent": True},
                {"Variable": "$.plan.approval", "IsNull": False},
            ],
            "Next": "AwaitApproval",
        }
    ]
    assert needs["Default"] == "InitQueuePolls"
    wait = states["AwaitApproval"]
    assert wait["Resource"].endswith(":states:::lambda:invoke.waitForTaskToken")
    assert wait["Parameters"]["Payload"]["task_token.$"] == "$$.Task.Token"
    assert wait["TimeoutSeconds"] == 5400
    assert wait["Next"] == "InitQueuePolls"
    # The timeout catcher comes first: States.ALL would take the timeout too.
    assert [(c["ErrorEquals"], c["Next"]) for c in wait["Catch"]] == [
        (["States.Timeout"], "ApprovalTimedOut"),
        (["States.ALL"], "ReleaseSlotOnFailure"),
    ]
    timed_out = states["ApprovalTimedOut"]
    assert timed_out["Parameters"] == {"Error": APPROVAL_REJECTED_ERROR, "Cause": APPROVAL_TIMED_OUT_CAUSE}
    assert timed_out["Next"] == "ReleaseSlotOnFailure"


def test_a_run_without_a_slot_waits_in_a_bounded_loop(states: dict[str, dict[str, Any]]) -> None:
    assert states["InitQueuePolls"]["Next"] == "AcquireSlot"
    assert states["AcquireSlot"]["Next"] == "SlotAcquired"
    assert any(r["ErrorEquals"] == [SLOT_CONTENTION] for r in states["AcquireSlot"]["Retry"])
    assert SlotContention.workflow_error == SLOT_CONTENTION
    choice = states["SlotAcquired"]
    assert choice["Choices"][0] == {"Variable": "$.slot.acquired", "BooleanEquals": True, "Next": "StartTraining"}
    assert choice["Choices"][1] == {
        "Variable": "$.queue_polls.count",
        "NumericGreaterThanEquals": BOUNDS.max_queue_polls,
        "Next": QUEUE_WAIT_EXHAUSTED_ERROR,
    }
    assert choice["Default"] == "WaitForSlot"
    assert states["WaitForSlot"]["Seconds"] == 45
    assert states["WaitForSlot"]["Next"] == "CountQueuePoll"
    assert states["CountQueuePoll"]["Next"] == "AcquireSlot"
    assert states[QUEUE_WAIT_EXHAUSTED_ERROR]["Parameters"]["Error"] == QUEUE_WAIT_EXHAUSTED_ERROR
    assert states[QUEUE_WAIT_EXHAUSTED_ERROR]["Next"] == "ReleaseSlotOnFailure"


def test_capacity_errors_past_their_retries_end_as_quota_wait_exhausted(states: dict[str, dict[str, Any]]) -> None:
    start = states["StartTraining"]
    assert any(r["ErrorEquals"] == [SageMakerCapacityError.workflow_error] for r in start["Retry"])
    assert [(c["ErrorEquals"], c["Next"]) for c in start["Catch"]] == [
        ([SageMakerCapacityError.workflow_error], QUOTA_WAIT_EXHAUSTED_ERROR),
        (["States.ALL"], "ReleaseSlotOnFailure"),
    ]
    exhausted = states[QUOTA_WAIT_EXHAUSTED_ERROR]
    assert exhausted["Parameters"]["Error"] == QUOTA_WAIT_EXHAUSTED_ERROR
    assert exhausted["Next"] == "ReleaseSlotOnFailure"


def test_the_slot_is_released_before_the_result_and_before_every_failure_is_recorded(
    states: dict[str, dict[str, Any]],
) -> None:
    terminal = states["TrainingStatus"]["Choices"][0]
    assert terminal["Next"] == "ReleaseSlot"
    assert states["ReleaseSlot"]["Next"] == "RecordResult"
    assert states["ReleaseSlotOnFailure"]["Next"] == "RecordFailure"
    # A failed release never fails the run: it goes on to the record it was on its way to.
    assert [c["Next"] for c in states["ReleaseSlot"]["Catch"]] == ["RecordResult"]
    assert [c["Next"] for c in states["ReleaseSlotOnFailure"]["Catch"]] == ["RecordFailure"]
    # Nothing else leads to RecordResult or RecordFailure: no way around the release.
    into_records = {
        name: target
        for name, state in states.items()
        for target in _targets(state)
        if target in ("RecordResult", "RecordFailure")
    }
    assert into_records == {"ReleaseSlot": "RecordResult", "ReleaseSlotOnFailure": "RecordFailure"}


# --- In the synthesized pipeline stack ----------------------------------------------------------------------------


def _approver_policy(synthesized: SynthesizedApp) -> dict[str, Any]:
    [policy] = synthesized.pipeline.find_resources("AWS::IAM::ManagedPolicy").values()
    return dict(policy["Properties"]["PolicyDocument"])


def test_the_stack_outputs_the_approver_policy(synthesized: SynthesizedApp) -> None:
    [(logical_id, _)] = synthesized.pipeline.find_resources("AWS::IAM::ManagedPolicy").items()
    assert synthesized.template_dict("Pipeline")["Outputs"][OUTPUT_APPROVER_POLICY]["Value"] == {"Ref": logical_id}


def test_the_approver_may_answer_and_read_runs_and_nothing_more(synthesized: SynthesizedApp) -> None:
    statements = {statement["Sid"]: statement for statement in _approver_policy(synthesized)["Statement"]}
    assert set(statements) == {"FindThePipeline", "ReadRuns", "RecordTheAnswer", "AnswerTheWaitingTask", "RunsTableKey"}
    answer = statements["AnswerTheWaitingTask"]
    assert sorted(answer["Action"]) == sorted(TASK_ANSWER_ACTIONS)
    # No resource types exist for these two actions: Resource "*", bounded to the stack's region.
    assert answer["Resource"] == "*"
    assert answer["Condition"] == {"StringEquals": {"aws:RequestedRegion": REGION}}
    assert set(TASK_ANSWER_ACTIONS) <= ACTIONS_WITHOUT_RESOURCE_LEVEL
    record = statements["RecordTheAnswer"]
    assert record["Action"] == "dynamodb:UpdateItem"
    assert record["Condition"] == {"ForAllValues:StringEquals": {"dynamodb:Attributes": list(ANSWER_ATTRIBUTES)}}
    assert sorted(statements["ReadRuns"]["Action"]) == ["dynamodb:GetItem", "dynamodb:Query"]
    [via] = statements["RunsTableKey"]["Condition"]["StringEquals"]["kms:ViaService"]
    assert "dynamodb." in json.dumps(via)  # the data key only through DynamoDB


def test_the_functions_know_the_workflow_waits_for_approval(synthesized: SynthesizedApp) -> None:
    for function in synthesized.pipeline.find_resources("AWS::Lambda::Function").values():
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        if ENV_NAMES["stage"] in variables:
            assert variables[ENV_NAMES["approval_gate"]] == "true"


def test_the_deployed_workflow_waits_the_stage_approval_timeout(synthesized: SynthesizedApp) -> None:
    [definition] = state_machine_definitions(synthesized.template_dict("Pipeline")).values()
    states = definition["States"]
    hours = StagePolicy().approval_timeout_hours
    assert states["AwaitApproval"]["TimeoutSeconds"] == hours * 3600
    assert states["RenderRecipe"]["Next"] == "NeedsApproval"
    assert states["ReleaseSlotOnFailure"]["Next"] == "RecordFailure"


def test_the_queue_wait_is_bounded_by_time_and_by_the_execution_history() -> None:
    roomy = GateBounds.within_history(approval_timeout_hours=72, poll_seconds=300, history_events_left=10_000)
    assert (roomy.max_queue_polls, roomy.queue_wait_hours) == (288, 24)
    tight = GateBounds.within_history(
        approval_timeout_hours=72, poll_seconds=300, history_events_left=100 * HISTORY_EVENTS_PER_QUEUE_POLL + 5
    )
    assert tight.max_queue_polls == 100
    assert GateBounds(approval_timeout_hours=1.5).approval_timeout.to_seconds() == 5400
