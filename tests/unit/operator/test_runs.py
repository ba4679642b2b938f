"""Runs as the operator sees them: records, executions, training jobs, and what they mean together."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from novaft.operator.runs import (
    ExecutionView,
    RunStatus,
    RunView,
    TrainingView,
    current_state_from_history,
    parse_timestamp,
    plain,
)
from novaft.pipeline import facts

T0 = datetime(2026, 11, 25, 10, tzinfo=UTC)


def _status(run_status: str, execution_status: str | None, state: str | None = None) -> RunStatus:
    run = RunView(run_id="r-1", run_name="r", status=run_status, created_at=T0, updated_at=T0 + timedelta(minutes=9))
    execution = None
    if execution_status is not None:
        stopped = None if execution_status == facts.EXECUTION_RUNNING else T0 + timedelta(minutes=10)
        execution = ExecutionView("arn:aws:states:us-east-1:1:execution:sm:r", execution_status, T0, stopped)
    return RunStatus(run=run, execution=execution, current_state=state, training=None)


@pytest.mark.parametrize(
    ("run_status", "execution_status", "state", "finished", "succeeded"),
    [
        (facts.STATUS_TRAINING, facts.EXECUTION_RUNNING, "WaitForTraining", False, False),
        (facts.STATUS_COMPLETED, facts.EXECUTION_SUCCEEDED, "Succeeded", True, True),
        (facts.STATUS_REGISTERED, facts.EXECUTION_SUCCEEDED, "NotATrainingFile", True, True),
        (facts.STATUS_FAILED, facts.EXECUTION_FAILED, "RunFailed", True, False),
        (facts.STATUS_STOPPED, facts.EXECUTION_ABORTED, "WaitForTraining", True, False),
        (facts.STATUS_TRAINING, facts.EXECUTION_ABORTED, "WaitForTraining", True, False),
        (facts.STATUS_COMPLETED, None, None, True, True),
        (facts.STATUS_TRAINING, None, None, False, False),
        (facts.STATUS_DATASET_INVALID, None, None, True, False),
    ],
)
def test_finished_and_succeeded(
    run_status: str, execution_status: str | None, state: str | None, finished: bool, succeeded: bool
) -> None:
    status = _status(run_status, execution_status, state)
    assert (status.finished, status.succeeded) == (finished, succeeded)


@pytest.mark.parametrize(
    ("run_status", "execution_status", "expected_seconds"),
    [
        (facts.STATUS_TRAINING, facts.EXECUTION_RUNNING, 1800.0),
        (facts.STATUS_COMPLETED, facts.EXECUTION_SUCCEEDED, 600.0),
        (facts.STATUS_COMPLETED, None, 540.0),
    ],
)
def test_elapsed_runs_to_now_while_running_and_to_the_end_after(
    run_status: str, execution_status: str | None, expected_seconds: float
) -> None:
    status = _status(run_status, execution_status)
    assert status.elapsed_seconds(T0 + timedelta(minutes=30)) == expected_seconds


def test_change_key_moves_with_the_secondary_status() -> None:
    base = _status(facts.STATUS_TRAINING, facts.EXECUTION_RUNNING, "WaitForTraining")
    starting = RunStatus(base.run, base.execution, base.current_state, TrainingView("j", "InProgress", "Starting"))
    training = RunStatus(base.run, base.execution, base.current_state, TrainingView("j", "InProgress", "Training"))
    assert starting.change_key() != training.change_key()


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ([], None),
        ([{"type": "ExecutionStarted"}], None),
        (
            [
                {"type": "TaskSucceeded"},
                {"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "StartTraining"}},
                {"type": "PassStateEntered", "stateEnteredEventDetails": {"name": "InitPolls"}},
            ],
            "StartTraining",
        ),
        ([{"type": "FailStateEntered", "stateEnteredEventDetails": {"name": "RunFailed"}}], "RunFailed"),
        # Oldest first despite reverseOrder (an endpoint that ignores it): the highest event id still wins.
        (
            [
                {"id": 2, "type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "RegisterRun"}},
                {"id": 9, "type": "SucceedStateEntered", "stateEnteredEventDetails": {"name": "Succeeded"}},
                {"id": 5, "type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "ValidateDataset"}},
            ],
            "Succeeded",
        ),
    ],
)
def test_current_state_is_the_newest_state_entered(events: list[dict[str, object]], expected: str | None) -> None:
    assert current_state_from_history(events) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("3"), 3),
        (Decimal("2.5"), 2.5),
        ({"loss": Decimal("0.25"), "steps": [Decimal("1")]}, {"loss": 0.25, "steps": [1]}),
        ("text", "text"),
    ],
)
def test_plain_turns_dynamodb_numbers_into_python_numbers(value: Any, expected: Any) -> None:
    assert plain(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-25T10:00:00Z", datetime(2026, 11, 25, 10, tzinfo=UTC)),
        ("2026-11-25T10:00:00", datetime(2026, 11, 25, 10, tzinfo=UTC)),
        (Decimal("0"), datetime(1970, 1, 1, tzinfo=UTC)),
        ("not a time", None),
        (None, None),
    ],
)
def test_timestamps_parse_or_read_as_unknown(value: Any, expected: datetime | None) -> None:
    assert parse_timestamp(value) == expected


def test_item_with_only_a_run_id_gets_defaults() -> None:
    run = RunView.from_item({"run_id": "a-1"})
    assert (run.run_name, run.status, run.execution_arn, run.is_final) == ("a-1", "Unknown", None, False)


def test_item_fields_are_read() -> None:
    run = RunView.from_item(
        {
            "run_id": "a-1",
            "run_name": "a",
            "status": facts.STATUS_STOPPED,
            "billable_seconds": Decimal("61"),
            "failure_error": "",
        }
    )
    assert (run.status, run.billable_seconds, run.failure_error, run.is_final) == (facts.STATUS_STOPPED, 61, None, True)
