"""The training simulator bills the time a simulated job ran, as SageMaker bills the time its instances ran."""

from __future__ import annotations

import datetime as dt
import io
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


def test_a_running_job_logs_the_steps_it_reached_and_a_completed_one_leaves_the_metrics_csv(clock: Clock) -> None:
    from novaft.report.metrics import metrics_from_archive, parse_log_lines

    simulator = TrainingSimulator(default=TrainingOutcome(duration_seconds=100))
    job = moto_job("novaft-run-4")
    simulator.job_created(job)
    logged: list[tuple[str, str, str]] = []
    written: dict[str, bytes] = {}

    def write_log(group: str, stream: str, messages: list[str]) -> None:
        logged.extend((group, stream, message) for message in messages)

    def write_object(bucket: str, key: str, body: bytes) -> None:
        written[key] = body

    clock.now += 50
    simulator.advance(job, write_object, write_log)
    halfway = parse_log_lines(message for _, _, message in logged)
    assert halfway.summary is not None and halfway.summary.steps == training.SIMULATED_STEPS // 2
    assert {(group, stream.split("/")[0]) for group, stream, _ in logged} == {
        (training.TRAINING_LOG_GROUP, "novaft-run-4")
    }

    clock.now += 60
    simulator.advance(job, write_object, write_log)
    assert job.training_job_status == "Completed"
    from_logs = parse_log_lines(message for _, _, message in logged)
    (archive,) = written.values()
    from_archive = metrics_from_archive(archive)
    assert from_archive is not None
    assert [(p.step, p.loss) for p in from_logs.points] == [(p.step, p.loss) for p in from_archive.points]
    assert len(from_archive.points) == training.SIMULATED_STEPS


def test_a_completed_evaluation_job_leaves_the_results_the_evaluation_container_writes(clock: Clock) -> None:
    from novaft.pipeline.evaluation_results import read_results_archive, task_metrics
    from novaft.pipeline.facts import EVAL_SIDE_BASE, EVAL_SIDE_FINE_TUNED, EVAL_SIDE_TAG, EVAL_TASK_TAG

    written: dict[str, bytes] = {}
    simulator = TrainingSimulator(default=TrainingOutcome(duration_seconds=1))
    metrics = {}
    for side in (EVAL_SIDE_FINE_TUNED, EVAL_SIDE_BASE):
        job = moto_job(f"novaft-run-1-ev-{side}")
        job.algorithm_specification = {
            "TrainingImage": "708977205387.dkr.ecr.us-east-1.amazonaws.com/nova-evaluation-repo:SM-TJ-Eval-V2-latest"
        }
        job.tags = [{"Key": EVAL_TASK_TAG, "Value": "gen_qa"}, {"Key": EVAL_SIDE_TAG, "Value": side}]
        simulator.job_created(job)
        clock.now += 5
        simulator.advance(job, lambda bucket, key, body: written.__setitem__(key, body))
        archive = written[f"runs/r/output/{job.training_job_name}/output/output.tar.gz"]
        document = read_results_archive(io.BytesIO(archive), source=side)
        metrics[side] = task_metrics("gen_qa", document, source=side)
    assert set(metrics[EVAL_SIDE_FINE_TUNED]) == {"rouge1", "rouge2", "rougeL", "em", "qem", "f1", "bleu"}
    assert metrics[EVAL_SIDE_BASE]["rougeL"] < metrics[EVAL_SIDE_FINE_TUNED]["rougeL"]


def test_an_evaluation_job_of_a_benchmark_reports_the_recipe_metric() -> None:
    from novaft.pipeline.evaluation_results import read_results_archive, task_metrics

    archive = training.evaluation_archive("job", task="math", base=False)
    document = read_results_archive(io.BytesIO(archive), source="math")
    assert task_metrics("math", document, source="math") == {"exact_match": training.SIMULATED_BENCHMARK_SCORE}
