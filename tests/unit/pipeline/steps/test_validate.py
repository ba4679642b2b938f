from __future__ import annotations

import pytest

from novaft.errors import InputFileError
from novaft.pipeline.contracts import RunContext
from novaft.pipeline.errors import DatasetInvalid, RunNotFound
from novaft.pipeline.facts import STATUS_DATASET_INVALID, STATUS_REGISTERED, STATUS_VALIDATING, VALIDATION_REPORT_FILE
from novaft.pipeline.job_spec_source import job_spec_from, validation_options_for
from novaft.pipeline.steps.validate import ERRORS_IN_MESSAGE, validate_run_dataset
from novaft.validation import ValidationOptions
from tests.unit.pipeline.fakes import (
    ARTIFACTS_BUCKET,
    DATASETS_BUCKET,
    DEFAULT_JOB,
    NOW,
    FakeObjectStore,
    FakeRunStore,
    jsonl,
    run_context,
    sft_record,
    valid_sft,
)

RUN = run_context(version_id="v7")
REPORT_KEY = f"{RUN.artifacts_prefix}{VALIDATION_REPORT_FILE}"


def _options() -> ValidationOptions:
    spec = job_spec_from(None, source="default job profile", default_job=DEFAULT_JOB)
    return validation_options_for(spec, dataset_bucket=DATASETS_BUCKET)


def _stores(run: RunContext = RUN, train: bytes = valid_sft()) -> tuple[FakeObjectStore, FakeRunStore]:
    objects = FakeObjectStore()
    objects.add(DATASETS_BUCKET, run.dataset.train_key, train)
    runs = FakeRunStore({run.run_id: {"run_id": run.run_id, "status": STATUS_REGISTERED}})
    return objects, runs


def test_valid_data_writes_the_report_and_records_the_count() -> None:
    objects, runs = _stores()
    outcome = validate_run_dataset(RUN, options=_options(), objects=objects, runs=runs, now=NOW)
    assert outcome.valid and outcome.records == 10
    assert outcome.report_s3_uri == f"s3://{ARTIFACTS_BUCKET}/{REPORT_KEY}"
    report = objects.json(ARTIFACTS_BUCKET, REPORT_KEY)
    assert report["valid"] is True and outcome.stats == report["stats"]
    assert runs.updates[0] == (RUN.run_id, {"status": STATUS_VALIDATING, "updated_at": NOW})
    item = runs.items[RUN.run_id]
    assert (
        item["status"] == STATUS_VALIDATING and item["records"] == 10 and item["report_s3_uri"] == outcome.report_s3_uri
    )


def test_the_training_file_is_read_at_the_event_version_and_every_stream_is_closed() -> None:
    run = run_context(version_id="v7", validation_key="incoming/demo/validation.jsonl")
    objects, runs = _stores(run)
    objects.add(DATASETS_BUCKET, "incoming/demo/validation.jsonl", valid_sft(3))
    validate_run_dataset(run, options=_options(), objects=objects, runs=runs, now=NOW)
    assert (DATASETS_BUCKET, run.dataset.train_key, "v7") in objects.reads
    assert (DATASETS_BUCKET, "incoming/demo/validation.jsonl", None) in objects.reads
    assert len(objects.opened) == 2 and all(body.closed for body in objects.opened)


def test_invalid_data_writes_the_report_records_the_run_and_raises_with_the_first_errors() -> None:
    records = [sft_record(index) for index in range(8)]
    records[2] = {**records[2], "messages": [{"role": "assistant", "content": [{"text": "hi"}]}]}
    objects, runs = _stores(train=jsonl(records) + b"not json\n")
    with pytest.raises(DatasetInvalid) as raised:
        validate_run_dataset(RUN, options=_options(), objects=objects, runs=runs, now=NOW)
    message = str(raised.value)
    assert message.startswith(f"Dataset s3://{DATASETS_BUCKET}/{RUN.dataset.train_key} is not valid for micro sft: ")
    assert " line 3" in message and " line 9" in message
    assert message.endswith(f"Full report: s3://{ARTIFACTS_BUCKET}/{REPORT_KEY}")
    assert objects.json(ARTIFACTS_BUCKET, REPORT_KEY)["valid"] is False
    item = runs.items[RUN.run_id]
    assert item["status"] == STATUS_DATASET_INVALID
    assert item["failure_error"] == DatasetInvalid.workflow_error and item["failure_cause"] == message
    assert all(body.closed for body in objects.opened)


def test_the_message_lists_only_the_first_errors() -> None:
    objects, runs = _stores(train=b"not json\n" * (ERRORS_IN_MESSAGE + 3))
    with pytest.raises(DatasetInvalid) as raised:
        validate_run_dataset(RUN, options=_options(), objects=objects, runs=runs, now=NOW)
    lines = str(raised.value).splitlines()
    assert sum(line.startswith("  - ") for line in lines) == ERRORS_IN_MESSAGE
    assert "  ... and 3 more" in lines


def test_a_missing_training_file_is_named_and_no_report_is_written() -> None:
    objects, runs = FakeObjectStore(), FakeRunStore({RUN.run_id: {"run_id": RUN.run_id}})
    with pytest.raises(InputFileError, match=RUN.dataset.train_key):
        validate_run_dataset(RUN, options=_options(), objects=objects, runs=runs, now=NOW)
    assert (ARTIFACTS_BUCKET, REPORT_KEY) not in objects.objects


def test_an_unregistered_run_is_not_validated() -> None:
    objects, _ = _stores()
    with pytest.raises(RunNotFound):
        validate_run_dataset(RUN, options=_options(), objects=objects, runs=FakeRunStore(), now=NOW)
    assert objects.opened == []
