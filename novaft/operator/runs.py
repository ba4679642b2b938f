"""Runs as the operator sees them (pure): the run record, its execution and training job, and run lookups.

Lookups read the runs table through ``RunItems`` (``novaft.aws.runs_table.RunsTable`` implements it), so they are
tested with an in-memory table.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from novaft.operator.errors import RunNotFound
from novaft.pipeline.facts import (
    EVALUATION_ROUND_FIELD,
    EVALUATION_STATUS_FIELD,
    EXECUTION_RUNNING,
    EXECUTION_SUCCEEDED,
    FINAL_RUN_STATUSES,
    LIVE_DEPLOYMENT_STATUSES,
    NO_TRAINING_END_STATES,
    STATUS_QUEUED,
    SUCCESSFUL_RUN_STATUSES,
    TRAINING_JOB_IN_PROGRESS,
)

_PAGE_SIZE = 100


def plain(value: Any) -> Any:
    """DynamoDB numbers arrive as Decimal; turn them (also nested) into int or float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain(item) for item in value]
    return value


def parse_timestamp(value: Any) -> datetime | None:
    """Timestamps are ISO 8601 strings (or epoch seconds); anything else reads as unknown rather than failing."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), tz=UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _text(item: Mapping[str, Any], key: str) -> str | None:
    value = item.get(key)
    return None if value in (None, "") else str(value)


@dataclass(frozen=True)
class RunView:
    run_id: str
    run_name: str
    status: str
    created_at: datetime | None = None
    updated_at: datetime | None = None
    execution_arn: str | None = None
    # RegisterRun reserves the job's (derived) name up front; only a recorded ARN says the job was really created.
    reserved_job_name: str | None = None
    training_job_arn: str | None = None
    failure_error: str | None = None
    failure_cause: str | None = None
    billable_seconds: int | None = None
    report_s3_uri: str | None = None
    run_json_s3_uri: str | None = None
    checkpoint_s3_uri: str | None = None
    final_metrics: Mapping[str, Any] = field(default_factory=dict)
    dataset: Mapping[str, Any] = field(default_factory=dict)
    # 1, 2, ... per run name; None for records from before attempts were counted.
    attempt: int | None = None
    # What the run has in Amazon Bedrock (novaft.pipeline.steps.deploy.deployment_fields); empty when nothing.
    deployment: Mapping[str, Any] = field(default_factory=dict)
    # The evaluation's status, gate verdict, metrics ({name: {fine_tuned, base, delta}}) and failure; empty when none.
    evaluation: Mapping[str, Any] = field(default_factory=dict)
    # While Queued: the place the run had at its last look for a training slot (1 = next; docs/policy.md, "Queue").
    queue_place: int | None = None

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> RunView:
        data = plain(item)
        billable = data.get("billable_seconds")
        return cls(
            run_id=str(data["run_id"]),
            run_name=str(data.get("run_name") or data["run_id"]),
            status=str(data.get("status") or "Unknown"),
            created_at=parse_timestamp(data.get("created_at")),
            updated_at=parse_timestamp(data.get("updated_at")),
            execution_arn=_text(data, "execution_arn"),
            reserved_job_name=_text(data, "training_job_name"),
            training_job_arn=_text(data, "training_job_arn"),
            failure_error=_text(data, "failure_error"),
            failure_cause=_text(data, "failure_cause"),
            billable_seconds=int(billable) if isinstance(billable, int | float) else None,
            report_s3_uri=_text(data, "report_s3_uri"),
            run_json_s3_uri=_text(data, "run_json_s3_uri"),
            checkpoint_s3_uri=_text(data, "checkpoint_s3_uri"),
            final_metrics=data.get("final_metrics") or {},
            dataset=data.get("dataset") or {},
            attempt=int(data["attempt"]) if isinstance(data.get("attempt"), int | float) else None,
            deployment=data.get("deployment") or {},
            evaluation=_evaluation_of(data),
            queue_place=int(data["queue_place"]) if isinstance(data.get("queue_place"), int | float) else None,
        )

    @property
    def status_text(self) -> str:
        """The status, with the run's place in the queue while it waits for a training slot."""
        if self.status == STATUS_QUEUED and self.queue_place is not None:
            return f"{self.status} (place {self.queue_place})"
        return self.status

    @property
    def training_job_name(self) -> str | None:
        """The training job's name once one was started; None for a run that never started one."""
        return self.reserved_job_name if self.training_job_arn else None

    @property
    def live_deployment(self) -> bool:
        """The run has a Bedrock deployment that exists (and may bill) until someone runs ``novaft undeploy``."""
        return self.deployment.get("status") in LIVE_DEPLOYMENT_STATUSES and bool(self.deployment.get("deployment_arn"))

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_RUN_STATUSES


