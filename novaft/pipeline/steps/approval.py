"""AwaitApproval: a run the stage policy allows only with approval waits for someone's answer (docs/policy.md).

The workflow invokes this step with a Step Functions task token and waits (``waitForTaskToken``) until
``novaft approve RUN`` sends the token back (SendTaskSuccess) or ``novaft reject RUN --reason TEXT`` fails it
(SendTaskFailure, error ``Rejected``). The step keeps the token with the run, records ``AwaitingApproval`` and tells
the stage's topic what is asked and how to answer. The task's timeout is the stage's ``approval_timeout_hours``; the
workflow turns a timeout into the error ``Rejected`` with the cause "approval timed out", and RecordFailure records
either as status ``Rejected`` (novaft.pipeline.records).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, TypeAdapter
from pydantic.dataclasses import dataclass as pydantic_dataclass

from novaft.pipeline.contracts import RunContext
from novaft.pipeline.facts import (
    STATUS_AWAITING_APPROVAL,
    STATUS_REJECTED,
)
from novaft.pipeline.records import SNS_SUBJECT_MAX_CHARS, printable_run_name
from novaft.pipeline.settings import Settings
from novaft.pipeline.steps.ports import Notifier, RunStore
from novaft.policy import PolicyDecision, RunChoices

if TYPE_CHECKING:
    from novaft.recipes.job_spec import JobSpec

_SECONDS_PER_HOUR = 3600


@pydantic_dataclass(frozen=True, config=ConfigDict(extra="ignore"))
class ApprovalAsk(RunChoices):
    """What the approver is asked to allow: the run's choices, its size and its cost, and why approval is needed.
    Validated like the workflow's other payloads when it comes back in AwaitApproval's input."""

    estimated_cost_usd: float | None = None
    cost_ceiling_usd: float | None = None
    reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """As the workflow state and the run record keep it (JSON types)."""
        document: dict[str, Any] = _ask_document().dump_python(self, mode="json")
        return document

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> ApprovalAsk:
        ask: ApprovalAsk = _ask_document().validate_python(document)
        return ask


@cache
def _ask_document() -> TypeAdapter[ApprovalAsk]:
    # Built on first use: only a run that needs approval pays for the schema (handler imports stay cheap).
    return TypeAdapter(ApprovalAsk)


class AwaitApprovalInput(BaseModel):
    """``{"run": $.run, "ask": $.plan.approval, "task_token": $$.Task.Token}``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    run: RunContext
    ask: ApprovalAsk
    task_token: str


class ApprovalRequested(BaseModel):
    model_config = ConfigDict(frozen=True)

    run_id: str
    deadline: str


def approval_ask(
    spec: JobSpec,
    *,
    request: dict[str, Any],
    estimate: dict[str, Any],
    decision: PolicyDecision,
) -> ApprovalAsk:
    """The ask of one rendered run: the model, method and adapter the job spec asks for, the instances and runtime
    the CreateTrainingJob request holds, the estimate's cost and the policy decision's ceiling and reasons."""
    resources = request.get("ResourceConfig") or {}
    stopping = request.get("StoppingCondition") or {}
    cost = estimate.get("cost")
    return ApprovalAsk(
        model=spec.model,
        method=spec.method,
        peft=spec.peft,
        instance_type=str(resources.get("InstanceType", "")),
        instance_count=int(resources.get("InstanceCount", 0)),
        max_runtime_hours=round(int(stopping.get("MaxRuntimeInSeconds", 0)) / _SECONDS_PER_HOUR, 2),
        estimated_cost_usd=float(cost) if cost is not None else None,
        cost_ceiling_usd=decision.cost_ceiling_usd,
        reasons=decision.approval_reasons,
    )


def _usd(amount: float | None) -> str:
    return "unknown (no price for this region)" if amount is None else f"${amount:,.2f}"


def _deadline(now: str, hours: float) -> str:
    start = datetime.fromisoformat(now.replace("Z", "+00:00"))
    return (start + timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


def await_approval(
    payload: AwaitApprovalInput, *, settings: Settings, runs: RunStore, notifier: Notifier, now: str
) -> ApprovalRequested:
    """Keep the task token with the run, record ``AwaitingApproval`` and ask the topic's subscribers."""
    run, ask = payload.run, payload.ask
    hours = settings.policy.approval_timeout_hours
    deadline = _deadline(now, hours)
    runs.update(
        run.run_id,
        {
            "status": STATUS_AWAITING_APPROVAL,
            "approval_task_token": payload.task_token,
            "approval_reasons": list(ask.reasons),
            "approval_requested_at": now,
            "approval_deadline": deadline,
            "approval_ask": ask.to_dict(),
            "updated_at": now,
        },
    )
    stage_flag = f" --stage {settings.stage}"
    details = {
        "Model": f"{ask.model} ({ask.method}, {ask.peft})",
        "Instances": f"{ask.instance_count} x {ask.instance_type}",
        "Maximum runtime": f"{ask.max_runtime_hours:g} h",
        "Estimated cost": _usd(ask.estimated_cost_usd),
        "Cost ceiling (instances x maximum runtime x price)": _usd(ask.cost_ceiling_usd),
        "Approve": f"novaft approve {run.run_id}{stage_flag}",
        "Reject": f"novaft reject {run.run_id}{stage_flag} --reason TEXT",
        "Answer by": f"{deadline} (without an answer in {hours:g} h the run is {STATUS_REJECTED}, no job starts)",
    }
    run_name = printable_run_name(run.run_name) or run.run_id
    subject = f"novaft {settings.stage}: run {run_name} {STATUS_AWAITING_APPROVAL}"
    if len(subject) > SNS_SUBJECT_MAX_CHARS:
        subject = subject[: SNS_SUBJECT_MAX_CHARS - 3] + "..."
    lines = [
        f"Run {run.run_id} ({run_name}) waits for approval before it starts a training job.",
        "",
        "The stage policy lets it start only with approval: " + "; ".join(ask.reasons) + ".",
        "",
        *(f"{label}: {value}" for label, value in details.items()),
    ]
    notifier.publish(subject, "\n".join(lines) + "\n")
    return ApprovalRequested(run_id=run.run_id, deadline=deadline)
