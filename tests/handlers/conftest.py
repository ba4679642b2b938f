"""Handlers run in-process against moto: real boto3 calls, no network, a fake Lambda context."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import boto3
import pytest
from moto import mock_aws

from lambdas.handlers import runtime
from novaft.aws.clients import reset_clients
from novaft.local.lambda_runner import LocalLambdaContext
from tests.runs_table_schema import create_runs_table

EVENTS_DIR = Path(__file__).parent / "events"
REGION = "us-east-1"
DATASETS_BUCKET = "novaft-dev-datasets"
ARTIFACTS_BUCKET = "novaft-dev-artifacts"
RUNS_TABLE = "novaft-dev-runs"
ROLE_ARN = "arn:aws:iam::123456789012:role/novaft-dev-training"
DEFAULT_JOB = {"model": "micro", "method": "sft", "peft": "lora"}


# The context the local emulator hands its functions serves the in-process handler tests too.
FakeLambdaContext = LocalLambdaContext


def fake_lambda_context(function_name: str = "novaft-test") -> FakeLambdaContext:
    return FakeLambdaContext(
        function_name=function_name,
        invoked_function_arn=f"arn:aws:lambda:{REGION}:123456789012:function:{function_name}",
        memory_limit_in_mb=512,
        timeout_seconds=300,
    )


def load_event(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS_DIR / name).read_text())
    return loaded


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return fake_lambda_context()


@dataclass
class Aws:
    s3: Any
    dynamodb: Any
    sns: Any
    sqs: Any
    sagemaker: Any
    topic_arn: str
    queue_url: str

    def item(self, run_id: str) -> dict[str, Any]:
        table = boto3.resource("dynamodb", region_name=REGION).Table(RUNS_TABLE)
        return dict(table.get_item(Key={"run_id": run_id}).get("Item") or {})

    def put_item(self, item: dict[str, Any]) -> None:
        boto3.resource("dynamodb", region_name=REGION).Table(RUNS_TABLE).put_item(Item=item)

    def upload(self, key: str, body: bytes) -> str:
        """Put a new version of ``key`` in the datasets bucket; its version id."""
        return str(self.s3.put_object(Bucket=DATASETS_BUCKET, Key=key, Body=body)["VersionId"])

    def uploaded_event(self, fixture: str, key: str, body: bytes) -> dict[str, Any]:
        """``fixture``'s RegisterRun payload for a new version of ``key`` holding ``body``, as S3 would send it."""
        event = load_event(fixture)
        version_id = self.upload(key, body)
        head = self.s3.head_object(Bucket=DATASETS_BUCKET, Key=key, VersionId=version_id)
        event["event"]["detail"]["object"].update(
            {
                "key": quote_plus(key, safe="/"),
                "version-id": version_id,
                "etag": head["ETag"].strip('"'),
                "size": len(body),
            }
        )
        return event

    def read_json(self, bucket: str, key: str) -> Any:
        return json.loads(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())

    def notifications(self) -> list[dict[str, Any]]:
        messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(message["Body"]) for message in messages]


ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "POWERTOOLS_SERVICE_NAME": "novaft",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "Novaft",
    "NOVAFT_STAGE": "dev",
    "NOVAFT_DATASETS_BUCKET": DATASETS_BUCKET,
    "NOVAFT_ARTIFACTS_BUCKET": ARTIFACTS_BUCKET,
    "NOVAFT_RUNS_TABLE": RUNS_TABLE,
    "NOVAFT_TRAINING_ROLE_ARN": ROLE_ARN,
    "NOVAFT_DEFAULT_JOB": json.dumps(DEFAULT_JOB),
    "NOVAFT_INCOMING_PREFIX": "incoming/",
    "NOVAFT_RUNS_PREFIX": "runs/",
    "NOVAFT_MAX_TRAINING_SECONDS": str(120 * 3600),
    "NOVAFT_TOPIC_ARN": f"arn:aws:sns:{REGION}:123456789012:novaft-dev-runs",
}


@pytest.fixture(scope="package")
def mocked_aws() -> Iterator[Any]:
    """One moto mock for this folder (creating boto3 clients is the slow part); each test resets its state.

    Package scope, so the in-process mock is gone before tests that talk to a moto server over HTTP.
    """
    with pytest.MonkeyPatch.context() as patch:
        for name, value in ENVIRONMENT.items():
            patch.setenv(name, value)
        for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
            patch.delenv(name, raising=False)
        reset_clients()
        runtime.reset()
        with mock_aws() as mock:
            yield mock
        reset_clients()
        runtime.reset()


@pytest.fixture(scope="package")
def clients(mocked_aws: Any) -> dict[str, Any]:
    return {name: boto3.client(name, region_name=REGION) for name in ("s3", "dynamodb", "sns", "sqs", "sagemaker")}


@pytest.fixture
def aws(mocked_aws: Any, clients: dict[str, Any]) -> Aws:
    mocked_aws.reset()
    runtime.reset()
    s3 = clients["s3"]
    for bucket in (DATASETS_BUCKET, ARTIFACTS_BUCKET):
        s3.create_bucket(Bucket=bucket)
    # As deployed (stacks/data_stack.py): every upload to the datasets bucket is a new version.
    s3.put_bucket_versioning(Bucket=DATASETS_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    create_runs_table(clients["dynamodb"], RUNS_TABLE)
    sns, sqs = clients["sns"], clients["sqs"]
    topic_arn = sns.create_topic(Name="novaft-dev-runs")["TopicArn"]
    assert topic_arn == ENVIRONMENT["NOVAFT_TOPIC_ARN"]
    queue_url = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "false"})
    return Aws(s3, clients["dynamodb"], sns, sqs, clients["sagemaker"], topic_arn, queue_url)