def _evaluation_of(data: Mapping[str, Any]) -> dict[str, Any]:
    if not data.get(EVALUATION_STATUS_FIELD):
        return {}
    summary = data.get("evaluation") or {}
    return {
        "status": data[EVALUATION_STATUS_FIELD],
        "gate": data.get("evaluation_gate"),
        "metrics": summary.get("metrics") or {} if isinstance(summary, Mapping) else {},
        "failure": data.get("evaluation_failure"),
        # The name of the execution that planned the jobs: the run's own, or a `novaft evaluate` one.
        "round": data.get(EVALUATION_ROUND_FIELD),
    }


@dataclass(frozen=True)
class ExecutionView:
    execution_arn: str
    status: str  # RUNNING | SUCCEEDED | FAILED | TIMED_OUT | ABORTED | PENDING_REDRIVE
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    error: str | None = None
    cause: str | None = None

    @classmethod
    def from_description(cls, execution_arn: str, described: Mapping[str, Any]) -> ExecutionView:
        """From DescribeExecution's answer."""
        return cls(
            execution_arn=execution_arn,
            status=str(described["status"]),
            started_at=described.get("startDate"),
            stopped_at=described.get("stopDate"),
            error=described.get("error"),
            cause=described.get("cause"),
        )

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

    @classmethod
    def from_description(cls, job_name: str, described: Mapping[str, Any]) -> TrainingView:
        """From DescribeTrainingJob's answer."""
        billable = described.get("BillableTimeInSeconds")
        return cls(
            job_name=job_name,
            status=str(described["TrainingJobStatus"]),
            secondary_status=described.get("SecondaryStatus"),
            failure_reason=described.get("FailureReason"),
            billable_seconds=int(billable) if billable is not None else None,
        )

    @property
    def stoppable(self) -> bool:
        return self.status == TRAINING_JOB_IN_PROGRESS


def _state_entered(event: Mapping[str, Any]) -> str | None:
    if not str(event.get("type", "")).endswith("StateEntered"):
        return None
    name = (event.get("stateEnteredEventDetails") or {}).get("name")
    return str(name) if name else None


def current_state_from_history(events_newest_first: Iterable[Mapping[str, Any]]) -> str | None:
    """The name of the state entered last, or None before any state was entered.

    Events are asked for newest first (``get_execution_history(reverseOrder=True)``); after the execution ends this
    is the state it ended in (a Succeed/Fail state or the one that failed). When every event carries its ``id``
    (ascending in time), the highest id wins whatever the order: an endpoint that ignores ``reverseOrder`` (the
    local emulation does) would otherwise report the first state of the run as its current one.
    """
    entered = [(event.get("id"), name) for event in events_newest_first if (name := _state_entered(event))]
    if not entered:
        return None
    ids = [event_id for event_id, _ in entered if isinstance(event_id, int)]
    if len(ids) == len(entered):
        return entered[ids.index(max(ids))][1]
    return entered[0][1]


@dataclass(frozen=True)
class RunStatus:
    """Everything known about one run at one moment, and what it means for the operator."""

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


class RunItems(Protocol):
    """The runs table's reads the lookups need."""

    def find(self, run_id: str) -> dict[str, Any] | None: ...

    def newest_first(self, *, run_name: str | None = None, page_size: int) -> Iterator[dict[str, Any]]: ...


class RunLookup:
    """One run by id, the latest run of a name, the most recent runs."""

    def __init__(self, items: RunItems, *, page_size: int = _PAGE_SIZE) -> None:
        self._items = items
        self._page_size = page_size

    def get(self, run_id: str) -> RunView | None:
        item = self._items.find(run_id)
        return RunView.from_item(item) if item else None

    def _complete(self, item: Mapping[str, Any]) -> RunView:
        # An index that projects only keys would leave out the status; read the item itself then.
        if "status" not in item:
            full = self.get(str(item["run_id"]))
            if full is not None:
                return full
        return RunView.from_item(item)

    def latest_by_name(self, run_name: str) -> RunView | None:
        for item in self._items.newest_first(run_name=run_name, page_size=self._page_size):
            return self._complete(item)
        return None

    def recent(self, limit: int) -> list[RunView]:
        runs: list[RunView] = []
        for item in self._items.newest_first(page_size=min(limit, self._page_size)):
            runs.append(self._complete(item))
            if len(runs) >= limit:
                break
        return runs

    def resolve(self, run_ref: str) -> RunView:
        """A run id, or a run name (its latest run); ``RunNotFound`` names what was looked for."""
        run = self.get(run_ref) or self.latest_by_name(run_ref)
        if run is None:
            raise RunNotFound(f"no run with id or name {run_ref!r}; `novaft runs` lists recent runs")
        return run
