from __future__ import annotations

import json
from typing import Any

import pytest

from novaft.pipeline.contracts import ExecutionStatusChangeEvent
from novaft.pipeline.facts import (
    EVAL_SIDE_BASE,
    EVAL_SIDE_FINE_TUNED,
    EVALUATION_PLANNED,
    EVALUATION_ROUND_FIELD,
    EVALUATION_STATUS_FIELD,
    EVALUATION_STOPPED,
    EXECUTION_ABORTED,
    EXECUTION_FAILED,
    EXECUTION_TIMED_OUT,
    FINAL_RUN_STATUSES,
    STATUS_COMPLETED,
    STATUS_FAILED,
    STATUS_REGISTERED,
    STATUS_STOPPED,
    STATUS_TRAINING,
    STOP_RULE_EXECUTION_STATUSES,
)
from novaft.pipeline.steps.evaluation import EVALUATION_JOBS_FIELD, evaluation_job_name
from novaft.pipeline.steps.stop import MAX_EXECUTION_INPUT_CHARS, later_evaluation_run_id, stop_run
from tests.unit.pipeline.fakes import (
    ARTIFACTS_BUCKET,
    DATASETS_BUCKET,
    EXECUTION_ARN,
    JOB,
    LATER,
    REGION,
    RUN,
    FakeNotifier,
    FakeRunStore,
    FakeTrainingJobs,
    registered_runs,
    settings,
)


def _event(status: str, error: str | None = None, cause: str | None = None) -> ExecutionStatusChangeEvent:
    detail: dict[str, Any] = {"executionArn": EXECUTION_ARN, "status": status, "error": error, "cause": cause}
    return ExecutionStatusChangeEvent.model_validate(
        {"detail-type": "Step Functions Execution Status Change", "detail": detail}
    )


def _runs(status: str = STATUS_TRAINING, **fields: Any) -> FakeRunStore:
    dataset = {"bucket": DATASETS_BUCKET, "train_key": RUN.dataset.train_key}
    return registered_runs(status, training_job_name=JOB, dataset=dataset, **fields)


def _stop(event: ExecutionStatusChangeEvent, runs: FakeRunStore, jobs: FakeTrainingJobs, notifier: FakeNotifier) -> Any:
    return stop_run(event, settings=settings(), runs=runs, jobs=jobs, notifier=notifier, now=LATER)


def _training_job() -> FakeTrainingJobs:
    jobs = FakeTrainingJobs()
    jobs.add(JOB, status="InProgress")
    return jobs


@pytest.mark.parametrize(
    ("execution_status", "run_status", "failure_error"),
    [
        (EXECUTION_ABORTED, STATUS_STOPPED, "ExecutionAborted"),
        (EXECUTION_TIMED_OUT, STATUS_STOPPED, "ExecutionTimedOut"),
        (EXECUTION_FAILED, STATUS_FAILED, "ExecutionFailed"),
    ],
)
def test_each_status_the_rule_sends_stops_the_job_records_the_run_and_notifies(
    execution_status: str, run_status: str, failure_error: str
) -> None:
    assert execution_status in STOP_RULE_EXECUTION_STATUSES
    jobs, notifier = _training_job(), FakeNotifier()
    runs = _runs(training_job_arn=jobs.jobs[JOB]["TrainingJobArn"])
    result = _stop(_event(execution_status), runs, jobs, notifier)
    assert (result.run_found, result.run_id, result.training_job_stopped, result.status) == (
        True,
        RUN.run_id,
        True,
        run_status,
    )
    assert jobs.stopped == [JOB]
    item = runs.items[RUN.run_id]
    assert (item["status"], item["failure_error"], item["updated_at"]) == (run_status, failure_error, LATER)
    [(subject, message)] = notifier.published
    assert subject == f"novaft dev: run {RUN.run_name} {run_status}"
    assert (
        f"The workflow execution ended with status {execution_status}. Its training job was asked to stop." in message
    )
    assert f"Artifacts: s3://{ARTIFACTS_BUCKET}/{RUN.artifacts_prefix}" in message


