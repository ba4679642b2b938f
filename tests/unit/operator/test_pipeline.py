"""The operator's use cases over in-memory stand-ins for the runs table, Step Functions, SageMaker and S3."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from novaft.aws.errors import ExecutionNotFound, ObjectNotFound, StackNotFound
from novaft.operator.discovery import PipelineOutputs
from novaft.operator.errors import ReportNotFound, SubmitConflict
from novaft.operator.pipeline import PipelineOperator, find_pipeline
from novaft.operator.submit import plan_uploads
from novaft.pipeline import facts
from novaft.pipeline.errors import TrainingJobNotFound

REGION = "eu-west-1"
STATE_MACHINE_ARN = f"arn:aws:states:{REGION}:123456789012:stateMachine:novaft"
EXECUTION_ARN = f"arn:aws:states:{REGION}:123456789012:execution:novaft:exp-1"
JOB_NAME = "novaft-exp-1"
# Not the default: the operator must read where run artifacts live from the stack.
RUNS_PREFIX = "team-a/runs/"
OUTPUTS = {
    facts.OUTPUT_STATE_MACHINE_ARN: STATE_MACHINE_ARN,
    facts.OUTPUT_DATASETS_BUCKET: "datasets",
    facts.OUTPUT_ARTIFACTS_BUCKET: "artifacts",
    facts.OUTPUT_RUNS_TABLE: "runs",
    facts.OUTPUT_TOPIC_ARN: f"arn:aws:sns:{REGION}:123456789012:novaft",
    facts.OUTPUT_INCOMING_PREFIX: facts.DEFAULT_INCOMING_PREFIX,
    facts.OUTPUT_RUNS_PREFIX: RUNS_PREFIX,
}


class MemoryRuns:
    def __init__(self, *items: dict[str, Any]) -> None:
        self.items = {item["run_id"]: item for item in items}

    def find(self, run_id: str) -> dict[str, Any] | None:
        return self.items.get(run_id)

    def newest_first(self, *, run_name: str | None = None, page_size: int) -> Iterator[dict[str, Any]]:
        ordered = sorted(self.items.values(), key=lambda item: item["created_at"], reverse=True)
        yield from (item for item in ordered if run_name is None or item["run_name"] == run_name)


class StatusesByName:
    """Statuses by execution ARN or training job name; ``stopped`` lists the names the operator stopped."""

    def __init__(self, statuses: dict[str, str]) -> None:
        self.statuses = statuses
        self.stopped: list[str] = []

    def _status(self, name: str, not_found: type[Exception]) -> str:
        """The status of ``name``; an unknown name is the adapter's named error."""
        if name not in self.statuses:
            raise not_found(name)
        return self.statuses[name]


class MemoryExecutions(StatusesByName):
    def describe(self, execution_arn: str) -> dict[str, Any]:
        return {"status": self._status(execution_arn, ExecutionNotFound)}

    def newest_events(self, execution_arn: str) -> list[dict[str, Any]]:
        return [{"id": 2, "type": "WaitStateEntered", "stateEnteredEventDetails": {"name": "WaitForTraining"}}]

    def stop(self, execution_arn: str, *, cause: str) -> None:
        self.stopped.append(execution_arn)
        self.statuses[execution_arn] = facts.EXECUTION_ABORTED

    def start(self, state_machine_arn: str, *, name: str, document: dict[str, Any]) -> str:
        execution_arn = f"{state_machine_arn.replace(':stateMachine:', ':execution:')}:{name}"
        self.statuses[execution_arn] = facts.EXECUTION_RUNNING
        self.started = [*getattr(self, "started", []), document]
        return execution_arn


class MemoryJobs(StatusesByName):
    def __init__(self, statuses: dict[str, str], refuse_stop: bool = False) -> None:
        super().__init__(statuses)
        self.refuse_stop = refuse_stop

    def describe(self, job_name: str) -> dict[str, Any]:
        return {"TrainingJobStatus": self._status(job_name, TrainingJobNotFound)}

    def stop(self, job_name: str) -> None:
        if self.refuse_stop:
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "StopTrainingJob")
        self.stopped.append(job_name)


class MemoryObjects:
    def __init__(self, objects: dict[tuple[str, str], bytes] | None = None) -> None:
        self.objects = dict(objects or {})

    def read_bytes(self, bucket: str, key: str, version_id: str | None = None) -> bytes:
        if (bucket, key) not in self.objects:
            raise ObjectNotFound(f"s3://{bucket}/{key}")
        return self.objects[bucket, key]

    def keys_under(self, bucket: str, prefix: str) -> list[str]:
        return [key for (name, key) in self.objects if name == bucket and key.startswith(prefix)]

    def upload_file(self, path: Path, bucket: str, key: str) -> None:
        self.objects[bucket, key] = path.read_bytes()


def _run(**fields: Any) -> dict[str, Any]:
    return {
        "run_id": "exp-1",
        "run_name": "exp",
        "status": facts.STATUS_TRAINING,
        "created_at": "2026-11-25T10:00:00+00:00",
        "execution_arn": EXECUTION_ARN,
        "training_job_name": JOB_NAME,
        **fields,
    }


