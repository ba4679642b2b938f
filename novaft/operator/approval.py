"""`novaft approve` / `novaft reject`: answer a run that waits for approval (pure; docs/policy.md, "Approval").

The run's record keeps the Step Functions task token the workflow waits on. An approval sends it back
(SendTaskSuccess) and the run goes on to the queue and training; a rejection fails it (SendTaskFailure, error
``Rejected``) and the run is recorded ``Rejected`` without a job. Who answered (the caller's ARN) and when is recorded
on the run either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from novaft.errors import NovaftError, UsageError
from novaft.pipeline.facts import APPROVAL_REJECTED_ERROR, STATUS_AWAITING_APPROVAL

# SendTaskFailure's cause is shown in the console and recorded as the run's failure cause: keep it readable.
MAX_REASON_CHARS = 1000


class ApprovalNotPending(NovaftError):
    """The run does not wait for approval (any more): it was answered, timed out, or never needed approval."""


class RejectionReasonMissing(UsageError):
    """`novaft reject` needs a reason: it is recorded and sent to whoever follows the run."""


class TaskAnswers(Protocol):
    def send_task_success(self, task_token: str, *, output: dict[str, Any]) -> None: ...

    def send_task_failure(self, task_token: str, *, error: str, cause: str) -> None: ...


class RunUpdates(Protocol):
    def update(self, run_id: str, fields: Mapping[str, Any]) -> None: ...


@dataclass(frozen=True)
class ApprovalAnswer:
    run_id: str
    approved: bool
    answered_by: str
    answered_at: str
    reason: str | None = None

    def describe(self) -> str:
        verdict = "approved" if self.approved else f"rejected ({self.reason})"
        return f"run {self.run_id} {verdict} by {self.answered_by} at {self.answered_at}"


def answer_approval(
    item: Mapping[str, Any],
    *,
    approve: bool,
    reason: str | None,
    caller_arn: str,
    now: str,
    tasks: TaskAnswers,
    runs: RunUpdates,
) -> ApprovalAnswer:
    """Send the answer for the run ``item`` (its runs-table record), then record who answered and when.

    The answer goes first: when the workflow no longer waits (the token timed out or was answered), the adapter
    raises and nothing is recorded that did not happen.
    """
    run_id = str(item.get("run_id", ""))
    status = str(item.get("status", ""))
    token = item.get("approval_task_token")
    if status != STATUS_AWAITING_APPROVAL or not token:
        raise ApprovalNotPending(
            f"run {run_id} has status {status or 'unknown'!r}; only a run with status {STATUS_AWAITING_APPROVAL!r} "
            "can be approved or rejected (`novaft status RUN` shows why it waits or how it ended)"
        )
    reason_text = (reason or "").strip()
    if not approve and not reason_text:
        raise RejectionReasonMissing("novaft reject: --reason TEXT must say why (it is recorded with the run)")
    reason_text = reason_text[:MAX_REASON_CHARS]
    if approve:
        tasks.send_task_success(str(token), output={"approved_by": caller_arn, "approved_at": now})
        fields: dict[str, Any] = {"approved_by": caller_arn, "approved_at": now}
    else:
        tasks.send_task_failure(
            str(token), error=APPROVAL_REJECTED_ERROR, cause=f"rejected by {caller_arn}: {reason_text}"
        )
        fields = {"rejected_by": caller_arn, "rejected_at": now, "rejection_reason": reason_text}
    # The token is spent: nobody can answer twice.
    runs.update(run_id, {**fields, "approval_task_token": None, "updated_at": now})
    return ApprovalAnswer(
        run_id=run_id,
        approved=approve,
        answered_by=caller_arn,
        answered_at=now,
        reason=None if approve else reason_text,
    )