def test_the_execution_error_and_cause_are_part_of_the_reason() -> None:
    notifier = FakeNotifier()
    _stop(_event(EXECUTION_FAILED, error="States.Runtime", cause="bad path"), _runs(), FakeTrainingJobs(), notifier)
    [(_, message)] = notifier.published
    assert "ended with status FAILED (States.Runtime: bad path)." in message


def test_a_run_that_never_reached_training_has_no_job_to_stop() -> None:
    # The job name is reserved at registration; only a recorded ARN means the job was created.
    jobs, notifier = _training_job(), FakeNotifier()
    result = _stop(_event(EXECUTION_ABORTED), _runs(STATUS_REGISTERED), jobs, notifier)
    assert result.status == STATUS_STOPPED and not result.training_job_stopped
    assert jobs.stopped == []
    assert "Its training job was asked to stop" not in notifier.published[0][1]


def test_a_job_that_already_finished_is_not_stopped_again() -> None:
    jobs = FakeTrainingJobs()
    arn = jobs.add(JOB, status="Completed")
    result = _stop(_event(EXECUTION_TIMED_OUT), _runs(training_job_arn=arn), jobs, FakeNotifier())
    assert result.status == STATUS_STOPPED and not result.training_job_stopped


@pytest.mark.parametrize("recorded", sorted(FINAL_RUN_STATUSES))
def test_a_recorded_outcome_is_kept_but_the_job_is_still_stopped(recorded: str) -> None:
    jobs, notifier = _training_job(), FakeNotifier()
    runs = _runs(recorded, training_job_arn=jobs.jobs[JOB]["TrainingJobArn"])
    result = _stop(_event(EXECUTION_ABORTED), runs, jobs, notifier)
    assert result.status == recorded and result.training_job_stopped
    assert runs.updates == [] and notifier.published == []


def test_an_execution_without_a_run_is_nothing_to_do() -> None:
    notifier = FakeNotifier()
    result = _stop(_event(EXECUTION_ABORTED), FakeRunStore(), FakeTrainingJobs(), notifier)
    assert not result.run_found and result.run_id is None and notifier.published == []


def test_a_second_delivery_of_the_event_changes_nothing() -> None:
    jobs, notifier = _training_job(), FakeNotifier()
    runs = _runs(training_job_arn=jobs.jobs[JOB]["TrainingJobArn"])
    _stop(_event(EXECUTION_ABORTED), runs, jobs, notifier)
    again = _stop(_event(EXECUTION_ABORTED), runs, jobs, notifier)
    assert again.status == STATUS_STOPPED and not again.training_job_stopped
    assert len(notifier.published) == 1 and len(runs.updates) == 1


def _evaluation_jobs(jobs: FakeTrainingJobs, statuses: dict[str, str]) -> list[str]:
    """Evaluation jobs of the run named as PlanEvaluation names them, one per side, in the given statuses."""
    names = []
    for side, status in statuses.items():
        name = evaluation_job_name(JOB, "execution-1", "gen_qa", side)
        jobs.add(name, status=status)
        names.append(name)
    return names


def test_an_execution_ended_during_evaluation_stops_its_running_evaluation_jobs_and_keeps_the_outcome() -> None:
    # Evaluation runs after RecordResult: the run is Completed, its training job finished.
    jobs, notifier = FakeTrainingJobs(), FakeNotifier()
    arn = jobs.add(JOB, status="Completed")
    running, finished = _evaluation_jobs(jobs, {EVAL_SIDE_FINE_TUNED: "InProgress", EVAL_SIDE_BASE: "Completed"})
    runs = _runs(STATUS_COMPLETED, training_job_arn=arn, **{EVALUATION_JOBS_FIELD: [running, finished]})
    result = _stop(_event(EXECUTION_ABORTED), runs, jobs, notifier)
    assert (result.status, result.training_job_stopped, result.evaluation_jobs_stopped) == (
        STATUS_COMPLETED,
        False,
        [running],
    )
    assert jobs.stopped == [running] and jobs.jobs[finished]["TrainingJobStatus"] == "Completed"
    assert runs.updates == [] and notifier.published == []
    again = _stop(_event(EXECUTION_ABORTED), runs, jobs, notifier)
    assert again.evaluation_jobs_stopped == [] and jobs.stopped == [running]


