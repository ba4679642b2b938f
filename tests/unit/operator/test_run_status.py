from datetime import UTC, datetime, timedelta

import pytest

from novaft.operator.execution_history import current_state_from_history
from novaft.operator.run_status import ExecutionView, RunStatus, TrainingView
from novaft.operator.run_view import RunView

T0 = datetime(2026, 11, 25, 10, tzinfo=UTC)


def _status(run_status: str, execution_status: str | None, state: str | None = None) -> RunStatus:
    run = RunView(run_id="r-1", run_name="r", status=run_status, created_at=T0, updated_at=T0 + timedelta(minutes=9))
    execution = None
    if execution_status is not None:
        stopped = None if execution_status == "RUNNING" else T0 + timedelta(minutes=10)
        execution = ExecutionView("arn:aws:states:us-east-1:1:execution:sm:r", execution_status, T0, stopped)
    return RunStatus(run=run, execution=execution, current_state=state, training=None)


@pytest.mark.parametrize(
    ("run_status", "execution_status", "state", "finished", "succeeded"),
    [
        ("Training", "RUNNING", "WaitForTraining", False, False),
        ("Completed", "SUCCEEDED", "Succeeded", True, True),
        ("Registered", "SUCCEEDED", "NotATrainingFile", True, True),
        ("Failed", "FAILED", "RunFailed", True, False),
        ("Stopped", "ABORTED", "WaitForTraining", True, False),
        ("Training", "ABORTED", "WaitForTraining", True, False),
        ("Completed", None, None, True, True),
        ("Training", None, None, False, False),
        ("DatasetInvalid", None, None, True, False),
    ],
)
def test_finished_and_succeeded(
    run_status: str, execution_status: str | None, state: str | None, finished: bool, succeeded: bool
) -> None:
    status = _status(run_status, execution_status, state)
    assert (status.finished, status.succeeded) == (finished, succeeded)


@pytest.mark.parametrize(
    ("run_status", "execution_status", "expected_seconds"),
    [("Training", "RUNNING", 1800.0), ("Completed", "SUCCEEDED", 600.0), ("Completed", None, 540.0)],
)
def test_elapsed_runs_to_now_while_running_and_to_the_end_after(
    run_status: str, execution_status: str | None, expected_seconds: float
) -> None:
    status = _status(run_status, execution_status)
    assert status.elapsed_seconds(T0 + timedelta(minutes=30)) == expected_seconds


def test_change_key_moves_with_the_secondary_status() -> None:
    base = _status("Training", "RUNNING", "WaitForTraining")
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
