from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from lambdas.handlers import start_training, stop_run
from novaft.pipeline.facts import RECORD_TYPE_RUN, STATUS_COMPLETED, STATUS_FAILED, STATUS_REGISTERED, STATUS_STOPPED
from novaft.pipeline.steps.evaluation import EVALUATION_JOBS_FIELD
from tests.handlers.conftest import Aws, FakeLambdaContext, load_event
from tests.handlers.sagemaker_control import set_job_status, stop_calls

RUN_ID = "demo-dbad16161acb"
JOB = "novaft-demo-dbad16161acb"
EXECUTION = load_event("stop_run.json")["detail"]["executionArn"]


def _registered(aws: Aws) -> None:
    aws.put_item(
        {
            "run_id": RUN_ID,
            "run_name": "demo",
            "record_type": RECORD_TYPE_RUN,
            "status": STATUS_REGISTERED,
            "execution_arn": EXECUTION,
            "training_job_name": JOB,
            "dataset": {"bucket": "novaft-dev-datasets", "train_key": "incoming/demo/train.jsonl"},
        }
    )


def _stop_result(
    *, training_job_stopped: bool, status: str | None, run_found: bool = True, run_id: str | None = RUN_ID
) -> dict[str, object]:
    """What stop_run returns when it stopped no evaluation job."""
    return {
        "run_found": run_found,
        "run_id": run_id,
        "training_job_stopped": training_job_stopped,
        "evaluation_jobs_stopped": [],
        "status": status,
    }


@pytest.mark.parametrize(
    ("job_status", "stop_error", "expect_stop_call", "expect_stopped"),
    [
        ("InProgress", None, True, True),
        ("Completed", None, False, False),
        ("Stopping", None, False, False),
        (
            "InProgress",
            ClientError(
                {"Error": {"Code": "ValidationException", "Message": "The job status is Completed"}}, "StopTrainingJob"
            ),
            True,
            False,
        ),
    ],
)
def test_stop_run_stops_a_running_job_and_records_stopped(
    aws: Aws,
    lambda_context: FakeLambdaContext,
    job_status: str,
    stop_error: Exception | None,
    expect_stop_call: bool,
    expect_stopped: bool,
) -> None:
    _registered(aws)
    start_training.lambda_handler(load_event("start_training.json"), lambda_context)
    set_job_status(JOB, job_status)

    with stop_calls(stop_error) as stop:
        result = stop_run.lambda_handler(load_event("stop_run.json"), lambda_context)

    assert stop.called is expect_stop_call
    assert result == _stop_result(training_job_stopped=expect_stopped, status=STATUS_STOPPED)
    assert aws.item(RUN_ID)["status"] == STATUS_STOPPED
    [note] = aws.notifications()
    assert note["Subject"] == "novaft dev: run demo Stopped"
    assert "ABORTED" in note["Message"]


def test_stop_run_before_training_started_stops_nothing(aws: Aws, lambda_context: FakeLambdaContext) -> None:
    _registered(aws)

    with stop_calls() as stop:
        result = stop_run.lambda_handler(load_event("stop_run.json"), lambda_context)

    assert not stop.called
    assert result["training_job_stopped"] is False
    assert aws.item(RUN_ID)["status"] == STATUS_STOPPED


def test_stop_run_for_an_execution_without_a_run_does_nothing(aws: Aws, lambda_context: FakeLambdaContext) -> None:
    result = stop_run.lambda_handler(load_event("stop_run.json"), lambda_context)

    assert result == _stop_result(run_found=False, run_id=None, training_job_stopped=False, status=None)
    assert aws.notifications() == []


@pytest.mark.parametrize(
    ("final_status", "running_job", "execution_status"),
    [
        *((status, False, "ABORTED") for status in (STATUS_COMPLETED, "Failed", "DatasetInvalid", "Stopped")),
        # Recorded Failed because DescribeTrainingJob kept failing, while its job still runs: that job is stopped.
        (STATUS_FAILED, True, "FAILED"),
    ],
)
def test_stop_run_keeps_an_outcome_already_recorded(
    aws: Aws, lambda_context: FakeLambdaContext, final_status: str, running_job: bool, execution_status: str
) -> None:
    # Given a run whose outcome was recorded before its execution ended
    _registered(aws)
    if running_job:
        start_training.lambda_handler(load_event("start_training.json"), lambda_context)
        set_job_status(JOB, "InProgress")
    aws.put_item({**aws.item(RUN_ID), "status": final_status})
    event = load_event("stop_run.json")
    event["detail"]["status"] = execution_status

    with stop_calls() as stop:
        result = stop_run.lambda_handler(event, lambda_context)

    # Then only a job still running is stopped, and the recorded outcome and its notification stand as they were
    assert stop.called is running_job
    assert result == _stop_result(training_job_stopped=running_job, status=final_status)
    assert aws.item(RUN_ID)["status"] == final_status
    assert aws.notifications() == []


def test_stop_run_records_an_execution_failed_outside_the_workflow_as_failed(
    aws: Aws, lambda_context: FakeLambdaContext
) -> None:
    # Given a training run whose execution failed with an error no Catch could handle (States.Runtime)
    _registered(aws)
    start_training.lambda_handler(load_event("start_training.json"), lambda_context)
    set_job_status(JOB, "InProgress")
    event = load_event("stop_run.json")
    event["detail"].update(status="FAILED", error="States.Runtime", cause="An error occurred")

    with stop_calls() as stop:
        result = stop_run.lambda_handler(event, lambda_context)

    assert stop.called
    assert result["status"] == STATUS_FAILED
    item = aws.item(RUN_ID)
    assert (item["status"], item["failure_error"]) == ("Failed", "ExecutionFailed")
    [note] = aws.notifications()
    assert note["Subject"] == "novaft dev: run demo Failed"
    assert "States.Runtime" in note["Message"]


def test_stop_run_stops_the_running_evaluation_jobs_of_a_completed_run(
    aws: Aws, lambda_context: FakeLambdaContext
) -> None:
    # Given a Completed run whose execution is aborted while one of its two evaluation jobs still runs
    _registered(aws)
    start_training.lambda_handler(load_event("start_training.json"), lambda_context)
    running, finished = f"{JOB}-0a1b2c3d", f"{JOB}-4e5f6a7b"
    request = load_event("start_training.json")["request"]
    for name in (running, finished):
        aws.sagemaker.create_training_job(**{**request, "TrainingJobName": name})
    set_job_status(running, "InProgress")
    aws.put_item({**aws.item(RUN_ID), "status": STATUS_COMPLETED, EVALUATION_JOBS_FIELD: [running, finished]})

    with stop_calls() as stop:
        result = stop_run.lambda_handler(load_event("stop_run.json"), lambda_context)

    # Then only the running evaluation job is asked to stop, and the run's outcome stands
    stop.assert_called_once_with(TrainingJobName=running)
    assert (result["evaluation_jobs_stopped"], result["training_job_stopped"]) == ([running], False)
    assert aws.item(RUN_ID)["status"] == STATUS_COMPLETED
    assert aws.notifications() == []