def test_evaluation_jobs_never_started_are_skipped_and_the_stopped_ones_are_named_in_the_notification() -> None:
    jobs, notifier = _training_job(), FakeNotifier()
    [running] = _evaluation_jobs(jobs, {EVAL_SIDE_FINE_TUNED: "InProgress"})
    never_started = evaluation_job_name(JOB, "execution-1", "mmlu", EVAL_SIDE_FINE_TUNED)
    planned: dict[str, Any] = {EVALUATION_JOBS_FIELD: [never_started, running]}
    runs = _runs(training_job_arn=jobs.jobs[JOB]["TrainingJobArn"], **planned)
    result = _stop(_event(EXECUTION_FAILED), runs, jobs, notifier)
    assert result.status == STATUS_FAILED and result.evaluation_jobs_stopped == [running]
    assert jobs.stopped == [JOB, running]
    assert f"Evaluation jobs stopped: {running}" in notifier.published[0][1]


def test_a_run_without_planned_evaluation_jobs_stops_none() -> None:
    jobs = _training_job()
    result = _stop(
        _event(EXECUTION_ABORTED), _runs(training_job_arn=jobs.jobs[JOB]["TrainingJobArn"]), jobs, FakeNotifier()
    )
    assert result.evaluation_jobs_stopped == [] and jobs.stopped == [JOB]


LATER_EXECUTION = f"arn:aws:states:{REGION}:123456789012:execution:novaft-dev:evaluate-2"


def _ended(execution_arn: str, name: str, execution_input: str | None) -> ExecutionStatusChangeEvent:
    detail = {"executionArn": execution_arn, "name": name, "status": EXECUTION_ABORTED, "input": execution_input}
    return ExecutionStatusChangeEvent.model_validate(
        {"detail-type": "Step Functions Execution Status Change", "detail": detail}
    )


def _evaluate_later_input(run_id: str) -> str:
    """The input `novaft evaluate` starts its execution with (only the part stop_run reads is needed here)."""
    return json.dumps({"evaluate_later": {"run": {"run_id": run_id}, "validation": {}, "tasks": ["gen_qa"]}})


def _evaluating_run(jobs: FakeTrainingJobs, evaluation_round: str) -> tuple[FakeRunStore, str, str]:
    """A completed run whose evaluation round ``evaluation_round`` is under way: one job running, one finished."""
    arn = jobs.add(JOB, status="Completed")
    running, finished = _evaluation_jobs(jobs, {EVAL_SIDE_FINE_TUNED: "InProgress", EVAL_SIDE_BASE: "Completed"})
    planned = {
        EVALUATION_JOBS_FIELD: [running, finished],
        EVALUATION_ROUND_FIELD: evaluation_round,
        EVALUATION_STATUS_FIELD: EVALUATION_PLANNED,
    }
    return _runs(STATUS_COMPLETED, training_job_arn=arn, **planned), running, finished


