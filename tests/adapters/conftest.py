"""moto-backed tests of the AWS adapters and the operator commands.

A deployed pipeline on moto: the stack outputs point at a runs table, buckets and a state machine made here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sagemaker.models import sagemaker_backends

from novaft.aws.clients import AwsSession
from novaft.cli import operator_cmds
from novaft.pipeline import facts
from novaft.pipeline.settings import ENV_NAMES, Settings
from tests.runs_table_schema import create_runs_table

REGION = "us-east-1"
STACK_NAME = facts.pipeline_stack_name(facts.DEFAULT_STAGE)
DATASETS_BUCKET = "novaft-datasets-test"
ARTIFACTS_BUCKET = "novaft-artifacts-test"
RUNS_TABLE = "novaft-runs-test"
INCOMING_PREFIX = facts.DEFAULT_INCOMING_PREFIX
# Not the default: the operator must find run artifacts where the stack says they are.
RUNS_PREFIX = "team-a/runs/"
# A state machine that stays RUNNING (a long Wait) so tests can stop it; moto does not execute it in decorator mode.
_DEFINITION = {
    "StartAt": "WaitForTraining",
    "States": {"WaitForTraining": {"Type": "Wait", "Seconds": 3600, "End": True}},
}


@cache
def client(service: str) -> Any:
    """One client per service for the whole test session (moto intercepts them all); building clients is slow."""
    return AwsSession.from_settings(region=REGION).client(service)


@dataclass
class MotoPipeline:
    state_machine_arn: str
    topic_arn: str
    outputs: dict[str, str]
    register_count: int = 0

    def create_stack(self, name: str, **extra_outputs: str) -> None:
        """A pipeline stack with these outputs (plus the standard ones) pointing at the same resources."""
        template = {
            "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {key: {"Value": value} for key, value in {**self.outputs, **extra_outputs}.items()},
        }
        client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))

    @property
    def table(self) -> Any:
        return AwsSession.from_settings(region=REGION).dynamodb_table(RUNS_TABLE)

    def put_run(self, **item: Any) -> dict[str, Any]:
        record = {
            facts.BY_CREATED_INDEX_PARTITION_KEY: facts.RECORD_TYPE_RUN,
            "status": facts.STATUS_REGISTERED,
            "created_at": "2026-11-25T10:00:00+00:00",
            **item,
        }
        record.setdefault("run_name", record["run_id"].rsplit("-", 1)[0])
        self.table.put_item(Item=record)
        return record

    def set_status(self, run_id: str, status: str) -> None:
        self.table.update_item(
            Key={"run_id": run_id},
            UpdateExpression="SET #s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": status},
        )

    def register(self, key: str, *, default_job: dict[str, Any] | None = None) -> None:
        """What the deployed trigger does for an upload of ``key``: RegisterRun for its current version."""
        from novaft.aws.runs_table import RunsTable
        from novaft.aws.s3_objects import S3Objects
        from novaft.pipeline.contracts import RegisterRunInput
        from novaft.pipeline.steps.register import register_run

        head = client("s3").head_object(Bucket=DATASETS_BUCKET, Key=key)
        event = {
            "detail-type": facts.S3_OBJECT_CREATED,
            "source": "aws.s3",
            "detail": {
                "bucket": {"name": DATASETS_BUCKET},
                "object": {"key": key, "version-id": head["VersionId"], "etag": head["ETag"].strip('"')},
            },
        }
        self.register_count += 1
        register_run(
            RegisterRunInput.model_validate(
                {"event": event, "execution_arn": self.start_execution(f"upload-{self.register_count}")}
            ),
            settings=self.function_settings(default_job),
            objects=S3Objects(client("s3")),
            runs=RunsTable(self.table),
            now="2026-11-25T12:00:00Z",
        )

    def function_settings(self, default_job: dict[str, Any] | None) -> Settings:
        """The settings the deployed stack gives its functions, read as they read them, from this stage's outputs."""
        outputs = self.outputs
        environment = {
            ENV_NAMES["stage"]: facts.DEFAULT_STAGE,
            ENV_NAMES["datasets_bucket"]: outputs[facts.OUTPUT_DATASETS_BUCKET],
            ENV_NAMES["artifacts_bucket"]: outputs[facts.OUTPUT_ARTIFACTS_BUCKET],
            ENV_NAMES["runs_table"]: outputs[facts.OUTPUT_RUNS_TABLE],
            ENV_NAMES["incoming_prefix"]: outputs[facts.OUTPUT_INCOMING_PREFIX],
            ENV_NAMES["runs_prefix"]: outputs[facts.OUTPUT_RUNS_PREFIX],
            "AWS_REGION": REGION,
        }
        if default_job is not None:
            environment[ENV_NAMES["default_job"]] = json.dumps(default_job)
        return Settings.from_env(environment)

    def start_execution(self, name: str) -> str:
        sfn = client("stepfunctions")
        return str(sfn.start_execution(stateMachineArn=self.state_machine_arn, name=name, input="{}")["executionArn"])

    def create_training_job(self, name: str, status: str = "InProgress", secondary: str = "Training") -> None:
        client("sagemaker").create_training_job(
            TrainingJobName=name,
            AlgorithmSpecification={"TrainingImage": "image:latest", "TrainingInputMode": "File"},
            RoleArn=f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/training",
            OutputDataConfig={"S3OutputPath": f"s3://{ARTIFACTS_BUCKET}/runs/"},
            ResourceConfig={"InstanceType": "ml.p5.48xlarge", "InstanceCount": 1, "VolumeSizeInGB": 50},
            StoppingCondition={"MaxRuntimeInSeconds": 3600},
        )
        self.set_training_status(name, status, secondary)

    def set_training_status(self, name: str, status: str, secondary: str | None = None) -> None:
        job = sagemaker_backends[DEFAULT_ACCOUNT_ID][REGION].training_jobs[name]
        job.training_job_status = status
        if secondary is not None:
            job.secondary_status = secondary


