from __future__ import annotations

import pytest

from novaft.pipeline.contracts import S3ObjectCreatedEvent
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
            RunLayout("demo", "incoming/demo/train.jsonl", "incoming/demo/validation.jsonl", "incoming/demo/job.yaml"),
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


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        (("b", "k", "v1", "e1"), ("b", "k", "v1", "e2"), True),  # version wins over etag
        (("b", "k", "v1", "e1"), ("b", "k", "v2", "e1"), False),
        (("b", "k", None, '"e1"'), ("b", "k", None, "e1"), True),  # quoted and bare etags are the same object
        (("b", "k", None, "e1"), ("b", "k", None, "e2"), False),
        (("b", "k", None, "e1"), ("c", "k", None, "e1"), False),
    ],
)
def test_run_id_is_stable_per_object_version(first: tuple, second: tuple, same: bool) -> None:
    assert (run_id_for("demo", *first) == run_id_for("demo", *second)) is same


def test_run_id_shape() -> None:
    run_id = run_id_for("My Run", "bucket", "incoming/My Run/train.jsonl", None, "etag")
    name, digest = run_id.rsplit("-", 1)
    assert name == "my-run"
    assert len(digest) == 12 and int(digest, 16) >= 0


@pytest.mark.parametrize("run_name", ["demo", "x" * 200, "Quick Run_v2", "___"])
def test_run_context_job_name_is_valid_for_sagemaker(run_name: str) -> None:
    event = S3ObjectCreatedEvent.model_validate(
        {
            "detail-type": "Object Created",
            "source": "aws.s3",
            "detail": {"bucket": {"name": "b"}, "object": {"key": f"incoming/{run_name}/train.jsonl", "etag": "e"}},
        }
    )
    layout = classify_object_key(event.detail.object.key, "incoming/")
    assert layout is not None
    run = run_context_for(
        event,
        layout,
        existing_keys=frozenset({f"incoming/{run_name}/job.yaml"}),
        artifacts_bucket="art",
        runs_prefix="runs/",
    )
    assert JOB_NAME_PATTERN.match(run.training_job_name)
    assert run.dataset.job_key == f"incoming/{run_name}/job.yaml"
    assert run.dataset.validation_key is None
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