def test_an_aborted_novaft_evaluate_execution_stops_its_jobs_and_records_the_evaluation_stopped() -> None:
    jobs, notifier = FakeTrainingJobs(), FakeNotifier()
    runs, running, finished = _evaluating_run(jobs, "evaluate-2")
    event = _ended(LATER_EXECUTION, "evaluate-2", _evaluate_later_input(RUN.run_id))

    result = _stop(event, runs, jobs, notifier)

    assert (result.run_found, result.run_id, result.status) == (True, RUN.run_id, STATUS_COMPLETED)
    assert result.evaluation_jobs_stopped == [running] and jobs.stopped == [running]
    assert not result.training_job_stopped and jobs.jobs[finished]["TrainingJobStatus"] == "Completed"
    record = runs.items[RUN.run_id]
    assert record["status"] == STATUS_COMPLETED and record[EVALUATION_STATUS_FIELD] == EVALUATION_STOPPED
    assert notifier.published == []
    # Delivered again: nothing left to stop, nothing written.
    again = _stop(event, runs, jobs, notifier)
    assert again.evaluation_jobs_stopped == [] and len(runs.updates) == 1


def test_a_round_that_a_later_novaft_evaluate_replaced_is_not_stopped_by_the_earlier_one() -> None:
    jobs = FakeTrainingJobs()
    runs, _running, _finished = _evaluating_run(jobs, "evaluate-3")
    event = _ended(LATER_EXECUTION, "evaluate-2", _evaluate_later_input(RUN.run_id))
    result = _stop(event, runs, jobs, FakeNotifier())
    assert result.run_found and result.evaluation_jobs_stopped == [] and jobs.stopped == []
    assert runs.updates == []


def test_the_runs_own_execution_leaves_a_later_rounds_jobs_running() -> None:
    jobs = FakeTrainingJobs()
    runs, _running, _finished = _evaluating_run(jobs, "evaluate-2")
    result = _stop(_ended(EXECUTION_ARN, "exec-1", None), runs, jobs, FakeNotifier())
    assert result.status == STATUS_COMPLETED and result.evaluation_jobs_stopped == [] and jobs.stopped == []


def test_the_runs_own_round_ended_early_is_recorded_stopped() -> None:
    jobs = FakeTrainingJobs()
    runs, running, _finished = _evaluating_run(jobs, "exec-1")
    result = _stop(_ended(EXECUTION_ARN, "exec-1", None), runs, jobs, FakeNotifier())
    assert result.evaluation_jobs_stopped == [running]
    assert runs.items[RUN.run_id][EVALUATION_STATUS_FIELD] == EVALUATION_STOPPED
    assert runs.items[RUN.run_id]["status"] == STATUS_COMPLETED


@pytest.mark.parametrize(
    "execution_input",
    [
        None,
        "",
        "not json",
        "\x00\xff binary",
        # A lone surrogate: not encodable as UTF-8, so not JSON the parser accepts.
        '{"evaluate_later": {"run": {"run_id": "\udcff"}}}',
        "[" * 100_000,
        '{"evaluate_later": ' * 2000 + "{}" + "}" * 2000,
        json.dumps(["evaluate_later"]),
        json.dumps({"evaluate_later": {"run": {"run_id": 7}}}),
        json.dumps({"evaluate_later": {"run": "run-1"}}),
        json.dumps({"detail-type": "Object Created", "detail": {}}),
        json.dumps({"evaluate_later": {"run": {"run_id": "x" * 10}}, "pad": "y" * MAX_EXECUTION_INPUT_CHARS}),
    ],
)
def test_an_input_that_names_no_run_is_nothing_to_do(execution_input: str | None) -> None:
    assert later_evaluation_run_id(execution_input) is None
    jobs = FakeTrainingJobs()
    runs, _running, _finished = _evaluating_run(jobs, "evaluate-2")
    result = _stop(_ended(LATER_EXECUTION, "evaluate-2", execution_input), runs, jobs, FakeNotifier())
    assert not result.run_found and jobs.stopped == [] and runs.updates == []


def test_a_run_that_no_longer_exists_is_nothing_to_do() -> None:
    event = _ended(LATER_EXECUTION, "evaluate-2", _evaluate_later_input("gone-1"))
    result = _stop(event, FakeRunStore(), FakeTrainingJobs(), FakeNotifier())
    assert not result.run_found and result.run_id is None