def _create_pipeline() -> MotoPipeline:
    dynamodb = client("dynamodb")
    create_runs_table(dynamodb, RUNS_TABLE)
    s3 = client("s3")
    for bucket in (DATASETS_BUCKET, ARTIFACTS_BUCKET):
        s3.create_bucket(Bucket=bucket)
    # As deployed: every upload to the datasets bucket is a new version.
    s3.put_bucket_versioning(Bucket=DATASETS_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    topic_arn = client("sns").create_topic(Name="novaft-test")["TopicArn"]
    state_machine_arn = client("stepfunctions").create_state_machine(
        name="novaft-test",
        definition=json.dumps(_DEFINITION),
        roleArn=f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/states",
    )["stateMachineArn"]
    outputs = {
        facts.OUTPUT_STATE_MACHINE_ARN: state_machine_arn,
        facts.OUTPUT_DATASETS_BUCKET: DATASETS_BUCKET,
        facts.OUTPUT_ARTIFACTS_BUCKET: ARTIFACTS_BUCKET,
        facts.OUTPUT_RUNS_TABLE: RUNS_TABLE,
        facts.OUTPUT_TOPIC_ARN: topic_arn,
        facts.OUTPUT_INCOMING_PREFIX: INCOMING_PREFIX,
        facts.OUTPUT_RUNS_PREFIX: RUNS_PREFIX,
    }
    pipeline = MotoPipeline(state_machine_arn=state_machine_arn, topic_arn=topic_arn, outputs=outputs)
    pipeline.create_stack(STACK_NAME)
    return pipeline


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials and a region; nothing from the machine's own AWS settings leaks in."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", facts.STAGE_ENV, "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))


@pytest.fixture
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Replace the CLI's clock: each sleep advances a fake clock instead of waiting. Returns the sleeps taken."""
    sleeps: list[float] = []
    monkeypatch.setattr(operator_cmds, "sleep", sleeps.append)
    monkeypatch.setattr(operator_cmds, "clock", lambda: float(sum(sleeps)))
    return sleeps


@pytest.fixture
def moto_pipeline(aws_env: None) -> Iterator[MotoPipeline]:
    with mock_aws():
        yield _create_pipeline()
