from __future__ import annotations

import pytest

from novaft.pipeline.contracts import DatasetLocation, PinnedObject, S3ObjectCreatedEvent
from novaft.pipeline.run_identity import (
    RunLayout,
    classify_object_key,
    run_context_for,
    run_id_for,
    sanitize_run_name,
)
from novaft.recipes.job_name import JOB_NAME_PATTERN


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (
            "incoming/demo/train.jsonl",
            RunLayout(
                "demo",
                "incoming/demo/train.jsonl",
                "incoming/demo/validation.jsonl",
                "incoming/demo/job.yaml",
                "incoming/demo/eval.jsonl",
            ),
        ),
        ("incoming/quick.jsonl", RunLayout("quick", "incoming/quick.jsonl", None, None)),
        ("incoming/validation.jsonl", RunLayout("validation", "incoming/validation.jsonl", None, None)),
        ("incoming/demo/validation.jsonl", None),
        ("incoming/demo/job.yaml", None),
        ("incoming/demo/images/a.png", None),
        ("incoming/a/b/train.jsonl", None),
        ("incoming//train.jsonl", None),
        ("incoming/.jsonl", None),
        ("incoming/demo/", None),
        ("incoming/notes.txt", None),
        ("other/demo/train.jsonl", None),
        ("incoming/demo/TRAIN.jsonl", None),
    ],
)
def test_classify_object_key(key: str, expected: RunLayout | None) -> None:
    assert classify_object_key(key, "incoming/") == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("demo", "demo"),
        ("Quick Run_v2", "quick-run-v2"),
        ("--a..b--", "a-b"),
        ("___", "run"),
        ("x" * 80, "x" * 40),
        ("a" * 39 + "-b", "a" * 39),
        ("Übung 1", "bung-1"),
    ],
)
def test_sanitize_run_name(name: str, expected: str) -> None:
    assert sanitize_run_name(name) == expected


def _dataset(bucket: str = "b", **inputs: PinnedObject) -> DatasetLocation:
    return DatasetLocation(bucket=bucket, **{"train": _pinned(), **inputs})


def _pinned(key: str = "incoming/demo/train.jsonl", **fields: object) -> PinnedObject:
    values = {"key": key, "version_id": "v1", "etag": "e1", "size": 10, "checksum": "CRC64NVME:AAAA", **fields}
    return PinnedObject.model_validate(values)


DEFAULT = {"model": "micro", "method": "sft", "peft": "lora"}


@pytest.mark.parametrize(
    ("second", "same"),
    [
        (_dataset(train=_pinned(version_id="v2")), True),  # another version of the same bytes
        (_dataset(train=_pinned(etag="e2")), True),  # same checksum: the ETag (SSE-KMS: not the MD5) is ignored
        (_dataset(train=_pinned(checksum="CRC64NVME:BBBB")), False),
        (_dataset(train=_pinned(size=11)), False),
        (_dataset(bucket="c"), False),
        (_dataset(train=_pinned("incoming/demo.jsonl")), False),
        (_dataset(validation=_pinned("incoming/demo/validation.jsonl")), False),
        (_dataset(job=_pinned("incoming/demo/job.yaml")), False),
        (_dataset(eval_set=_pinned("incoming/demo/eval.jsonl")), False),
    ],
)
def test_run_id_is_stable_per_content(second: DatasetLocation, same: bool) -> None:
    first = _dataset()
    assert (run_id_for("demo", first, default_job=DEFAULT) == run_id_for("demo", second, default_job=DEFAULT)) is same


def test_a_changed_evaluation_set_is_new_content() -> None:
    ids = {
        run_id_for(
            "demo", _dataset(eval_set=_pinned("incoming/demo/eval.jsonl", checksum=checksum)), default_job=DEFAULT
        )
        for checksum in ("CRC64NVME:AAAA", "CRC64NVME:CCCC")
    }
    assert len(ids) == 2


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ('"e1"', "e1", True),  # quoted and bare ETags are the same value
        ("e1", "e2", False),
    ],
)
def test_without_a_checksum_the_etag_identifies_the_content(first: str, second: str, same: bool) -> None:
    ids = [
        run_id_for("demo", _dataset(train=_pinned(etag=etag, checksum=None)), default_job=DEFAULT)
        for etag in (first, second)
    ]
    assert (ids[0] == ids[1]) is same


def test_without_job_yaml_the_default_job_is_part_of_the_identity() -> None:
    dataset = _dataset()
    assert run_id_for("demo", dataset, default_job=DEFAULT) == run_id_for("demo", dataset, default_job=dict(DEFAULT))
    assert run_id_for("demo", dataset, default_job=DEFAULT) != run_id_for(
        "demo", dataset, default_job={**DEFAULT, "peft": "full"}
    )


def test_run_id_shape() -> None:
    run_id = run_id_for("My Run", _dataset(train=_pinned("incoming/My Run/train.jsonl")), default_job=None)
    name, digest = run_id.rsplit("-", 1)
    assert name == "my-run"
    assert len(digest) == 12 and int(digest, 16) >= 0


@pytest.mark.parametrize("run_name", ["demo", "x" * 200, "Quick Run_v2", "___"])
def test_run_context_job_name_is_valid_for_sagemaker(run_name: str) -> None:
    dataset = _dataset(train=_pinned(f"incoming/{run_name}/train.jsonl"))
    run_id = run_id_for(run_name, dataset, default_job=DEFAULT)
    run = run_context_for(run_name, dataset, attempt=1, artifacts_bucket="art", runs_prefix="runs/", run_id=run_id)
    assert JOB_NAME_PATTERN.match(run.training_job_name)
    assert run.artifacts_prefix == f"runs/{run.run_id}/"


@pytest.mark.parametrize(
    ("event_key", "object_key"),
    [
        ("incoming/demo/train.jsonl", "incoming/demo/train.jsonl"),
        ("incoming/my+run/train.jsonl", "incoming/my run/train.jsonl"),
        ("incoming/c%2B%2B+notes.jsonl", "incoming/c++ notes.jsonl"),
        ("incoming/caf%C3%A9/train.jsonl", "incoming/café/train.jsonl"),
        ("incoming/a%3Ab%3Dc.jsonl", "incoming/a:b=c.jsonl"),
    ],
)
def test_event_key_is_the_decoded_object_key(event_key: str, object_key: str) -> None:
    event = S3ObjectCreatedEvent.model_validate(
        {
            "detail-type": "Object Created",
            "source": "aws.s3",
            "detail": {"bucket": {"name": "b"}, "object": {"key": event_key}},
        }
    )
    assert event.detail.object.key == object_key
