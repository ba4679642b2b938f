from dataclasses import replace

import pytest

from novaft.operator.errors import WaitTimedOut
from novaft.operator.follow import follow_run, wait_for
from novaft.operator.runs import ExecutionView, RunStatus, RunView, TrainingView
from novaft.pipeline import facts

ARN = "arn:aws:states:us-east-1:1:execution:sm:r-1"


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def _reading(run_status: str, execution: str, secondary: str | None) -> RunStatus:
    training = TrainingView("j", "InProgress", secondary) if secondary else None
    return RunStatus(RunView("r-1", "r", run_status), ExecutionView(ARN, execution), "S", training)


def test_follow_reports_each_change_once_and_returns_the_final_reading() -> None:
    readings = [
        _reading(facts.STATUS_VALIDATING, facts.EXECUTION_RUNNING, None),
        _reading(facts.STATUS_VALIDATING, facts.EXECUTION_RUNNING, None),
        _reading(facts.STATUS_TRAINING, facts.EXECUTION_RUNNING, "Starting"),
        _reading(facts.STATUS_TRAINING, facts.EXECUTION_RUNNING, "Training"),
        _reading(facts.STATUS_TRAINING, facts.EXECUTION_RUNNING, "Training"),
        _reading(facts.STATUS_COMPLETED, facts.EXECUTION_SUCCEEDED, "Completed"),
    ]
    seen: list[RunStatus] = []
    clock = FakeClock()
    final = follow_run(iter(readings).__next__, seen.append, interval=5, timeout=None, sleep=clock.sleep, clock=clock)
    assert final.run.status == facts.STATUS_COMPLETED
    assert [status.change_key()[0] for status in seen] == [
        facts.STATUS_VALIDATING,
        facts.STATUS_TRAINING,
        facts.STATUS_TRAINING,
        facts.STATUS_COMPLETED,
    ]
    assert clock.sleeps == [5] * 5


def test_follow_times_out_with_a_hint_to_keep_following() -> None:
    clock = FakeClock()
    with pytest.raises(WaitTimedOut, match="novaft status r-1 --wait"):
        follow_run(
            lambda: _reading(facts.STATUS_TRAINING, facts.EXECUTION_RUNNING, "Training"),
            lambda _: None,
            interval=10,
            timeout=30,
            sleep=clock.sleep,
            clock=clock,
        )
    assert clock.now == 30


def test_wait_for_returns_the_first_found_value() -> None:
    answers = iter([None, None, "run-1"])
    clock = FakeClock()
    assert wait_for(answers.__next__, what="x", interval=2, timeout=60, sleep=clock.sleep, clock=clock) == "run-1"
    assert clock.sleeps == [2, 2]


def test_wait_for_names_what_did_not_happen() -> None:
    clock = FakeClock()
    with pytest.raises(WaitTimedOut, match="the run appearing did not happen within 6 s"):
        wait_for(lambda: None, what="the run appearing", interval=2, timeout=6, sleep=clock.sleep, clock=clock)


def test_a_run_without_execution_finishes_on_its_record() -> None:
    record_only = replace(_reading(facts.STATUS_COMPLETED, facts.EXECUTION_RUNNING, None), execution=None)
    clock = FakeClock()
    assert follow_run(lambda: record_only, lambda _: None, interval=1, timeout=None, sleep=clock.sleep, clock=clock)
    assert clock.sleeps == []
