"""RecordResult's metrics.csv, run-record summary and report.html (novaft/pipeline/steps/run_report.py)."""

from __future__ import annotations

import json
from collections.abc import Iterable

from novaft.pipeline.facts import (
    METRICS_CSV_FILE,
    OUTPUT_MANIFEST_FILE,
    REPORT_HTML_FILE,
    STATUS_COMPLETED,
    STATUS_DATASET_INVALID,
    STATUS_FAILED,
    STATUS_TRAINING,
    TRAINING_METRICS_ARCHIVE_FILE,
    VALIDATION_REPORT_FILE,
)
from novaft.report.metrics import SOURCE_ARCHIVE, SOURCE_LOGS
from tests.unit.pipeline.fakes import ARTIFACTS_BUCKET, JOB, RUN, FakeObjectStore, FakeTrainingJobs, registered_runs
from tests.unit.pipeline.steps.recording import ARCHIVE_KEY, after_failure, after_training, output_archive, record

REPORT_KEY = f"{RUN.artifacts_prefix}{REPORT_HTML_FILE}"
CHECKPOINT = "s3://customer-escrow-123456789012-smtj-abc/demo/step_10"


class FakeLogs:
    def __init__(self, lines: list[str]) -> None:
        self._lines = lines
        self.asked: list[str] = []

    def lines(self, job_name: str) -> Iterable[str]:
        self.asked.append(job_name)
        return iter(self._lines)


def _archive(csv: bytes | None) -> bytes:
    files = {OUTPUT_MANIFEST_FILE: json.dumps({"checkpoint_s3_bucket": CHECKPOINT}).encode()}
    if csv is not None:
        files[TRAINING_METRICS_ARCHIVE_FILE] = csv
    return output_archive(files)


def _jobs(status: str = STATUS_COMPLETED) -> FakeTrainingJobs:
    jobs = FakeTrainingJobs()
    jobs.add(JOB, status=status, BillableTimeInSeconds=600, ResourceConfig={"InstanceCount": 1})
    return jobs


def test_a_completed_job_saves_the_archive_loss_curve_summarizes_it_and_writes_the_report() -> None:
    objects, runs = FakeObjectStore(), registered_runs(STATUS_TRAINING)
    objects.add(ARTIFACTS_BUCKET, ARCHIVE_KEY, _archive(b"step_number,training_loss\n1,2.0\n2,0.5\n3,0.75\n"))
    logs = FakeLogs(["global_step: 1 reduced_train_loss: 9.9"])

    recorded = record(after_training(), objects, runs, _jobs(), logs=logs)

    assert logs.asked == []  # the archive had the CSV
    assert objects.text(ARTIFACTS_BUCKET, f"{RUN.artifacts_prefix}{METRICS_CSV_FILE}").splitlines() == [
        "step_number,training_loss",
        "1,2.0",
        "2,0.5",
        "3,0.75",
    ]
    item = runs.items[RUN.run_id]
    assert item["training_metrics"] == {
        "steps": 3,
        "final_loss": 0.75,
        "min_loss": 0.5,
        "min_loss_step": 2,
        "source": SOURCE_ARCHIVE,
    }
    assert item["report_html_s3_uri"] == f"s3://{ARTIFACTS_BUCKET}/{REPORT_KEY}"
    page = objects.text(ARTIFACTS_BUCKET, REPORT_KEY)
    assert 'data-chart="loss"' in page
    assert objects.content_types[(ARTIFACTS_BUCKET, REPORT_KEY)].startswith("text/html")
    assert f"Report: s3://{ARTIFACTS_BUCKET}/{REPORT_KEY}" in recorded.result.message
    assert "Training loss: 0.75 at step 3 (minimum 0.5)" in recorded.result.message


def test_without_a_csv_in_the_archive_the_loss_comes_from_the_job_log() -> None:
    objects, runs = FakeObjectStore(), registered_runs(STATUS_TRAINING)
    objects.add(ARTIFACTS_BUCKET, ARCHIVE_KEY, _archive(None))
    logs = FakeLogs(["global_step: 5 reduced_train_loss: 1.5", "global_step: 10 reduced_train_loss: 1.0"])

    record(after_training(), objects, runs, _jobs(), logs=logs)

    assert logs.asked == [JOB]
    assert runs.items[RUN.run_id]["training_metrics"]["source"] == SOURCE_LOGS
    assert runs.items[RUN.run_id]["training_metrics"]["steps"] == 10


def test_a_failed_job_keeps_the_loss_it_reached_from_its_log() -> None:
    objects, runs = FakeObjectStore(), registered_runs(STATUS_TRAINING)
    logs = FakeLogs(["global_step: 1 reduced_train_loss: 3.0"])

    record(after_training(), objects, runs, _jobs(STATUS_FAILED), logs=logs)

    assert runs.items[RUN.run_id]["status"] == STATUS_FAILED
    assert runs.items[RUN.run_id]["training_metrics"]["final_loss"] == 3.0
    assert 'data-chart="loss"' in objects.text(ARTIFACTS_BUCKET, REPORT_KEY)


def test_invalid_data_gets_a_report_with_the_failure_and_the_errors_by_line() -> None:
    report_key = f"{RUN.artifacts_prefix}{VALIDATION_REPORT_FILE}"
    objects = FakeObjectStore()
    objects.add(
        ARTIFACTS_BUCKET,
        report_key,
        json.dumps(
            {
                "valid": False,
                "records": 3,
                "errors": [{"file": "train", "line": 2, "code": "E_X", "path": "$.messages", "message": "<b>bad</b>"}],
                "error_counts": {"E_X": 1},
                "stats": {"records": 3},
            }
        ),
    )
    runs = registered_runs(STATUS_TRAINING, report_s3_uri=f"s3://{ARTIFACTS_BUCKET}/{report_key}")
    payload = after_failure("DatasetInvalid", "1 error at line 2")

    record(payload, objects, runs)

    assert runs.items[RUN.run_id]["status"] == STATUS_DATASET_INVALID
    page = objects.text(ARTIFACTS_BUCKET, REPORT_KEY)
    assert "DatasetInvalid: 1 error at line 2" in page
    assert "&lt;b&gt;bad&lt;/b&gt;" in page and "<b>bad</b>" not in page
    assert '<td class="num">2</td>' in page


def test_an_unreadable_validation_report_is_named_on_the_page_not_fatal() -> None:
    objects = FakeObjectStore()
    runs = registered_runs(STATUS_TRAINING, report_s3_uri=f"s3://{ARTIFACTS_BUCKET}/missing.json")
    payload = after_failure("States.TaskFailed", "boom")

    record(payload, objects, runs)

    page = objects.text(ARTIFACTS_BUCKET, REPORT_KEY)
    assert "missing.json could not be read" in page
