"""Approval and the training-slot queue on the local AWS, with a stage policy of one job at a time.

The stage asks for approval above $1 (the sample dataset estimates at $0.00; a 3,000-record copy of it at about $1.3)
and gives up on an answer after 18 s, so every scenario runs in seconds.
"""

from __future__ import annotations

import itertools
import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from novaft.cli import main
from novaft.local.assembly import LOCAL_STAGE, synthesize_local
from novaft.local.deploy import deploy_assembly
from novaft.local.server import local_aws
from novaft.local.training import TrainingOutcome, TrainingSimulator
from novaft.pipeline import facts
from tests.e2e.conftest import SAMPLES, WAIT_STATE_SECONDS, DeployedPipeline, _reset_emulated_account

pytestmark = pytest.mark.e2e

APPROVAL_TIMEOUT_SECONDS = 18
GUARDED_POLICY = {
    "max_concurrent_jobs": 1,
    "approval_above_usd": 1.0,
    "approval_timeout_hours": APPROVAL_TIMEOUT_SECONDS / 3600,
}
TRAINING_SECONDS = 2.0
SFT = (SAMPLES / "sft-valid.jsonl").read_bytes()
# About $1.3 on micro (ml.p5.48xlarge x 2 in us-east-1): above the stage's approval threshold.
LARGE_SFT = SFT.splitlines(keepends=True)[0] * 3000
STAGE = ["--stage", LOCAL_STAGE]


@pytest.fixture(scope="module")
def guarded() -> Iterator[DeployedPipeline]:
    assembly = synthesize_local(Path(tempfile.mkdtemp(prefix="novaft-e2e-guarded-")), policy=GUARDED_POLICY)
    simulator = TrainingSimulator(max_wait_state_seconds=WAIT_STATE_SECONDS)
    simulator.default = TrainingOutcome(duration_seconds=TRAINING_SECONDS)
    with local_aws(simulator=simulator) as aws:
        _reset_emulated_account(aws.endpoint_url)
        deployed = deploy_assembly(assembly)
        outputs = next(stack.outputs for name, stack in deployed.items() if name.endswith("-Pipeline"))
        yield DeployedPipeline(aws, outputs)