def _operator(
    runs: MemoryRuns,
    executions: MemoryExecutions | None = None,
    jobs: MemoryJobs | None = None,
    objects: MemoryObjects | None = None,
) -> PipelineOperator:
    outputs = find_pipeline(FakeStacks({"Novaft-dev-Pipeline": OUTPUTS}), "Novaft-dev-Pipeline", chosen=True)
    return PipelineOperator(
        outputs,
        runs=runs,
        executions=executions or MemoryExecutions({}),
        training_jobs=jobs or MemoryJobs({}),
        objects=objects or MemoryObjects(),
        console_links=False,
    )


class FakeStacks:
    def __init__(self, stacks: dict[str, dict[str, str]]) -> None:
        self.stacks = stacks

    def outputs(self, stack_name: str) -> dict[str, str]:
        if stack_name not in self.stacks:
            raise StackNotFound(f"no stack {stack_name}")
        return self.stacks[stack_name]

    def names(self) -> list[str]:
        return list(self.stacks)


def test_the_report_is_read_under_the_stacks_runs_prefix() -> None:
    report_key = facts.run_artifact_key(RUNS_PREFIX, "exp-1", facts.VALIDATION_REPORT_FILE)
    objects = MemoryObjects({("artifacts", report_key): json.dumps({"valid": True}).encode()})
    operator = _operator(MemoryRuns(_run(status=facts.STATUS_COMPLETED)), objects=objects)

    run, report = operator.validation_report("exp")

    assert (run.run_id, report) == ("exp-1", {"valid": True})


def test_a_missing_report_names_where_it_was_looked_for() -> None:
    operator = _operator(MemoryRuns(_run(status=facts.STATUS_REGISTERED)))

    with pytest.raises(ReportNotFound, match=f"s3://artifacts/{RUNS_PREFIX}exp-1/{facts.VALIDATION_REPORT_FILE}"):
        operator.validation_report("exp-1")


def test_a_run_that_never_started_a_job_has_no_training() -> None:
    # RegisterRun reserved the job name; StartTraining never ran, so SageMaker has no such job.
    runs = MemoryRuns(_run(status=facts.STATUS_DATASET_INVALID))
    status = _operator(runs, MemoryExecutions({EXECUTION_ARN: facts.EXECUTION_FAILED})).status("exp")

    assert status.training is None
    assert status.run.training_job_name is None
    assert status.finished and not status.succeeded


def test_cancel_stops_the_job_then_the_execution() -> None:
    executions = MemoryExecutions({EXECUTION_ARN: facts.EXECUTION_RUNNING})
    jobs = MemoryJobs({JOB_NAME: "InProgress"})
    operator = _operator(MemoryRuns(_run(training_job_arn="arn:job")), executions, jobs)

    outcome = operator.cancel("exp")

    assert outcome.stopped == [f"training job {JOB_NAME}", "execution exp-1"]
    assert (jobs.stopped, executions.stopped, outcome.problems) == ([JOB_NAME], [EXECUTION_ARN], [])


def test_cancel_still_stops_the_execution_when_the_job_refuses() -> None:
    executions = MemoryExecutions({EXECUTION_ARN: facts.EXECUTION_RUNNING})
    jobs = MemoryJobs({JOB_NAME: "InProgress"}, refuse_stop=True)

    outcome = _operator(MemoryRuns(_run()), executions, jobs).cancel("exp")

    assert outcome.stopped == ["execution exp-1"]
    assert outcome.problems == [
        f"could not stop training job {JOB_NAME}: AWS refused StopTrainingJob: AccessDeniedException: no"
    ]


def test_submission_refuses_stale_companions_and_uploads_nothing(tmp_path: Path) -> None:
    train = tmp_path / "t.jsonl"
    train.write_bytes(b"{}\n")
    stale = f"{facts.DEFAULT_INCOMING_PREFIX}exp/{facts.JOB_FILE}"
    objects = MemoryObjects({("datasets", stale): b"model: lite\n"})
    uploads = plan_uploads(
        incoming_prefix=facts.DEFAULT_INCOMING_PREFIX, run_name="exp", train=train, validation=None, job=None
    )

    with pytest.raises(SubmitConflict):
        _operator(MemoryRuns(), objects=objects).upload_submission("exp", uploads)
    assert list(objects.objects) == [("datasets", stale)]


@pytest.mark.parametrize(
    ("stacks", "chosen", "found"),
    [
        ({"Novaft-dev-Pipeline": OUTPUTS, "Novaft-local-Pipeline": OUTPUTS}, False, "Novaft-dev-Pipeline"),
        ({"Novaft-local-Pipeline": OUTPUTS, "Novaft-local-Data": {}}, False, "Novaft-local-Pipeline"),
        ({"Novaft-local-Pipeline": OUTPUTS}, True, None),
        ({"Novaft-a-Pipeline": OUTPUTS, "Novaft-b-Pipeline": OUTPUTS}, False, None),
    ],
)
def test_the_default_stack_falls_back_to_the_only_pipeline_stack(
    stacks: dict[str, dict[str, str]], chosen: bool, found: str | None
) -> None:
    if found is None:
        with pytest.raises(StackNotFound, match="Novaft-dev-Pipeline"):
            find_pipeline(FakeStacks(stacks), "Novaft-dev-Pipeline", chosen=chosen)
    else:
        outputs: PipelineOutputs = find_pipeline(FakeStacks(stacks), "Novaft-dev-Pipeline", chosen=chosen)
        assert outputs.stack_name == found
