"""`novaft approve` / `novaft reject` as a decision: answer the waiting task, then record who answered and when."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from novaft.operator.approval import (
    MAX_REASON_CHARS,
    ApprovalNotPending,
    RejectionReasonMissing,
    answer_approval,
)
from novaft.operator.runs import RunView
from novaft.operator.text import format_runs_table
from novaft.pipeline.facts import APPROVAL_REJECTED_ERROR, STATUS_AWAITING_APPROVAL, STATUS_QUEUED, STATUS_REJECTED

CALLER = "arn:aws:sts::123456789012:assumed-role/platform/ana"
NOW = "2026-01-02T03:04:05Z"


class TokenExpired(Exception):
    pass


@dataclass
class FakeTasks:
    sent: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    expired: bool = False

    def send_task_success(self, task_token: str, *, output: dict[str, Any]) -> None:
        if self.expired:
            raise TokenExpired(task_token)
        self.sent.append(("success", task_token, output))

    def send_task_failure(self, task_token: str, *, error: str, cause: str) -> None:
        if self.expired:
            raise TokenExpired(task_token)
        self.sent.append(("failure", task_token, {"error": error, "cause": cause}))


@dataclass
class FakeUpdates:
    updates: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def update(self, run_id: str, fields: Mapping[str, Any]) -> None:
        self.updates.append((run_id, dict(fields)))


def _waiting(**fields: Any) -> dict[str, Any]:
    return {"run_id": "big-1", "status": STATUS_AWAITING_APPROVAL, "approval_task_token": "tok", **fields}


def test_approve_sends_the_token_back_and_records_who_and_when() -> None:
    tasks, runs = FakeTasks(), FakeUpdates()

    answer = answer_approval(_waiting(), approve=True, reason=None, caller_arn=CALLER, now=NOW, tasks=tasks, runs=runs)

    assert tasks.sent == [("success", "tok", {"approved_by": CALLER, "approved_at": NOW})]
    assert runs.updates == [
        ("big-1", {"approved_by": CALLER, "approved_at": NOW, "approval_task_token": None, "updated_at": NOW})
    ]
    assert answer.describe() == f"run big-1 approved by {CALLER} at {NOW}"


def test_reject_fails_the_token_with_the_reason_and_records_it() -> None:
    tasks, runs = FakeTasks(), FakeUpdates()

    answer = answer_approval(
        _waiting(), approve=False, reason="  too big  ", caller_arn=CALLER, now=NOW, tasks=tasks, runs=runs
    )

    assert tasks.sent == [
        ("failure", "tok", {"error": APPROVAL_REJECTED_ERROR, "cause": f"rejected by {CALLER}: too big"})
    ]
    [(_, fields)] = runs.updates
    assert fields["rejected_by"] == CALLER and fields["rejected_at"] == NOW and fields["rejection_reason"] == "too big"
    assert fields["approval_task_token"] is None
    assert "rejected (too big)" in answer.describe()


def test_a_long_reason_is_cut() -> None:
    tasks = FakeTasks()
    answer_approval(
        _waiting(), approve=False, reason="x" * 5000, caller_arn=CALLER, now=NOW, tasks=tasks, runs=FakeUpdates()
    )
    assert len(tasks.sent[0][2]["cause"]) == len(f"rejected by {CALLER}: ") + MAX_REASON_CHARS


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_reject_without_a_reason_is_refused_before_anything_is_sent(reason: str | None) -> None:
    tasks = FakeTasks()
    with pytest.raises(RejectionReasonMissing, match="--reason"):
        answer_approval(
            _waiting(), approve=False, reason=reason, caller_arn=CALLER, now=NOW, tasks=tasks, runs=FakeUpdates()
        )
    assert tasks.sent == []


@pytest.mark.parametrize(
    "item",
    [
        _waiting(status=STATUS_QUEUED),
        _waiting(status=STATUS_REJECTED),
        _waiting(approval_task_token=None),  # answered already
    ],
)
def test_only_a_waiting_run_can_be_answered(item: dict[str, Any]) -> None:
    tasks, runs = FakeTasks(), FakeUpdates()
    with pytest.raises(ApprovalNotPending, match=STATUS_AWAITING_APPROVAL):
        answer_approval(item, approve=True, reason=None, caller_arn=CALLER, now=NOW, tasks=tasks, runs=runs)
    assert tasks.sent == [] and runs.updates == []


def test_an_answer_the_workflow_no_longer_waits_for_records_nothing() -> None:
    runs = FakeUpdates()
    with pytest.raises(TokenExpired):
        answer_approval(
            _waiting(), approve=True, reason=None, caller_arn=CALLER, now=NOW, tasks=FakeTasks(expired=True), runs=runs
        )
    assert runs.updates == []


# --- novaft runs: a queued run shows its place ------------------------------------------------------------------


def test_the_runs_table_shows_a_queued_run_with_its_place() -> None:
    queued = RunView.from_item({"run_id": "big-2", "status": STATUS_QUEUED, "queue_place": 2})
    waiting = RunView.from_item({"run_id": "big-3", "status": STATUS_AWAITING_APPROVAL, "queue_place": 1})

    lines = format_runs_table([queued, waiting], now=datetime(2026, 1, 2, tzinfo=UTC)).splitlines()

    assert f"{STATUS_QUEUED} (place 2)" in lines[1]
    assert STATUS_AWAITING_APPROVAL in lines[2] and "place" not in lines[2]  # a place only while Queued
