"""AwaitApproval: the run keeps its task token, waits as AwaitingApproval, and the topic is told what is asked."""

from __future__ import annotations

from dataclasses import replace

from novaft.pipeline.contracts import WorkflowFailure
from novaft.pipeline.facts import (
    APPROVAL_REJECTED_ERROR,
    APPROVAL_TIMED_OUT_CAUSE,
    FINAL_RUN_STATUSES,
    STATUS_AWAITING_APPROVAL,
    STATUS_REJECTED,
    STATUS_VALIDATING,
)
from novaft.pipeline.records import summarize_failure
from novaft.pipeline.steps.approval import ApprovalAsk, AwaitApprovalInput, approval_ask, await_approval
from novaft.policy import PolicyDecision, StagePolicy
from novaft.recipes import JobSpec
from tests.unit.pipeline import fakes
from tests.unit.pipeline.fakes import FakeNotifier, FakeRunStore, run_context
from tests.unit.pipeline.steps.test_render_policy import _render as render
from tests.unit.pipeline.steps.test_render_policy import _runs as runs_to_render
from tests.unit.policy.run_choices import run_choices

RUN = run_context()
ASK = ApprovalAsk(
    **run_choices(model="lite", instance_count=4, max_runtime_hours=24),
    estimated_cost_usd=1234.5,
    cost_ceiling_usd=5678.0,
    reasons=("estimated cost $1,234.50 is above approval_above_usd $500.00",),
)


def _runs() -> FakeRunStore:
    return FakeRunStore({RUN.run_id: {"run_id": RUN.run_id, "run_name": RUN.run_name, "status": STATUS_VALIDATING}})


def _notification(ask: ApprovalAsk, *, task_token: str) -> tuple[str, str]:
    """The one (subject, message) a run waiting with ``ask`` publishes under the default stage settings."""
    notifier = FakeNotifier()
    await_approval(
        AwaitApprovalInput(run=RUN, ask=ask, task_token=task_token),
        settings=fakes.settings(),
        runs=_runs(),
        notifier=notifier,
        now=fakes.NOW,
    )
    [published] = notifier.published
    return published


def test_the_run_keeps_the_token_and_waits_until_the_stage_deadline() -> None:
    runs, notifier = _runs(), FakeNotifier()

    requested = await_approval(
        AwaitApprovalInput(run=RUN, ask=ASK, task_token="token-1"),
        settings=fakes.settings(policy=StagePolicy(max_run_usd=None, approval_timeout_hours=12)),
        runs=runs,
        notifier=notifier,
        now=fakes.NOW,
    )

    item = runs.items[RUN.run_id]
    assert item["status"] == STATUS_AWAITING_APPROVAL
    assert item["approval_task_token"] == "token-1"
    assert item["approval_reasons"] == list(ASK.reasons)
    assert item["approval_requested_at"] == fakes.NOW
    assert requested.deadline == item["approval_deadline"] == "2026-01-02T15:04:05Z"


def test_the_notification_says_what_is_asked_and_how_to_answer() -> None:
    subject, message = _notification(ASK, task_token="token-1")

    assert subject == f"novaft dev: run demo {STATUS_AWAITING_APPROVAL}"
    for expected in (
        "Model: lite (sft, lora)",
        "Instances: 4 x ml.p5.48xlarge",
        "Maximum runtime: 24 h",
        "Estimated cost: $1,234.50",
        "$5,678.00",
        ASK.reasons[0],
        f"novaft approve {RUN.run_id} --stage dev",
        f"novaft reject {RUN.run_id} --stage dev --reason TEXT",
        "2026-01-05T03:04:05Z",  # the default 72 hours
    ):
        assert expected in message
    assert "token-1" not in message  # the token answers the approval: it goes to the runs table only


def test_an_unknown_price_is_said_so() -> None:
    ask = replace(ASK, estimated_cost_usd=None, cost_ceiling_usd=None)

    _subject, message = _notification(ask, task_token="t")

    assert "Estimated cost: unknown (no price for this region)" in message


def test_the_ask_reads_instances_and_runtime_from_the_request() -> None:
    decision = PolicyDecision(violations=(), approval_reasons=("over budget",), cost_ceiling_usd=99.5)
    request = {
        "ResourceConfig": {"InstanceType": "ml.g5.12xlarge", "InstanceCount": 2},
        "StoppingCondition": {"MaxRuntimeInSeconds": 5400},
    }
    spec = JobSpec(model="micro", method="sft", peft="lora")

    ask = approval_ask(spec, request=request, estimate={"cost": 12}, decision=decision)

    assert (ask.model, ask.method, ask.peft) == (spec.model, spec.method, spec.peft)
    assert (ask.instance_type, ask.instance_count, ask.max_runtime_hours) == ("ml.g5.12xlarge", 2, 1.5)
    assert (ask.estimated_cost_usd, ask.cost_ceiling_usd, ask.reasons) == (12.0, 99.5, ("over budget",))


def test_a_rejection_and_an_unanswered_approval_are_recorded_rejected_and_final() -> None:
    for cause in ("rejected by arn:aws:iam::123456789012:user/ana: too big", APPROVAL_TIMED_OUT_CAUSE):
        summary = summarize_failure(WorkflowFailure.model_validate({"Error": APPROVAL_REJECTED_ERROR, "Cause": cause}))
        assert (summary.status, summary.message) == (STATUS_REJECTED, cause)
    assert STATUS_REJECTED in FINAL_RUN_STATUSES


# --- RenderRecipe with the workflow's approval gate: the run waits instead of being refused --------------------------


def test_with_the_gate_a_run_that_needs_approval_is_planned_with_the_ask() -> None:
    runs = runs_to_render()
    plan = render({}, runs, policy=StagePolicy(approval_above_usd=0.0), approval_gate=True)

    ask = ApprovalAsk.from_dict(plan.approval)
    assert (ask.model, ask.method, ask.peft) == ("micro", "sft", "lora")
    assert ask.instance_type == plan.request["ResourceConfig"]["InstanceType"]
    assert ask.instance_count == plan.request["ResourceConfig"]["InstanceCount"]
    assert ask.estimated_cost_usd == plan.estimate["cost"] and ask.cost_ceiling_usd is not None
    assert any("approval_above_usd $0.00" in reason for reason in ask.reasons)
    assert runs.items[RUN.run_id]["status"] == STATUS_VALIDATING


def test_with_the_gate_a_run_that_needs_no_approval_has_no_ask() -> None:
    assert render({}, approval_gate=True).approval is None
