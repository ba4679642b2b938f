"""What a run leaves for people on the local emulated AWS: metrics.csv, the loss summary and report.html."""

from __future__ import annotations

import boto3
import pytest

from novaft.local.training import SIMULATED_STEPS, TrainingOutcome
from novaft.pipeline.facts import (
    METRICS_CSV_FILE,
    REPORT_HTML_FILE,
    STATUS_COMPLETED,
    STATUS_DATASET_INVALID,
    STATUS_FAILED,
)
from tests.e2e.conftest import SAMPLES, DeployedPipeline

pytestmark = pytest.mark.e2e


def _artifact_text(pipeline: DeployedPipeline, key: str) -> str:
    s3 = boto3.client("s3")
    body = s3.get_object(Bucket=pipeline.outputs["ArtifactsBucketName"], Key=key)["Body"].read()
    return str(body.decode("utf-8"))


def _run(pipeline: DeployedPipeline, key: str, body: bytes) -> dict[str, object]:
    pipeline.drop(key, body)
    (execution,) = pipeline.executions(key)
    pipeline.finished(execution)
    return pipeline.run_for(execution)


def test_a_completed_run_has_its_loss_curve_metrics_csv_and_report(pipeline: DeployedPipeline) -> None:
    run = _run(pipeline, "incoming/report-ok.jsonl", (SAMPLES / "sft-valid.jsonl").read_bytes())

    assert run["status"] == STATUS_COMPLETED
    summary = run["training_metrics"]
    assert isinstance(summary, dict) and int(summary["steps"]) == SIMULATED_STEPS
    csv = _artifact_text(pipeline, f"runs/{run['run_id']}/{METRICS_CSV_FILE}").splitlines()
    assert csv[0] == "step_number,training_loss" and len(csv) == SIMULATED_STEPS + 1
    page = _artifact_text(pipeline, f"runs/{run['run_id']}/{REPORT_HTML_FILE}")
    assert 'data-chart="loss"' in page and 'data-chart="token-histogram"' in page
    assert (
        run["report_html_s3_uri"] == f"s3://{pipeline.outputs['ArtifactsBucketName']}/runs/{run['run_id']}/report.html"
    )


def test_a_failed_job_report_shows_the_failure_and_the_loss_it_reached(pipeline: DeployedPipeline) -> None:
    pipeline.simulator.set_outcome(
        "report-oom", TrainingOutcome(status="Failed", failure_reason="AlgorithmError: out of memory")
    )
    run = _run(pipeline, "incoming/report-oom.jsonl", (SAMPLES / "sft-valid.jsonl").read_bytes())

    assert run["status"] == STATUS_FAILED
    page = _artifact_text(pipeline, f"runs/{run['run_id']}/{REPORT_HTML_FILE}")
    assert "out of memory" in page
    assert 'data-chart="loss"' in page


def test_an_invalid_dataset_report_lists_the_failure_and_its_lines(pipeline: DeployedPipeline) -> None:
    run = _run(pipeline, "incoming/report-broken.jsonl", (SAMPLES / "sft-broken.jsonl").read_bytes())

    assert run["status"] == STATUS_DATASET_INVALID
    page = _artifact_text(pipeline, f"runs/{run['run_id']}/{REPORT_HTML_FILE}")
    assert "DatasetInvalid" in page
    assert "Validation errors (first" in page and "by line" in page
