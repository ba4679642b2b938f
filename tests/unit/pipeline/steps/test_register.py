from __future__ import annotations

from typing import Any

import pytest

from novaft.pipeline.contracts import RegisterRunInput, RunContext
from novaft.pipeline.facts import JOB_FILE, RECORD_TYPE_RUN, S3_OBJECT_CREATED, STATUS_REGISTERED, VALIDATION_FILE
from novaft.pipeline.steps.register import register_run
from tests.unit.pipeline.fakes import (
    ARTIFACTS_BUCKET,
    DATASETS_BUCKET,
    EXECUTION_ARN,
    NOW,
    TRAIN_KEY,
    FakeObjectStore,
    FakeRunStore,
    settings,
    valid_sft,
)

VALIDATION_KEY = f"incoming/demo/{VALIDATION_FILE}"
JOB_KEY = f"incoming/demo/{JOB_FILE}"


def _payload(
    key: str = TRAIN_KEY,
    *,
    detail_type: str = S3_OBJECT_CREATED,
    version_id: str | None = "v1",
    execution: str = EXECUTION_ARN,
) -> RegisterRunInput:
    event: dict[str, Any] = {
        "detail-type": detail_type,
        "source": "aws.s3",
        "detail": {"bucket": {"name": DATASETS_BUCKET}, "object": {"key": key, "etag": "e1", "version-id": version_id}},
    }
    return RegisterRunInput.model_validate({"event": event, "execution_arn": execution})


def _register(
    payload: RegisterRunInput,
    objects: FakeObjectStore | None = None,
    runs: FakeRunStore | None = None,
    **setting_overrides: Any,
) -> RunContext:
    if objects is None:
        objects = FakeObjectStore()
        objects.add(DATASETS_BUCKET, payload.event.detail.object.key, valid_sft())
    return register_run(
        payload,
        settings=settings(**setting_overrides),
        objects=objects,
        runs=runs if runs is not None else FakeRunStore(),
        now=NOW,
    )


def _upload(objects: FakeObjectStore, runs: FakeRunStore, body: bytes, *, execution: str, **kw: Any) -> RunContext:
    """Write a new version of the training file and deliver its event."""
    version = objects.add(DATASETS_BUCKET, TRAIN_KEY, body)
    return _register(_payload(version_id=version, execution=execution), objects, runs, **kw)


def test_a_training_file_registers_one_run_as_attempt_one() -> None:
    runs = FakeRunStore()
    run = _register(_payload(), runs=runs)
    assert not run.ignored and not run.duplicate
    assert run.run_name == "demo" and run.run_id.startswith("demo-") and run.attempt == 1
    assert run.artifacts_bucket == ARTIFACTS_BUCKET and run.artifacts_prefix == f"runs/{run.run_id}/"
    assert run.dataset.train.version_id == "v1" and run.dataset.validation is None and run.dataset.job is None
    item = runs.items[run.run_id]
    assert item["status"] == STATUS_REGISTERED and item["record_type"] == RECORD_TYPE_RUN and item["attempt"] == 1
    assert item["execution_arn"] == EXECUTION_ARN and item["created_at"] == NOW


def test_every_input_is_pinned_to_its_version_with_etag_size_and_checksum() -> None:
    objects = FakeObjectStore()
    objects.add(DATASETS_BUCKET, VALIDATION_KEY, valid_sft(3))
    objects.add(DATASETS_BUCKET, VALIDATION_KEY, valid_sft(4))  # v2 is the one present at registration
    objects.add(DATASETS_BUCKET, JOB_KEY, "model: micro\n")
    objects.add(DATASETS_BUCKET, TRAIN_KEY, valid_sft())
    run = _register(_payload(), objects)
    dataset = run.dataset
    assert (dataset.train.key, dataset.train.version_id, dataset.train.size) == (TRAIN_KEY, "v1", len(valid_sft()))
    assert dataset.validation is not None and dataset.validation.version_id == "v2"
    assert dataset.validation.size == len(valid_sft(4)) and dataset.validation.checksum
    assert dataset.job is not None and (dataset.job.key, dataset.job.version_id) == (JOB_KEY, "v1")
    assert dataset.train.etag and dataset.train.checksum


def test_a_training_file_uploaded_again_after_the_event_is_read_at_the_event_version() -> None:
    objects = FakeObjectStore()
    objects.add(DATASETS_BUCKET, TRAIN_KEY, valid_sft())
    objects.add(DATASETS_BUCKET, TRAIN_KEY, valid_sft(3))  # v2 lands before RegisterRun runs for v1
    run = _register(_payload(version_id="v1"), objects)
    assert run.dataset.train.version_id == "v1" and run.dataset.train.size == len(valid_sft())


def test_a_single_file_uses_the_default_job_and_checks_no_siblings() -> None:
    objects = FakeObjectStore()
    objects.add(DATASETS_BUCKET, "incoming/quick.jsonl", valid_sft())
    run = _register(_payload("incoming/quick.jsonl"), objects)
    assert run.run_name == "quick" and run.dataset.job is None and run.dataset.validation is None
    assert objects.reads == []


