from __future__ import annotations

import pytest

from novaft.errors import InputFileError
from novaft.pipeline.contracts import RunContext, ValidationOutcome
from novaft.pipeline.errors import DatasetInvalid, RunNotFound
from novaft.pipeline.facts import (
    JOB_FILE,
    SNAPSHOT_DIR,
    SNAPSHOT_JOB_SPEC_FILE,
    STATUS_DATASET_INVALID,
    STATUS_REGISTERED,
    STATUS_VALIDATING,
    TRAIN_FILE,
    VALIDATION_FILE,
    VALIDATION_REPORT_FILE,
)
from novaft.pipeline.steps.job_spec import job_spec_from_document
from novaft.pipeline.steps.validate import ERRORS_IN_MESSAGE, validate_run_dataset
from tests.unit.pipeline.fakes import (
    ARTIFACTS_BUCKET,
    DATASETS_BUCKET,
    NOW,
    TRAIN_KEY,
    FakeObjectStore,
    FakeRunStore,
    jsonl,
    pinned,
    run_context,
    settings,
    sft_record,
    valid_sft,
)

RUN = run_context()
REPORT_KEY = f"{RUN.artifacts_prefix}{VALIDATION_REPORT_FILE}"
SNAPSHOT = f"{RUN.artifacts_prefix}{SNAPSHOT_DIR}/"
KMS_KEY_ARN = "arn:aws:kms:us-west-2:123456789012:key/data"
VALIDATION_KEY = f"incoming/demo/{VALIDATION_FILE}"
JOB_KEY = f"incoming/demo/{JOB_FILE}"


def _stores(run: RunContext = RUN, train: bytes = valid_sft()) -> tuple[FakeObjectStore, FakeRunStore]:
    objects = FakeObjectStore()
    objects.add(DATASETS_BUCKET, run.dataset.train_key, train)
    runs = FakeRunStore({run.run_id: {"run_id": run.run_id, "status": STATUS_REGISTERED}})
    return objects, runs


def _validate(run: RunContext, objects: FakeObjectStore, runs: FakeRunStore) -> ValidationOutcome:
    return validate_run_dataset(run, settings=settings(kms_key_arn=KMS_KEY_ARN), objects=objects, runs=runs, now=NOW)


def test_valid_data_writes_the_report_and_records_the_count() -> None:
    objects, runs = _stores()
    outcome = _validate(RUN, objects, runs)
    assert outcome.valid and outcome.records == 10
    assert outcome.report_s3_uri == f"s3://{ARTIFACTS_BUCKET}/{REPORT_KEY}"
    report = objects.json(ARTIFACTS_BUCKET, REPORT_KEY)
    assert report["valid"] is True and outcome.stats == report["stats"]
    assert runs.updates[0] == (RUN.run_id, {"status": STATUS_VALIDATING, "updated_at": NOW})
    item = runs.items[RUN.run_id]
    assert (
        item["status"] == STATUS_VALIDATING and item["records"] == 10 and item["report_s3_uri"] == outcome.report_s3_uri
    )


def test_every_input_is_read_at_the_version_pinned_at_registration_and_every_stream_is_closed() -> None:
    run = run_context(validation=pinned(VALIDATION_KEY, "v1"))
    objects, runs = _stores(run)
    objects.add(DATASETS_BUCKET, VALIDATION_KEY, valid_sft(3))
    # Both files are overwritten with invalid data after registration; the run still sees the pinned versions.
    objects.add(DATASETS_BUCKET, TRAIN_KEY, b"not json\n")
    objects.add(DATASETS_BUCKET, VALIDATION_KEY, b"not json\n")
    outcome = _validate(run, objects, runs)
    assert outcome.valid and outcome.records == 10
    assert (DATASETS_BUCKET, TRAIN_KEY, "v1") in objects.reads
    assert (DATASETS_BUCKET, VALIDATION_KEY, "v1") in objects.reads
    assert len(objects.opened) == 2 and all(body.closed for body in objects.opened)


