"""The boto3 adapters against moto: stack discovery, the runs table, Step Functions, SageMaker, S3."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from novaft.operator.clients import AwsClients
from novaft.operator.errors import RunNotFound, StackNotFound, StackOutputsMissing
from novaft.operator.runs_repository import RunRepository
from novaft.operator.stack_discovery import discover_pipeline
from novaft.operator.storage_adapter import StorageAdapter
from novaft.operator.training_adapter import TrainingAdapter
from novaft.operator.workflow_adapter import WorkflowAdapter

from .conftest import ARTIFACTS_BUCKET, DATASETS_BUCKET, REGION, RUNS_TABLE, STACK_NAME, MotoPipeline, client


def _repository(page_size: int = 100) -> RunRepository:
    return RunRepository.for_table(AwsClients.from_settings(region=REGION).dynamodb, RUNS_TABLE, page_size=page_size)


def test_discovery_reads_the_pipeline_outputs(moto_pipeline: MotoPipeline) -> None:
    outputs = discover_pipeline(client("cloudformation"), STACK_NAME, region=REGION)
    assert (outputs.state_machine_arn, outputs.runs_table, outputs.datasets_bucket, outputs.default_job) == (
        moto_pipeline.state_machine_arn,
        RUNS_TABLE,
        DATASETS_BUCKET,
        None,
    )


def test_discovery_names_the_missing_stack_and_region(moto_pipeline: MotoPipeline) -> None:
    with pytest.raises(StackNotFound, match=f"no stack Novaft-prod-Pipeline in region {REGION}"):
        discover_pipeline(client("cloudformation"), "Novaft-prod-Pipeline", region=REGION)


def test_discovery_of_a_stack_without_outputs_names_them(moto_pipeline: MotoPipeline) -> None:
    cloudformation = client("cloudformation")
    template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}, "Outputs": {"TopicArn": {"Value": "x"}}}
    cloudformation.create_stack(StackName="Other", TemplateBody=json.dumps(template))
    with pytest.raises(StackOutputsMissing, match="StateMachineArn, DatasetsBucketName"):
        discover_pipeline(cloudformation, "Other", region=REGION)


def test_repository_finds_by_id_then_by_latest_name(moto_pipeline: MotoPipeline) -> None:
    moto_pipeline.put_run(run_id="exp-aaa", run_name="exp", created_at="2026-11-25T09:00:00+00:00")
    moto_pipeline.put_run(run_id="exp-bbb", run_name="exp", created_at="2026-11-25T11:00:00+00:00")
    moto_pipeline.put_run(run_id="other-ccc", run_name="other", created_at="2026-11-25T12:00:00+00:00")
    runs = _repository()
    assert runs.resolve("exp-aaa").run_id == "exp-aaa"
    assert runs.resolve("exp").run_id == "exp-bbb"
    with pytest.raises(RunNotFound, match="no run with id or name 'nope'"):
        runs.resolve("nope")


def test_repository_recent_is_newest_first_and_limited_across_pages(moto_pipeline: MotoPipeline) -> None:
    for hour in range(10, 15):
        moto_pipeline.put_run(run_id=f"r{hour}-x", created_at=f"2026-11-25T{hour}:00:00+00:00")
    assert [run.run_id for run in _repository().recent(3)] == ["r14-x", "r13-x", "r12-x"]
    assert len(_repository().recent(50)) == 5


def test_latest_by_name_pages_past_other_runs(moto_pipeline: MotoPipeline) -> None:
    moto_pipeline.put_run(run_id="old-1", run_name="old", created_at="2026-11-25T01:00:00+00:00")
    for minute in range(10, 40):
        moto_pipeline.put_run(run_id=f"n{minute}-x", created_at=f"2026-11-25T10:{minute}:00+00:00")
    found = _repository(page_size=7).latest_by_name("old")
    assert found is not None and found.run_id == "old-1"
    assert [run.run_id for run in _repository(page_size=7).recent(9)][-1] == "n31-x"


def test_workflow_describes_stops_and_finds_the_current_state(moto_pipeline: MotoPipeline) -> None:
    arn = moto_pipeline.start_execution("r-1")
    workflow = WorkflowAdapter(client("stepfunctions"))
    execution = workflow.describe(arn)
    assert execution is not None and execution.running and execution.started_at is not None
    assert workflow.current_state(arn) is not None  # moto answers with a canned history
    workflow.stop(arn, cause="test")
    stopped = workflow.describe(arn)
    assert stopped is not None and stopped.status == "ABORTED"
    assert workflow.describe(arn.replace("r-1", "nope")) is None


def test_training_adapter_reads_status_and_treats_unknown_jobs_as_absent(moto_pipeline: MotoPipeline) -> None:
    moto_pipeline.create_training_job("novaft-r-1", "InProgress", "Training")
    training = TrainingAdapter(client("sagemaker"))
    job = training.describe("novaft-r-1")
    assert job is not None and (job.status, job.secondary_status, job.stoppable) == ("InProgress", "Training", True)
    assert training.describe("no-such-job") is None


def test_training_adapter_passes_other_errors_through() -> None:
    class Refusing:
        def describe_training_job(self, **_: str) -> None:
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "DescribeTrainingJob")

    with pytest.raises(ClientError):
        TrainingAdapter(Refusing()).describe("job")


def test_storage_uploads_lists_and_reads_json(moto_pipeline: MotoPipeline, tmp_path: Path) -> None:
    storage = StorageAdapter(client("s3"))
    source = tmp_path / "report.json"
    source.write_text('{"valid": true}')
    storage.upload(source, ARTIFACTS_BUCKET, "runs/r-1/validation-report.json")
    assert storage.keys_under(ARTIFACTS_BUCKET, "runs/r-1/") == ["runs/r-1/validation-report.json"]
    assert storage.read_json(ARTIFACTS_BUCKET, "runs/r-1/validation-report.json") == {"valid": True}
    assert storage.read_json(ARTIFACTS_BUCKET, "runs/r-2/validation-report.json") is None


@pytest.mark.parametrize(
    ("env", "region"),
    [
        ({"AWS_DEFAULT_REGION": "us-west-2", "AWS_REGION": None}, "us-west-2"),
        ({"AWS_DEFAULT_REGION": None, "AWS_REGION": "ap-northeast-1"}, "ap-northeast-1"),
        ({"AWS_DEFAULT_REGION": "us-west-2", "AWS_REGION": "ap-northeast-1"}, "us-west-2"),
    ],
)
def test_region_comes_from_either_standard_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str | None], region: str
) -> None:
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    assert AwsClients.from_settings().region == region
