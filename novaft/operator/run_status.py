"""Everything known about one run at one moment, and what it means for the operator (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from novaft.operator.run_view import SUCCESSFUL_RUN_STATUSES, RunView

EXECUTION_RUNNING = "RUNNING"
EXECUTION_SUCCEEDED = "SUCCEEDED"
# Succeed states that end an execution without training anything (docs/architecture.md, RouteRun).
NO_TRAINING_END_STATES = frozenset({"NotATrainingFile", "DuplicateDelivery"})


@dataclass(frozen=True)
class ExecutionView:
    execution_arn: str
    status: str  # RUNNING | SUCCEEDED | FAILED | TIMED_OUT | ABORTED | PENDING_REDRIVE
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    error: str | None = None
    cause: str | None = None

    @property
    def running(self) -> bool:
        return self.status == EXECUTION_RUNNING


@dataclass(frozen=True)
class TrainingView:
    job_name: str
    status: str  # InProgress | Completed | Failed | Stopping | Stopped
    secondary_status: str | None = None
    failure_reason: str | None = None
    billable_seconds: int | None = None

    @property
    def stoppable(self) -> bool:
        return self.status == "InProgress"


@dataclass(frozen=True)
class RunStatus:
    run: RunView
    execution: ExecutionView | None
    current_state: str | None
    training: TrainingView | None

    @property
    def finished(self) -> bool:
        """The workflow is done with the run; with no execution to ask, the run record decides."""
        if self.execution is not None:
            return not self.execution.running
        return self.run.is_final

    @property
    def succeeded(self) -> bool:
        if not self.finished:
            return False
        if self.execution is not None and self.execution.status != EXECUTION_SUCCEEDED:
            return False
        return self.run.status in SUCCESSFUL_RUN_STATUSES or self.current_state in NO_TRAINING_END_STATES

    def started_at(self) -> datetime | None:
        if self.execution is not None and self.execution.started_at is not None:
            return self.execution.started_at
        return self.run.created_at

    def ended_at(self) -> datetime | None:
        if not self.finished:
            return None
        if self.execution is not None and self.execution.stopped_at is not None:
            return self.execution.stopped_at
        return self.run.updated_at

    def elapsed_seconds(self, now: datetime) -> float | None:
        start = self.started_at()
        if start is None:
            return None
        end = self.ended_at() or now
        return max(0.0, (end - start).total_seconds())

    def change_key(self) -> tuple[str | None, ...]:
        """What a follower prints a new line for when it changes."""
        return (
            self.run.status,
            self.execution.status if self.execution else None,
            self.current_state,
            self.training.status if self.training else None,
            self.training.secondary_status if self.training else None,
        )