def test_valid_data_is_snapshotted_as_the_validated_versions_under_the_run() -> None:
    run = run_context(validation=pinned(VALIDATION_KEY, "v1"), job=pinned(JOB_KEY, "v1"))
    objects, runs = _stores(run)
    objects.add(DATASETS_BUCKET, VALIDATION_KEY, valid_sft(3))
    objects.add(DATASETS_BUCKET, JOB_KEY, "model: micro\nmethod: sft\npeft: full\n")
    objects.add(DATASETS_BUCKET, TRAIN_KEY, b"overwritten after registration\n")
    outcome = _validate(run, objects, runs)
    assert outcome.inputs.train_s3_uri == f"s3://{ARTIFACTS_BUCKET}/{SNAPSHOT}{TRAIN_FILE}"
    assert outcome.inputs.validation_s3_uri == f"s3://{ARTIFACTS_BUCKET}/{SNAPSHOT}{VALIDATION_FILE}"
    assert outcome.inputs.job_yaml_s3_uri == f"s3://{ARTIFACTS_BUCKET}/{SNAPSHOT}{JOB_FILE}"
    assert objects.objects[(ARTIFACTS_BUCKET, f"{SNAPSHOT}{TRAIN_FILE}")] == valid_sft()
    assert sorted(objects.copies) == sorted(
        (DATASETS_BUCKET, key, "v1", ARTIFACTS_BUCKET, f"{SNAPSHOT}{name}", KMS_KEY_ARN)
        for key, name in ((TRAIN_KEY, TRAIN_FILE), (VALIDATION_KEY, VALIDATION_FILE), (JOB_KEY, JOB_FILE))
    )
    # The spec is parsed once, here: carried in the outcome and saved beside the snapshot.
    assert job_spec_from_document(outcome.job_spec).peft == "full"
    assert objects.json(ARTIFACTS_BUCKET, f"{SNAPSHOT}{SNAPSHOT_JOB_SPEC_FILE}") == outcome.job_spec
    assert outcome.inputs.job_spec_s3_uri == f"s3://{ARTIFACTS_BUCKET}/{SNAPSHOT}{SNAPSHOT_JOB_SPEC_FILE}"
    assert runs.items[run.run_id]["inputs"] == outcome.inputs.model_dump(exclude_none=True)


def test_without_a_job_file_the_default_spec_is_carried_and_nothing_else_is_copied() -> None:
    objects, runs = _stores()
    outcome = _validate(RUN, objects, runs)
    assert (outcome.inputs.validation_s3_uri, outcome.inputs.job_yaml_s3_uri) == (None, None)
    assert [copy[1] for copy in objects.copies] == [TRAIN_KEY]
    assert job_spec_from_document(outcome.job_spec).model == "micro"


def test_invalid_data_writes_the_report_records_the_run_and_raises_with_the_first_errors() -> None:
    records = [sft_record(index) for index in range(8)]
    records[2] = {**records[2], "messages": [{"role": "assistant", "content": [{"text": "hi"}]}]}
    objects, runs = _stores(train=jsonl(records) + b"not json\n")
    with pytest.raises(DatasetInvalid) as raised:
        _validate(RUN, objects, runs)
    message = str(raised.value)
    assert message.startswith(f"Dataset s3://{DATASETS_BUCKET}/{RUN.dataset.train_key} is not valid for micro sft: ")
    assert " line 3" in message and " line 9" in message
    assert message.endswith(f"Full report: s3://{ARTIFACTS_BUCKET}/{REPORT_KEY}")
    assert objects.json(ARTIFACTS_BUCKET, REPORT_KEY)["valid"] is False
    assert objects.copies == []  # invalid data is never snapshotted
    item = runs.items[RUN.run_id]
    assert item["status"] == STATUS_DATASET_INVALID
    assert item["failure_error"] == DatasetInvalid.workflow_error and item["failure_cause"] == message
    assert all(body.closed for body in objects.opened)


def test_the_message_lists_only_the_first_errors() -> None:
    objects, runs = _stores(train=b"not json\n" * (ERRORS_IN_MESSAGE + 3))
    with pytest.raises(DatasetInvalid) as raised:
        _validate(RUN, objects, runs)
    lines = str(raised.value).splitlines()
    assert sum(line.startswith("  - ") for line in lines) == ERRORS_IN_MESSAGE
    assert "  ... and 3 more" in lines


def test_a_missing_training_file_is_named_and_no_report_is_written() -> None:
    objects, runs = FakeObjectStore(), FakeRunStore({RUN.run_id: {"run_id": RUN.run_id}})
    with pytest.raises(InputFileError, match=RUN.dataset.train_key):
        _validate(RUN, objects, runs)
    assert (ARTIFACTS_BUCKET, REPORT_KEY) not in objects.objects


def test_an_unregistered_run_is_not_validated() -> None:
    objects, _ = _stores()
    with pytest.raises(RunNotFound):
        _validate(RUN, objects, FakeRunStore())
    assert objects.opened == []