def _wait_until(condition: Any, what: str, timeout_seconds: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _status(pipeline: DeployedPipeline, execution: str) -> str | None:
    try:
        return str(pipeline.run_for(execution).get("status"))
    except AssertionError:
        return None  # not registered yet


def _awaiting_approval(pipeline: DeployedPipeline, name: str) -> tuple[str, dict[str, Any]]:
    pipeline.drop(f"incoming/{name}.jsonl", LARGE_SFT)
    (execution,) = pipeline.executions(f"incoming/{name}.jsonl")
    _wait_until(lambda: _status(pipeline, execution) == facts.STATUS_AWAITING_APPROVAL, f"{name} to await approval")
    return execution, pipeline.run_for(execution)


def test_a_run_over_the_threshold_waits_and_trains_once_approved(
    guarded: DeployedPipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    execution, run = _awaiting_approval(guarded, "approve-me")
    assert run["approval_task_token"] and run["approval_reasons"]
    assert guarded.training_jobs_containing("approve-me") == []

    assert main(["approve", run["run_id"], *STAGE]) == 0

    assert f"run {run['run_id']} approved by arn:aws:" in capsys.readouterr().out
    assert guarded.finished(execution)["status"] == "SUCCEEDED"
    recorded = guarded.run_for(execution)
    assert recorded["status"] == facts.STATUS_COMPLETED
    assert recorded["approved_by"].startswith("arn:aws:") and recorded["approved_at"]
    assert len(guarded.training_jobs_containing("approve-me")) == 1


def test_a_rejected_run_starts_no_job(guarded: DeployedPipeline) -> None:
    execution, run = _awaiting_approval(guarded, "reject-me")

    assert main(["reject", run["run_id"], *STAGE, "--reason", "too big for this week"]) == 0

    described = guarded.finished(execution)
    assert (described["status"], described.get("error")) == ("FAILED", facts.APPROVAL_REJECTED_ERROR)
    recorded = guarded.run_for(execution)
    assert recorded["status"] == facts.STATUS_REJECTED
    assert recorded["rejection_reason"] == "too big for this week" and recorded["rejected_by"].startswith("arn:aws:")
    assert "too big for this week" in recorded["failure_cause"]
    assert guarded.training_jobs_containing("reject-me") == []


def test_an_unanswered_approval_times_out_as_rejected(guarded: DeployedPipeline) -> None:
    execution, _ = _awaiting_approval(guarded, "nobody-answers")

    described = guarded.finished(execution, timeout_seconds=APPROVAL_TIMEOUT_SECONDS + 30)

    assert (described["status"], described.get("error")) == ("FAILED", facts.APPROVAL_REJECTED_ERROR)
    recorded = guarded.run_for(execution)
    assert recorded["status"] == facts.STATUS_REJECTED
    assert recorded["failure_cause"] == facts.APPROVAL_TIMED_OUT_CAUSE
    assert guarded.training_jobs_containing("nobody-answers") == []


def _training_windows(names: list[str]) -> list[tuple[float, float]]:
    sagemaker = boto3.client("sagemaker")
    windows = []
    for name in names:
        (job,) = [
            summary
            for page in sagemaker.get_paginator("list_training_jobs").paginate()
            for summary in page["TrainingJobSummaries"]
            if name in summary["TrainingJobName"]
        ]
        described = sagemaker.describe_training_job(TrainingJobName=job["TrainingJobName"])
        windows.append((described["CreationTime"].timestamp(), described["TrainingEndTime"].timestamp()))
    return windows


def test_three_drops_with_one_slot_train_one_at_a_time_in_order(guarded: DeployedPipeline) -> None:
    names = ["queue-first", "queue-second", "queue-third"]
    executions = []
    for name in names:
        guarded.drop(f"incoming/{name}.jsonl", SFT)
        (execution,) = guarded.executions(f"incoming/{name}.jsonl")
        executions.append(execution)
        # Arrival order is the order they asked for a slot: each registers before the next drop.
        _wait_until(lambda e=execution: _status(guarded, e) not in (None, facts.STATUS_REGISTERED), f"{name} to start")
    _wait_until(
        lambda: _status(guarded, executions[2]) == facts.STATUS_QUEUED, "the third run to be queued", timeout_seconds=20
    )
    assert guarded.run_for(executions[2])["queue_place"] >= 1

    assert [guarded.finished(e, timeout_seconds=60)["status"] for e in executions] == ["SUCCEEDED"] * 3

    windows = _training_windows(names)
    starts = [start for start, _ in windows]
    assert starts == sorted(starts), "the runs started in arrival order"
    for (_, end), (next_start, _) in itertools.pairwise(windows):
        assert next_start >= end - 0.5, "a job started while another was still training"


def test_aborting_a_running_run_frees_its_slot_for_the_next(guarded: DeployedPipeline) -> None:
    guarded.simulator.set_outcome("abort-holder", TrainingOutcome(duration_seconds=300))
    guarded.drop("incoming/abort-holder.jsonl", SFT)
    (holder,) = guarded.executions("incoming/abort-holder.jsonl")
    _wait_until(lambda: guarded.training_jobs_containing("abort-holder") != [], "the first job to start")
    guarded.drop("incoming/abort-next.jsonl", SFT)
    (waiting,) = guarded.executions("incoming/abort-next.jsonl")
    _wait_until(lambda: _status(guarded, waiting) == facts.STATUS_QUEUED, "the second run to be queued")

    boto3.client("stepfunctions").stop_execution(executionArn=holder)

    assert guarded.finished(waiting, timeout_seconds=60)["status"] == "SUCCEEDED"
    assert guarded.run_for(holder)["status"] == facts.STATUS_STOPPED
    slots = (
        boto3.resource("dynamodb")
        .Table(guarded.outputs[facts.OUTPUT_RUNS_TABLE])
        .get_item(Key={facts.RUNS_TABLE_PARTITION_KEY: f"{facts.JOB_SLOTS_KEY_PREFIX}{facts.TRAINING_SLOT_POOL}"})[
            "Item"
        ]
    )
    assert json.loads(json.dumps(slots[facts.JOB_SLOTS_HOLDERS_ATTRIBUTE])) == {}


def test_an_account_quota_refusal_queues_the_run_then_it_starts(guarded: DeployedPipeline) -> None:
    guarded.simulator.refuse_for_quota("quota-bound", times=2)
    guarded.drop("incoming/quota-bound.jsonl", SFT)
    (execution,) = guarded.executions("incoming/quota-bound.jsonl")

    def queued_for_quota() -> bool:
        if _status(guarded, execution) != facts.STATUS_QUEUED:
            return False
        return "ResourceLimitExceeded" in str(guarded.run_for(execution).get("queue_reason"))

    _wait_until(queued_for_quota, "the run to be queued for the account quota")

    assert guarded.finished(execution, timeout_seconds=60)["status"] == "SUCCEEDED"
    assert guarded.run_for(execution)["status"] == facts.STATUS_COMPLETED
    assert len(guarded.training_jobs_containing("quota-bound")) == 1
    assert guarded.simulator.quota_refusals["quota-bound"] == 0
