from __future__ import annotations

import json
from typing import Any

import pytest

from novaft.pipeline.contracts import RecordResultInput
from novaft.pipeline.errors import DatasetInvalid, EventNotRecognized, TrainingJobNotFound
from novaft.pipeline.facts import (
    OUTPUT_MANIFEST_FILE,
    RUN_JSON_FILE,
    STATUS_COMPLETED,
    STATUS_DATASET_INVALID,
    STATUS_FAILED,
    STATUS_TRAINING,
    STATUS_VALIDATING,
)
from tests.unit.pipeline.fakes import (
    ARTIFACTS_BUCKET,
    JOB,
    LATER,
    RUN,
    FakeObjectStore,
    FakeRunStore,
    FakeTrainingJobs,
    registered_runs,
)
from tests.unit.pipeline.steps.recording import ARCHIVE_KEY, after_failure, after_training, output_archive, record

RUN_JSON_KEY = f"{RUN.artifacts_prefix}{RUN_JSON_FILE}"
CHECKPOINT = "s3://customer-escrow-123456789012-smtj-abc/demo/checkpoints/step_10"


def _archive(manifest: dict[str, Any]) -> bytes:
    return output_archive({OUTPUT_MANIFEST_FILE: json.dumps(manifest).encode()})


def _finished(status: str = STATUS_COMPLETED, **fields: Any) -> FakeTrainingJobs:
    jobs = FakeTrainingJobs()
    jobs.add(
        JOB,
        status=status,
        BillableTimeInSeconds=5400,
        ResourceConfig={"InstanceCount": 2},
        FinalMetricDataList=[{"MetricName": "train_loss", "Value": 0.25}],
        **fields,
    )
    return jobs


def test_a_completed_job_records_its_checkpoint_hours_and_metrics() -> None:
    objects, runs = FakeObjectStore(), registered_runs(STATUS_TRAINING)
    objects.add(ARTIFACTS_BUCKET, ARCHIVE_KEY, _archive({"checkpoint_s3_bucket": CHECKPOINT}))
    recorded = record(after_training(), objects, runs, _finished())
    assert recorded.outcome is not None and recorded.outcome.training_hours == 3.0
    result = recorded.result
    assert result.status == STATUS_COMPLETED
    assert result.run_json_s3_uri == f"s3://{ARTIFACTS_BUCKET}/{RUN_JSON_KEY}"
    item = runs.items[RUN.run_id]
    assert item["status"] == STATUS_COMPLETED and item["checkpoint_s3_uri"] == CHECKPOINT
    assert item["updated_at"] == LATER and item["final_metrics"] == {"train_loss": 0.25}
    document = objects.json(ARTIFACTS_BUCKET, RUN_JSON_KEY)
    assert document["status"] == STATUS_COMPLETED and document["checkpoint_s3_uri"] == CHECKPOINT
    assert set(document["links"]) >= {"training_job", "training_logs", "execution"}
    assert result.subject == f"novaft dev: run {RUN.run_name} {STATUS_COMPLETED}"
    assert "Training completed." in result.message and CHECKPOINT in result.message
    assert "Billable instance-hours: 3.00" in result.message and "train_loss=0.25" in result.message


@pytest.mark.parametrize(
    ("archive", "problem"),
    [(None, "does not exist"), (b"not a tar archive", "not a readable tar.gz"), (_archive({}), "should be an s3://")],
)
def test_a_completed_job_without_a_readable_manifest_is_still_recorded(archive: bytes | None, problem: str) -> None:
    objects, runs = FakeObjectStore(), registered_runs(STATUS_TRAINING)
    if archive is not None:
        objects.add(ARTIFACTS_BUCKET, ARCHIVE_KEY, archive)
    result = record(after_training(), objects, runs, _finished()).result
    assert result.status == STATUS_COMPLETED
    item = runs.items[RUN.run_id]
    assert item.get("checkpoint_s3_uri") is None and problem in item["manifest_problem"]
    assert f"Checkpoint manifest problem: {item['manifest_problem']}" in result.message


def test_a_failed_job_records_the_reason_and_reads_no_archive() -> None:
    objects, runs = FakeObjectStore(), registered_runs(STATUS_TRAINING)
    recorded = record(after_training(), objects, runs, _finished(STATUS_FAILED, FailureReason="CUDA out of memory"))
    assert recorded.result.status == STATUS_FAILED
    assert "Training ended with status Failed: CUDA out of memory." in recorded.result.message
    assert objects.reads == []
    assert runs.items[RUN.run_id]["failure_cause"] == "CUDA out of memory"


def test_an_unknown_job_status_is_a_failed_run() -> None:
    runs = registered_runs(STATUS_TRAINING)
    assert record(after_training(), FakeObjectStore(), runs, _finished("Deleting")).result.status == STATUS_FAILED


def test_an_unregistered_run_still_gets_run_json_but_no_half_item() -> None:
    objects, runs = FakeObjectStore(), FakeRunStore()
    result = record(after_failure("States.Timeout"), objects, runs).result
    assert result.status == STATUS_FAILED
    assert objects.json(ARTIFACTS_BUCKET, RUN_JSON_KEY)["run_id"] == RUN.run_id
    assert runs.items == {}


def test_a_finished_job_that_no_longer_exists_is_named() -> None:
    with pytest.raises(TrainingJobNotFound, match=JOB):
        record(after_training(), FakeObjectStore(), registered_runs(STATUS_TRAINING), FakeTrainingJobs())


def test_invalid_data_is_recorded_as_such_with_the_validator_message() -> None:
    objects = FakeObjectStore()
    runs = registered_runs(STATUS_DATASET_INVALID, report_s3_uri="s3://artifacts/report.json")
    cause = json.dumps({"errorMessage": "Dataset s3://d/t.jsonl is not valid", "errorType": "DatasetInvalid"})
    result = record(after_failure(DatasetInvalid.workflow_error, cause), objects, runs).result
    assert result.status == STATUS_DATASET_INVALID
    assert "The run stopped at an error: Dataset s3://d/t.jsonl is not valid" in result.message
    assert "Validation report: s3://artifacts/report.json" in result.message
    item = runs.items[RUN.run_id]
    assert item["failure_error"] == DatasetInvalid.workflow_error and item["status"] == STATUS_DATASET_INVALID


@pytest.mark.parametrize(("job_arn", "job_linked"), [(None, False), (f"arn:aws:sagemaker:::training-job/{JOB}", True)])
def test_a_failed_step_links_the_training_job_only_once_one_exists(job_arn: str | None, job_linked: bool) -> None:
    objects = FakeObjectStore()
    runs = registered_runs(STATUS_VALIDATING, **({"training_job_arn": job_arn} if job_arn else {}))
    result = record(after_failure("SageMakerCapacityError", "no capacity"), objects, runs).result
    assert result.status == STATUS_FAILED
    links = objects.json(ARTIFACTS_BUCKET, RUN_JSON_KEY)["links"]
    assert ("training_job" in links) is job_linked and "execution" in links
    assert runs.items[RUN.run_id]["failure_error"] == "SageMakerCapacityError"


def test_a_payload_without_training_or_failure_is_not_recognized() -> None:
    with pytest.raises(EventNotRecognized, match=r"'training'.*'failure'"):
        record(RecordResultInput(run=RUN), FakeObjectStore(), registered_runs(STATUS_TRAINING))
