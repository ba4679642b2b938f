"""The operator CLI (``novaft submit / status / runs / cancel / report``) against the real stacks on the local AWS.

Each scenario calls the CLI in-process, exactly as a user types it; the module's emulator fixture has pointed the
standard AWS settings at the local endpoint, so the CLI discovers the deployed stack through CloudFormation.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest

from novaft.local.training import TrainingOutcome
from novaft.pipeline import facts
from tests.e2e.conftest import SAMPLES, STAGE, CliResult, DeployedPipeline

pytestmark = pytest.mark.e2e

FAST_WAIT = ["--interval", "0.2"]
SFT_VALID = SAMPLES / "sft-valid.jsonl"
SFT_BROKEN = SAMPLES / "sft-broken.jsonl"


def _field(status_text: str, label: str) -> str:
    """The value of one ``label   value`` row of ``novaft status``."""
    for line in status_text.splitlines():
        if line.startswith(label + " "):
            return line[len(label) :].strip()
    raise AssertionError(f"no {label!r} row in:\n{status_text}")


def _keys_under(bucket: str, prefix: str) -> list[str]:
    listing = boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix)
    return [item["Key"] for item in listing.get("Contents", [])]


def _wait_until(condition: Callable[[], bool], what: str, timeout_seconds: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_stack_publishes_the_default_job(pipeline: DeployedPipeline) -> None:
    default_job = json.loads(pipeline.outputs[facts.OUTPUT_DEFAULT_JOB])

    assert (default_job["model"], default_job["method"], default_job["peft"]) == ("micro", "sft", "lora")


def test_submit_and_wait_then_status_runs_and_report(
    pipeline: DeployedPipeline, novaft: Callable[..., CliResult]
) -> None:
    submitted = novaft("submit", str(SFT_VALID), "--run", "cli-happy", "--wait", *FAST_WAIT, "--timeout", "60", *STAGE)

    assert submitted.code == 0, submitted.out + submitted.err
    # Checked locally against the stack's default job before anything was uploaded.
    assert "skipped the local check" not in submitted.out
    lines = submitted.out.splitlines()
    uploaded = next(index for index, line in enumerate(lines) if line.startswith("uploaded "))
    assert lines[uploaded].endswith(f"/{facts.DEFAULT_INCOMING_PREFIX}cli-happy/{facts.TRAIN_FILE}")
    progress = [line for line in lines if "  workflow " in line]
    assert len(progress) >= 2, submitted.out
    assert "training InProgress" in submitted.out
    assert progress[-1].split("  ")[1] == "Completed"

    status = novaft("status", "cli-happy", *STAGE)
    assert status.code == 0, status.err
    assert _field(status.out, "status") == facts.STATUS_COMPLETED
    assert _field(status.out, "workflow") == "SUCCEEDED, ended in state RunSucceeded"
    assert _field(status.out, "training").startswith("Completed / Completed  (job novaft-cli-happy-")
    assert _field(status.out, "checkpoint").startswith("s3://customer-escrow-")
    # A local endpoint has no console to link to.
    assert "console.aws.amazon.com" not in status.out

    runs = novaft("runs", *STAGE)
    assert runs.code == 0, runs.err
    header, *rows = runs.out.splitlines()
    assert header.split()[:4] == ["RUN", "ATTEMPT", "RUN", "ID"]
    happy = [row.split() for row in rows if row.startswith("cli-happy ")]
    assert len(happy) == 1 and happy[0][1] == "1" and happy[0][3] == "Completed"

    report = novaft("report", "cli-happy", *STAGE)
    assert report.code == 0, report.err
    assert report.out.splitlines()[0].endswith(": valid")
    as_json = novaft("report", "cli-happy", "--format", "json", *STAGE)
    assert json.loads(as_json.out)["valid"] is True


def test_submit_of_invalid_data_uploads_nothing(pipeline: DeployedPipeline, novaft: Callable[..., CliResult]) -> None:
    result = novaft("submit", str(SFT_BROKEN), "--run", "cli-broken", *STAGE)

    assert result.code == 1
    assert "nothing uploaded" in result.out
    assert (
        _keys_under(pipeline.outputs[facts.OUTPUT_DATASETS_BUCKET], f"{facts.DEFAULT_INCOMING_PREFIX}cli-broken") == []
    )
    assert pipeline.runs_named("cli-broken") == []


def test_report_and_status_of_data_the_pipeline_rejected(
    pipeline: DeployedPipeline, novaft: Callable[..., CliResult]
) -> None:
    # Bypass submit's local check: the pipeline's own validation must catch it.
    pipeline.drop("incoming/cli-direct-broken.jsonl", SFT_BROKEN.read_bytes())
    (execution,) = pipeline.executions("incoming/cli-direct-broken.jsonl")
    assert pipeline.finished(execution)["status"] == "FAILED"

    report = novaft("report", "cli-direct-broken", *STAGE)
    status = novaft("status", "cli-direct-broken", *STAGE)

    assert report.code == 0, report.err
    assert report.out.splitlines()[0].endswith(": INVALID")
    # Line-numbered errors: ``train:<line>  <code>  ...``, one per broken line of the sample.
    error_lines = [line.split()[0] for line in report.out.splitlines() if line.strip().startswith("train:")]
    assert {"train:2", "train:3", "train:4", "train:5"} <= set(error_lines), report.out
    assert status.code == 0, status.err
    assert _field(status.out, "status") == facts.STATUS_DATASET_INVALID
    assert _field(status.out, "failure").startswith(facts.STATUS_DATASET_INVALID)
    assert _field(status.out, "workflow") == "FAILED, ended in state RunFailed"
    assert _field(status.out, "training") == "not started"


def test_cancel_mid_training_stops_job_and_execution(
    pipeline: DeployedPipeline, novaft: Callable[..., CliResult], tmp_path: Path
) -> None:
    pipeline.simulator.set_outcome("cli-cancel", TrainingOutcome(duration_seconds=300))
    job = tmp_path / "job.yaml"
    job.write_text("model: micro\nmethod: sft\npeft: lora\nhyperparameters:\n  epochs: 1\n", encoding="utf-8")

    submitted = novaft("submit", str(SFT_VALID), "--job", str(job), "--run", "cli-cancel", *STAGE)
    assert submitted.code == 0, submitted.out + submitted.err
    keys = [line.rsplit("/", 1)[-1] for line in submitted.out.splitlines() if line.startswith("uploaded ")]
    assert keys == [facts.JOB_FILE, facts.TRAIN_FILE]
    _wait_until(lambda: pipeline.training_jobs_containing("cli-cancel") != [], "the training job to start")

    cancelled = novaft("cancel", "cli-cancel", *FAST_WAIT, "--timeout", "20", *STAGE)

    assert cancelled.code == 0, cancelled.out + cancelled.err
    assert "stopping training job novaft-cli-cancel-" in cancelled.out
    assert "stopping execution " in cancelled.out
    # cancel waits (briefly) for the pipeline's stop_run to record the run, then shows it.
    assert _field(cancelled.out, "status") == "Stopped"
    assert _field(cancelled.out, "workflow").startswith("ABORTED")
    (job_name,) = pipeline.training_jobs_containing("cli-cancel")
    sagemaker = boto3.client("sagemaker")
    _wait_until(
        lambda: sagemaker.describe_training_job(TrainingJobName=job_name)["TrainingJobStatus"] == "Stopped",
        "the training job to be Stopped",
    )
    (run,) = pipeline.runs_named("cli-cancel")
    execution = boto3.client("stepfunctions").describe_execution(executionArn=run["execution_arn"])
    assert execution["status"] == "ABORTED"
    _wait_until(lambda: pipeline.runs_named("cli-cancel")[0]["status"] == "Stopped", "the run to be recorded Stopped")
    status = novaft("status", "cli-cancel", *STAGE)
    assert _field(status.out, "status") == "Stopped"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["status", "no-such-run", *STAGE], "no run with id or name 'no-such-run'"),
        (["runs", "--stack", "Novaft-nope-Pipeline"], "no stack Novaft-nope-Pipeline in region us-east-1"),
    ],
)
def test_lookups_that_find_nothing_fail_with_one_line(
    pipeline: DeployedPipeline, novaft: Callable[..., CliResult], args: list[str], expected: str
) -> None:
    result = novaft(*args)

    assert result.code == facts.ExitCode.USAGE
    assert result.out == ""
    assert result.err.count("\n") == 1 and result.err.startswith("novaft: "), result.err
    assert expected in result.err
    assert "Traceback" not in result.err


def test_missing_credentials_fail_with_one_line(
    pipeline: DeployedPipeline, novaft: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The emulator's environment already disables profiles and the instance metadata service.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)

    result = novaft("runs", *STAGE)

    assert result.code == 2
    assert result.err.count("\n") == 1 and result.err.startswith("novaft: no usable AWS credentials"), result.err
