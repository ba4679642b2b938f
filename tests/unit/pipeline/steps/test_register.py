from __future__ import annotations

from typing import Any

import pytest

from novaft.pipeline.contracts import RegisterRunInput
from novaft.pipeline.facts import JOB_FILE, RECORD_TYPE_RUN, S3_OBJECT_CREATED, STATUS_REGISTERED, VALIDATION_FILE
from novaft.pipeline.steps.register import register_run
from tests.unit.pipeline.fakes import (
    ARTIFACTS_BUCKET,
    DATASETS_BUCKET,
    EXECUTION_ARN,
    NOW,
    FakeObjectStore,
    FakeRunStore,
    settings,
)


def _payload(key: str, *, detail_type: str = S3_OBJECT_CREATED, version_id: str | None = "v1") -> RegisterRunInput:
    event: dict[str, Any] = {
        "detail-type": detail_type,
        "source": "aws.s3",
        "detail": {"bucket": {"name": DATASETS_BUCKET}, "object": {"key": key, "etag": "e1", "version-id": version_id}},
    }
    return RegisterRunInput.model_validate({"event": event, "execution_arn": EXECUTION_ARN})


def _register(
    payload: RegisterRunInput, objects: FakeObjectStore | None = None, runs: FakeRunStore | None = None
) -> Any:
    return register_run(
        payload, settings=settings(), objects=objects or FakeObjectStore(), runs=runs or FakeRunStore(), now=NOW
    )


def test_a_training_file_registers_one_run() -> None:
    runs = FakeRunStore()
    run = _register(_payload("incoming/demo/train.jsonl"), runs=runs)
    assert not run.ignored and not run.duplicate
    assert run.run_name == "demo" and run.run_id.startswith("demo-")
    assert run.artifacts_bucket == ARTIFACTS_BUCKET and run.artifacts_prefix == f"runs/{run.run_id}/"
    assert run.dataset.version_id == "v1" and run.dataset.validation_key is None and run.dataset.job_key is None
    item = runs.items[run.run_id]
    assert item["status"] == STATUS_REGISTERED and item["record_type"] == RECORD_TYPE_RUN
    assert item["execution_arn"] == EXECUTION_ARN and item["created_at"] == NOW


def test_sibling_files_that_exist_join_the_run() -> None:
    objects = FakeObjectStore()
    objects.add(DATASETS_BUCKET, f"incoming/demo/{VALIDATION_FILE}", b"{}\n")
    run = _register(_payload("incoming/demo/train.jsonl"), objects=objects)
    assert run.dataset.validation_key == f"incoming/demo/{VALIDATION_FILE}"
    assert run.dataset.job_key is None
    objects.add(DATASETS_BUCKET, f"incoming/demo/{JOB_FILE}", b"model: micro\n")
    assert (
        _register(_payload("incoming/demo/train.jsonl"), objects=objects).dataset.job_key == f"incoming/demo/{JOB_FILE}"
    )


def test_a_single_file_uses_the_default_job_and_checks_no_siblings() -> None:
    objects = FakeObjectStore()
    run = _register(_payload("incoming/quick.jsonl"), objects=objects)
    assert run.run_name == "quick" and run.dataset.job_key is None
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
    run = _register(_payload(key, detail_type=detail_type), runs=runs)
    assert run.ignored and run.run_id == "" and run.dataset.train_key == key
    assert runs.items == {}


def test_a_redelivered_event_is_a_duplicate_naming_the_first_execution() -> None:
    runs = FakeRunStore()
    first = _register(_payload("incoming/demo/train.jsonl"), runs=runs)
    again = register_run(
        _payload("incoming/demo/train.jsonl").model_copy(update={"execution_arn": f"{EXECUTION_ARN}-2"}),
        settings=settings(),
        objects=FakeObjectStore(),
        runs=runs,
        now="2026-01-02T03:05:00Z",
    )
    assert again.duplicate and again.run_id == first.run_id
    assert again.existing_execution_arn == EXECUTION_ARN
    assert runs.items[first.run_id]["created_at"] == NOW  # the first record is kept


def test_a_new_version_of_the_same_file_is_a_new_run() -> None:
    runs = FakeRunStore()
    first = _register(_payload("incoming/demo/train.jsonl", version_id="v1"), runs=runs)
    second = _register(_payload("incoming/demo/train.jsonl", version_id="v2"), runs=runs)
    assert first.run_id != second.run_id and not second.duplicate
    assert set(runs.items) == {first.run_id, second.run_id}