@pytest.mark.parametrize(
    ("key", "detail_type"),
    [
        ("incoming/demo/notes.txt", S3_OBJECT_CREATED),
        ("elsewhere/demo/train.jsonl", S3_OBJECT_CREATED),
        ("incoming/demo/deeper/train.jsonl", S3_OBJECT_CREATED),
        ("incoming/demo/train.jsonl", "Object Deleted"),
    ],
)
def test_files_that_start_nothing_are_ignored_without_a_record(key: str, detail_type: str) -> None:
    runs = FakeRunStore()
    run = _register(_payload(key, detail_type=detail_type), FakeObjectStore(), runs)
    assert run.ignored and run.run_id == "" and run.dataset.train_key == key
    assert runs.items == {} and runs.attempts == {}


def test_a_redelivered_event_is_a_duplicate_naming_the_first_run_and_execution() -> None:
    objects, runs = FakeObjectStore(), FakeRunStore()
    first = _upload(objects, runs, valid_sft(), execution=EXECUTION_ARN)
    again = _register(_payload(version_id="v1", execution=f"{EXECUTION_ARN}-2"), objects, runs)
    assert again.duplicate and again.run_id == first.run_id and again.attempt == 1
    assert again.existing_execution_arn == EXECUTION_ARN
    assert runs.items[first.run_id]["created_at"] == NOW  # the first record is kept
    assert runs.attempts == {"demo": 1}


def test_identical_bytes_uploaded_again_as_new_versions_are_duplicates_of_the_first_run() -> None:
    objects, runs = FakeObjectStore(), FakeRunStore()
    first = _upload(objects, runs, valid_sft(), execution="exec-1")
    second = _upload(objects, runs, valid_sft(), execution="exec-2")
    third = _upload(objects, runs, valid_sft(), execution="exec-3")
    assert not first.duplicate and second.duplicate and third.duplicate
    assert second.run_id == third.run_id == first.run_id
    assert second.existing_execution_arn == third.existing_execution_arn == "exec-1"
    assert list(runs.items) == [first.run_id]


def test_new_content_under_the_same_name_is_a_new_attempt_that_keeps_the_earlier_record() -> None:
    objects, runs = FakeObjectStore(), FakeRunStore()
    first = _upload(objects, runs, valid_sft(), execution="exec-1")
    second = _upload(objects, runs, valid_sft(12), execution="exec-2")
    assert not second.duplicate and second.run_id != first.run_id
    assert (first.attempt, second.attempt) == (1, 2)
    assert runs.items[first.run_id]["execution_arn"] == "exec-1" and runs.items[first.run_id]["attempt"] == 1
    assert runs.items[second.run_id]["attempt"] == 2
    assert second.training_job_name != first.training_job_name


@pytest.mark.parametrize("changed", ["validation", "job", "default job"])
def test_a_changed_companion_or_default_job_is_new_content(changed: str) -> None:
    objects, runs = FakeObjectStore(), FakeRunStore()
    objects.add(DATASETS_BUCKET, VALIDATION_KEY, valid_sft(3))
    objects.add(DATASETS_BUCKET, JOB_KEY if changed == "job" else "unrelated", "model: micro\n")
    first = _upload(objects, runs, valid_sft(), execution="exec-1")
    overrides: dict[str, Any] = {}
    if changed == "validation":
        objects.add(DATASETS_BUCKET, VALIDATION_KEY, valid_sft(4))
    elif changed == "job":
        objects.add(DATASETS_BUCKET, JOB_KEY, "model: lite\n")
    else:
        overrides["default_job"] = {"model": "lite", "method": "sft", "peft": "lora"}
    second = _upload(objects, runs, valid_sft(), execution="exec-2", **overrides)
    assert not second.duplicate and second.run_id != first.run_id and second.attempt == 2


def test_a_companion_added_after_the_first_run_is_new_content() -> None:
    objects, runs = FakeObjectStore(), FakeRunStore()
    first = _upload(objects, runs, valid_sft(), execution="exec-1")
    objects.add(DATASETS_BUCKET, VALIDATION_KEY, valid_sft(3))
    second = _upload(objects, runs, valid_sft(), execution="exec-2")
    assert not second.duplicate and second.run_id != first.run_id


def test_a_concurrent_duplicate_that_loses_the_conditional_put_is_a_duplicate() -> None:
    objects, runs = FakeObjectStore(), FakeRunStore()
    objects.add(DATASETS_BUCKET, TRAIN_KEY, valid_sft())
    first = _register(_payload(execution="exec-1"), objects, runs)

    class RacingRuns(FakeRunStore):
        def find(self, run_id: str) -> dict[str, Any] | None:
            return None  # the other delivery registered between this one's find and put

    racing = RacingRuns(items=runs.items, attempts=runs.attempts)
    again = _register(_payload(execution="exec-2"), objects, racing)
    assert again.duplicate and again.run_id == first.run_id and again.existing_execution_arn == "exec-1"
    assert again.attempt == 1
