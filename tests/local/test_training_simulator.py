"""The training simulator bills the time a simulated job ran, as SageMaker bills the time its instances ran."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest

from novaft.local import training
from novaft.local.training import TrainingOutcome, TrainingSimulator


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(training.time, "monotonic", clock)
    return clock


def moto_job(name: str) -> Any:
    """The attributes of a moto training job the simulator reads and writes."""
    return SimpleNamespace(
        training_job_name=name,
        arn=f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}",
        creation_time=dt.datetime.now(dt.UTC),
        output_data_config={"S3OutputPath": "s3://artifacts/runs/r/output/"},
    )


def run_until_finished(simulator: TrainingSimulator, job: Any, clock: Clock, *, after: float) -> None:
    clock.now += after
    simulator.advance(job, lambda bucket, key, body: None)


@pytest.mark.parametrize(
    ("outcome", "billed"),
    [
        (TrainingOutcome(duration_seconds=90.2), 91),
        (TrainingOutcome(duration_seconds=5400), 5400),
        (TrainingOutcome(status="Failed", failure_reason="AlgorithmError: out of memory", duration_seconds=30), 30),
    ],
)
def test_a_finished_job_bills_its_simulated_duration(outcome: TrainingOutcome, billed: int, clock: Clock) -> None:
    simulator = TrainingSimulator(default=outcome)
    job = moto_job("novaft-run-1")
    simulator.job_created(job)
    run_until_finished(simulator, job, clock, after=outcome.duration_seconds + 60)  # described a minute late
    assert job.training_job_status == outcome.status
    assert (job.training_time_in_seconds, job.billable_time_in_seconds) == (billed, billed)


def test_a_running_job_has_no_billed_time_yet(clock: Clock) -> None:
    simulator = TrainingSimulator(default=TrainingOutcome(duration_seconds=300))
    job = moto_job("novaft-run-2")
    simulator.job_created(job)
    run_until_finished(simulator, job, clock, after=100)
    assert job.training_job_status == "InProgress"
    assert not hasattr(job, "billable_time_in_seconds")


def test_a_stopped_job_bills_until_the_stop_took_effect(clock: Clock) -> None:
    simulator = TrainingSimulator(default=TrainingOutcome(duration_seconds=3600), stop_delay_seconds=20)
    job = moto_job("novaft-run-3")
    simulator.job_created(job)
    clock.now += 100
    simulator.stop_requested(job)
    assert job.training_job_status == "Stopping"
    run_until_finished(simulator, job, clock, after=25)
    assert job.training_job_status == "Stopped"
    assert (job.training_time_in_seconds, job.billable_time_in_seconds) == (120, 120)
