"""The real synthesized stacks on the local emulated AWS, driven as a user would: by dropping files into S3."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest

from novaft.local.training import TrainingOutcome
from novaft.pipeline.facts import STATUS_POLICY_VIOLATION
from novaft.policy import PolicyViolation
from tests.e2e.conftest import SAMPLES, DeployedPipeline

pytestmark = pytest.mark.e2e

SFT = (SAMPLES / "sft-valid.jsonl").read_bytes()
DPO = (SAMPLES / "dpo-valid.jsonl").read_bytes()
BROKEN = (SAMPLES / "sft-broken.jsonl").read_bytes()


def _succeeded_run(pipeline: DeployedPipeline, key: str) -> dict[str, Any]:
    (execution,) = pipeline.executions(key)
    description = pipeline.finished(execution)
    assert description["status"] == "SUCCEEDED", description.get("cause") or description.get("error")
    return pipeline.run_for(execution)


def test_happy_sft_lora_on_micro(pipeline: DeployedPipeline) -> None:
    pipeline.drop("incoming/happy-sft.jsonl", SFT)

    run = _succeeded_run(pipeline, "incoming/happy-sft.jsonl")

    assert run["status"] == "Completed"
    assert str(run["checkpoint_s3_uri"]).startswith("s3://customer-escrow-")
    report = pipeline.artifact_json(f"runs/{run['run_id']}/validation-report.json")
    assert report["valid"] is True
    assert pipeline.training_jobs_containing("happy-sft") == [run["training_job_name"]]


def test_a_key_with_a_space_and_a_plus_is_read_back_exactly(pipeline: DeployedPipeline) -> None:
    # S3 sends the key URL-encoded ("incoming/my+run%2B1.jsonl"); the pipeline must read the object it names.
    pipeline.drop("incoming/my run+1.jsonl", SFT)

    run = _succeeded_run(pipeline, "incoming/my run+1.jsonl")

    assert run["dataset"]["train"]["key"] == "incoming/my run+1.jsonl"
    assert run["status"] == "Completed"


def test_happy_dpo_on_lite_with_validation_set_and_job_yaml(pipeline: DeployedPipeline) -> None:
    pipeline.drop("incoming/happy-dpo/validation.jsonl", DPO)
    # One hour: 4 x ml.p5.48xlarge for the default 24 h would pass the dev policy's max_run_usd (docs/policy.md).
    pipeline.drop(
        "incoming/happy-dpo/job.yaml",
        b"model: lite\nmethod: dpo\npeft: lora\nmax_runtime_seconds: 3600\nhyperparameters:\n  dpo_beta: 0.1\n",
    )
    pipeline.drop("incoming/happy-dpo/train.jsonl", DPO)

    run = _succeeded_run(pipeline, "incoming/happy-dpo/train.jsonl")

    assert run["status"] == "Completed"
    job = boto3.client("sagemaker").describe_training_job(TrainingJobName=run["training_job_name"])
    channels = {channel["ChannelName"] for channel in job["InputDataConfig"]}
    assert {"train", "validation"} <= channels


def test_invalid_dataset_is_reported_and_never_trains(pipeline: DeployedPipeline) -> None:
    sqs, sns = boto3.client("sqs"), boto3.client("sns")
    queue_url = sqs.create_queue(QueueName="e2e-notifications")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=pipeline.outputs["TopicArn"], Protocol="sqs", Endpoint=queue_arn)
    pipeline.drop("incoming/broken-data.jsonl", BROKEN)
    etag = boto3.client("s3").head_object(
        Bucket=pipeline.outputs["DatasetsBucketName"], Key="incoming/broken-data.jsonl"
    )["ETag"]

    (execution,) = pipeline.executions("incoming/broken-data.jsonl")
    description = pipeline.finished(execution)

    assert (description["status"], description.get("error")) == ("FAILED", "DatasetInvalid")
    run = pipeline.run_for(execution)
    assert run["status"] == "DatasetInvalid"
    report = pipeline.artifact_json(f"runs/{run['run_id']}/validation-report.json")
    assert report["valid"] is False
    assert pipeline.training_jobs_containing("broken-data") == []
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    assert any("broken-data" in message["Body"] for message in messages)
    untouched = boto3.client("s3").head_object(
        Bucket=pipeline.outputs["DatasetsBucketName"], Key="incoming/broken-data.jsonl"
    )
    assert untouched["ETag"] == etag


def test_training_failure_is_recorded_with_its_reason(pipeline: DeployedPipeline) -> None:
    pipeline.simulator.set_outcome(
        "train-fails",
        TrainingOutcome(status="Failed", failure_reason="AlgorithmError: CUDA out of memory", duration_seconds=0.5),
    )
    pipeline.drop("incoming/train-fails.jsonl", SFT)

    (execution,) = pipeline.executions("incoming/train-fails.jsonl")
    description = pipeline.finished(execution)

    assert description["status"] == "FAILED"
    run = pipeline.run_for(execution)
    assert run["status"] == "Failed"
    assert "CUDA out of memory" in json.dumps(run, default=str)


def test_cancel_mid_training_stops_the_job(pipeline: DeployedPipeline) -> None:
    pipeline.simulator.set_outcome("cancel-me", TrainingOutcome(duration_seconds=300))
    pipeline.drop("incoming/cancel-me.jsonl", SFT)
    (execution,) = pipeline.executions("incoming/cancel-me.jsonl")
    stepfunctions = boto3.client("stepfunctions")
    _wait_until(lambda: pipeline.training_jobs_containing("cancel-me") != [], "the training job to start")

    stepfunctions.stop_execution(executionArn=execution)

    assert pipeline.finished(execution)["status"] == "ABORTED"
    _wait_until(lambda: pipeline.run_for(execution)["status"] == "Stopped", "the run to be recorded as Stopped")
    (job_name,) = pipeline.training_jobs_containing("cancel-me")
    status = boto3.client("sagemaker").describe_training_job(TrainingJobName=job_name)["TrainingJobStatus"]
    assert status in ("Stopping", "Stopped")


def test_the_same_s3_event_twice_makes_one_run_and_one_job(pipeline: DeployedPipeline) -> None:
    pipeline.drop("incoming/delivered-twice.jsonl", SFT)
    (first,) = pipeline.executions("incoming/delivered-twice.jsonl")
    stepfunctions = boto3.client("stepfunctions")
    event = stepfunctions.describe_execution(executionArn=first)["input"]

    # EventBridge delivers at least once: the rule's target receives the same event again.
    second = stepfunctions.start_execution(
        stateMachineArn=pipeline.outputs["StateMachineArn"], name="redelivered-event", input=event
    )["executionArn"]

    assert pipeline.finished(first)["status"] == "SUCCEEDED"
    assert pipeline.finished(second)["status"] == "SUCCEEDED"
    assert len(pipeline.runs_named("delivered-twice")) == 1
    assert len(pipeline.training_jobs_containing("delivered-twice")) == 1


def test_identical_bytes_uploaded_three_times_make_one_run_and_one_job(pipeline: DeployedPipeline) -> None:
    # A retried `aws s3 cp`: every PUT is a new version of the same bytes, and a new event.
    for _ in range(3):
        pipeline.drop("incoming/uploaded-thrice.jsonl", SFT)

    executions = pipeline.executions("incoming/uploaded-thrice.jsonl", count=3)
    outcomes = [pipeline.finished(arn, timeout_seconds=60) for arn in executions]

    assert [outcome["status"] for outcome in outcomes] == ["SUCCEEDED"] * 3
    (run,) = pipeline.runs_named("uploaded-thrice")
    assert run["status"] == "Completed" and run["attempt"] == 1
    assert pipeline.training_jobs_containing("uploaded-thrice") == [run["training_job_name"]]
    # Executions of near-simultaneous uploads may register in any order: exactly one registers the run, and the
    # other two end as duplicates naming it.
    routed = [json.loads(outcome["output"]) for outcome in outcomes]
    duplicates = [output for output in routed if output.get("duplicate")]
    assert len(duplicates) == 2
    assert all(d["run_id"] == run["run_id"] for d in duplicates)
    assert all(d["existing_execution_arn"] == run["execution_arn"] for d in duplicates)
    assert run["execution_arn"] in executions
    versions = {json.loads(outcome["input"])["detail"]["object"]["version-id"] for outcome in outcomes}
    assert len(versions) == 3 and "null" not in versions  # the emulator versions the bucket as S3 does


def test_changed_bytes_under_the_same_name_are_attempt_two(pipeline: DeployedPipeline) -> None:
    pipeline.drop("incoming/retrained.jsonl", SFT)
    (first,) = pipeline.executions("incoming/retrained.jsonl")
    assert pipeline.finished(first, timeout_seconds=60)["status"] == "SUCCEEDED"
    pipeline.drop("incoming/retrained.jsonl", SFT + SFT.splitlines(keepends=True)[0])

    second = pipeline.executions("incoming/retrained.jsonl", count=2)[1]
    assert pipeline.finished(second, timeout_seconds=60)["status"] == "SUCCEEDED"

    attempts = {run["attempt"]: run for run in pipeline.runs_named("retrained")}
    assert sorted(attempts) == [1, 2]
    assert attempts[1]["execution_arn"] == first and attempts[2]["execution_arn"] == second
    assert attempts[1]["status"] == attempts[2]["status"] == "Completed"
    assert len(pipeline.training_jobs_containing("retrained")) == 2


def test_data_overwritten_after_validation_does_not_reach_the_job(pipeline: DeployedPipeline) -> None:
    pipeline.drop("incoming/swapped-after/train.jsonl", SFT)
    (execution,) = pipeline.executions("incoming/swapped-after/train.jsonl")

    def validated() -> bool:
        return any("inputs" in run for run in pipeline.runs_named("swapped-after"))

    _wait_until(validated, "the run's validated inputs to be snapshotted")
    # Whoever can write incoming/ swaps the data once it passed validation.
    pipeline.drop("incoming/swapped-after/train.jsonl", BROKEN)

    assert pipeline.finished(execution, timeout_seconds=60)["status"] == "SUCCEEDED"
    run = pipeline.run_for(execution)
    job = boto3.client("sagemaker").describe_training_job(TrainingJobName=run["training_job_name"])
    (train,) = [channel for channel in job["InputDataConfig"] if channel["ChannelName"] == "train"]
    bucket, _, key = train["DataSource"]["S3DataSource"]["S3Uri"].removeprefix("s3://").partition("/")
    assert bucket == pipeline.outputs["ArtifactsBucketName"] and key.startswith(f"runs/{run['run_id']}/input/")
    assert boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read() == SFT
    assert len(pipeline.runs_named("swapped-after")) == 2  # the swapped file is new content: its own attempt


def test_job_yaml_with_a_bad_override_fails_clearly_without_a_job(pipeline: DeployedPipeline) -> None:
    pipeline.drop(
        "incoming/bad-override/job.yaml",
        b"model: micro\nmethod: sft\npeft: lora\nhyperparameters:\n  lr: 5.0\n  dpo_beta: 0.1\n",
    )
    pipeline.drop("incoming/bad-override/train.jsonl", SFT)

    (execution,) = pipeline.executions("incoming/bad-override/train.jsonl")
    description = pipeline.finished(execution)

    assert (description["status"], description.get("error")) == ("FAILED", "JobSpecInvalid")
    assert "job.yaml" in description.get("cause", "")
    assert pipeline.training_jobs_containing("bad-override") == []


def test_a_job_yaml_over_the_stage_policy_is_refused_recorded_and_never_trains(pipeline: DeployedPipeline) -> None:
    pipeline.drop("incoming/over-policy/job.yaml", b"model: micro\nmethod: sft\npeft: lora\ninstance_count: 8\n")
    pipeline.drop("incoming/over-policy/train.jsonl", SFT)

    (execution,) = pipeline.executions("incoming/over-policy/train.jsonl")
    description = pipeline.finished(execution)

    assert (description["status"], description.get("error")) == ("FAILED", PolicyViolation.workflow_error)
    assert "max_instance_count" in description.get("cause", "")
    run = pipeline.run_for(execution)
    assert run["status"] == STATUS_POLICY_VIOLATION
    assert "max_instance_count" in {finding["rule"] for finding in run["policy_findings"]}
    assert pipeline.training_jobs_containing("over-policy") == []


def test_five_datasets_at_once_make_five_recorded_runs(pipeline: DeployedPipeline) -> None:
    keys = [f"incoming/batch-{index}.jsonl" for index in range(5)]
    for key in keys:
        pipeline.drop(key, SFT)

    executions = [arn for key in keys for arn in pipeline.executions(key)]
    statuses = [pipeline.finished(arn, timeout_seconds=60)["status"] for arn in executions]

    assert statuses == ["SUCCEEDED"] * 5
    assert sorted(pipeline.run_for(arn)["status"] for arn in executions) == ["Completed"] * 5
    assert len(pipeline.training_jobs_containing("batch-")) == 5


def _wait_until(condition: Any, what: str, timeout_seconds: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
