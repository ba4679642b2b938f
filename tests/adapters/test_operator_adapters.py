"""The boto3 adapters against moto: stack discovery, the runs table, Step Functions, SageMaker, S3."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from novaft.aws.clients import AwsSession
from novaft.aws.cloudformation import CloudFormationStacks
from novaft.aws.errors import ExecutionNotFound, ObjectNotFound, StackNotFound
from novaft.aws.runs_table import RunsTable
from novaft.aws.s3_objects import S3Objects
from novaft.aws.sagemaker_jobs import SageMakerTrainingJobs
from novaft.aws.step_functions import StepFunctionsExecutions
from novaft.operator.discovery import pipeline_outputs_from_stack
from novaft.operator.errors import RunNotFound, StackOutputsMissing
from novaft.operator.pipeline import PipelineOperator, find_pipeline
from novaft.operator.runs import RunLookup, current_state_from_history
from novaft.pipeline import facts
from novaft.pipeline.errors import TrainingJobNotFound

from .conftest import (
    ARTIFACTS_BUCKET,
    DATASETS_BUCKET,
    REGION,
    RUNS_PREFIX,
    RUNS_TABLE,
    STACK_NAME,
    MotoPipeline,
    client,
)


def _stacks() -> CloudFormationStacks:
    return CloudFormationStacks(client("cloudformation"), region=REGION)


def _lookup(page_size: int = 100) -> RunLookup:
    table = AwsSession.from_settings(region=REGION).dynamodb_table(RUNS_TABLE)
    return RunLookup(RunsTable(table), page_size=page_size)


def test_discovery_reads_the_pipeline_outputs(moto_pipeline: MotoPipeline) -> None:
    outputs = pipeline_outputs_from_stack(STACK_NAME, _stacks().outputs(STACK_NAME))
    assert (outputs.state_machine_arn, outputs.runs_table, outputs.datasets_bucket, outputs.default_job) == (
        moto_pipeline.state_machine_arn,
        RUNS_TABLE,
        DATASETS_BUCKET,
        None,
    )
    assert outputs.runs_prefix == RUNS_PREFIX


def test_discovery_names_the_missing_stack_and_region(moto_pipeline: MotoPipeline) -> None:
    with pytest.raises(StackNotFound, match=f"no stack Novaft-prod-Pipeline in region {REGION}"):
        _stacks().outputs("Novaft-prod-Pipeline")


def test_discovery_of_a_stack_without_outputs_names_them(moto_pipeline: MotoPipeline) -> None:
    template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}, "Outputs": {"TopicArn": {"Value": "x"}}}
    client("cloudformation").create_stack(StackName="Other", TemplateBody=json.dumps(template))
    with pytest.raises(StackOutputsMissing, match="StateMachineArn, DatasetsBucketName"):
        pipeline_outputs_from_stack("Other", _stacks().outputs("Other"))


def test_the_default_stage_falls_back_to_the_only_pipeline_stack(moto_pipeline: MotoPipeline) -> None:
    local = facts.pipeline_stack_name("local")
    client("cloudformation").delete_stack(StackName=STACK_NAME)
    moto_pipeline.create_stack(local)
    assert local in _stacks().names() and STACK_NAME not in _stacks().names()

    assert find_pipeline(_stacks(), STACK_NAME, chosen=False).stack_name == local
    with pytest.raises(StackNotFound):
        find_pipeline(_stacks(), STACK_NAME, chosen=True)


def test_lookup_finds_by_id_then_by_latest_name(moto_pipeline: MotoPipeline) -> None:
    moto_pipeline.put_run(run_id="exp-aaa", run_name="exp", created_at="2026-11-25T09:00:00+00:00")
    moto_pipeline.put_run(run_id="exp-bbb", run_name="exp", created_at="2026-11-25T11:00:00+00:00")
    moto_pipeline.put_run(run_id="other-ccc", run_name="other", created_at="2026-11-25T12:00:00+00:00")
    runs = _lookup()
    assert runs.resolve("exp-aaa").run_id == "exp-aaa"
    assert runs.resolve("exp").run_id == "exp-bbb"
    with pytest.raises(RunNotFound, match="no run with id or name 'nope'"):
        runs.resolve("nope")


def test_lookup_recent_is_newest_first_and_limited_across_pages(moto_pipeline: MotoPipeline) -> None:
    for hour in range(10, 15):
        moto_pipeline.put_run(run_id=f"r{hour}-x", created_at=f"2026-11-25T{hour}:00:00+00:00")
    assert [run.run_id for run in _lookup().recent(3)] == ["r14-x", "r13-x", "r12-x"]
    assert len(_lookup().recent(50)) == 5


def test_latest_by_name_pages_past_other_runs(moto_pipeline: MotoPipeline) -> None:
    moto_pipeline.put_run(run_id="old-1", run_name="old", created_at="2026-11-25T01:00:00+00:00")
    for minute in range(10, 40):
        moto_pipeline.put_run(run_id=f"n{minute}-x", created_at=f"2026-11-25T10:{minute}:00+00:00")
    found = _lookup(page_size=7).latest_by_name("old")
    assert found is not None and found.run_id == "old-1"
    assert [run.run_id for run in _lookup(page_size=7).recent(9)][-1] == "n31-x"


def test_executions_describe_stop_and_read_the_history(moto_pipeline: MotoPipeline) -> None:
    arn = moto_pipeline.start_execution("r-1")
    executions = StepFunctionsExecutions(client("stepfunctions"))
    assert executions.describe(arn)["status"] == facts.EXECUTION_RUNNING
    assert current_state_from_history(executions.newest_events(arn)) is not None  # moto answers a canned history
    executions.stop(arn, cause="test")
    assert executions.describe(arn)["status"] == facts.EXECUTION_ABORTED
    with pytest.raises(ExecutionNotFound):
        executions.describe(arn.replace("r-1", "nope"))


def test_training_jobs_describe_and_name_unknown_jobs(moto_pipeline: MotoPipeline) -> None:
    moto_pipeline.create_training_job("novaft-r-1", "InProgress", "Training")
    jobs = SageMakerTrainingJobs(client("sagemaker"))
    described = jobs.describe("novaft-r-1")
    assert (described["TrainingJobStatus"], described["SecondaryStatus"]) == ("InProgress", "Training")
    with pytest.raises(TrainingJobNotFound, match="no-such-job"):
        jobs.describe("no-such-job")


def test_training_jobs_pass_other_errors_through() -> None:
    class Refusing:
        def describe_training_job(self, **_: str) -> None:
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "DescribeTrainingJob")

    with pytest.raises(ClientError):
        SageMakerTrainingJobs(Refusing()).describe("job")


def test_objects_upload_list_and_read(moto_pipeline: MotoPipeline, tmp_path: Path) -> None:
    objects = S3Objects(client("s3"))
    source = tmp_path / "report.json"
    source.write_text('{"valid": true}')
    key = facts.run_artifact_key(RUNS_PREFIX, "r-1", facts.VALIDATION_REPORT_FILE)
    objects.upload_file(source, ARTIFACTS_BUCKET, key)
    assert objects.keys_under(ARTIFACTS_BUCKET, f"{RUNS_PREFIX}r-1/") == [key]
    assert json.loads(objects.read_bytes(ARTIFACTS_BUCKET, key)) == {"valid": True}
    with pytest.raises(ObjectNotFound, match=f"s3://{ARTIFACTS_BUCKET}/{RUNS_PREFIX}r-2/"):
        objects.read_bytes(ARTIFACTS_BUCKET, key.replace("r-1", "r-2"))


def test_operator_reads_the_report_under_the_stacks_runs_prefix(moto_pipeline: MotoPipeline) -> None:
    key = facts.run_artifact_key(RUNS_PREFIX, "r-1", facts.VALIDATION_REPORT_FILE)
    client("s3").put_object(Bucket=ARTIFACTS_BUCKET, Key=key, Body=b'{"valid": false}')
    moto_pipeline.put_run(run_id="r-1", status=facts.STATUS_DATASET_INVALID)
    operator = PipelineOperator.connect(AwsSession.from_settings(region=REGION), STACK_NAME)

    assert operator.validation_report("r-1")[1] == {"valid": False}


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
    assert AwsSession.from_settings().region == region
