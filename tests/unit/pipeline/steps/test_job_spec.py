from __future__ import annotations

import pytest

from novaft.errors import InputFileError
from novaft.pipeline.errors import JobSpecInvalid
from novaft.pipeline.facts import JOB_FILE
from novaft.pipeline.steps.job_spec import job_spec_document, job_spec_from_document, load_run_job_spec
from novaft.recipes.job_spec import MAX_JOB_YAML_BYTES
from tests.unit.pipeline.fakes import DATASETS_BUCKET, FakeObjectStore, pinned, run_context, settings

JOB_KEY = f"incoming/demo/{JOB_FILE}"
WITH_JOB = run_context(job=pinned(JOB_KEY, version_id="v1"))


def test_without_a_job_file_the_deployed_default_applies() -> None:
    objects = FakeObjectStore()
    spec = load_run_job_spec(run_context(), settings=settings(), objects=objects)
    assert (spec.model, spec.method, spec.peft) == ("micro", "sft", "lora")
    assert objects.reads == []


def test_without_a_job_file_or_a_default_the_run_is_refused() -> None:
    with pytest.raises(JobSpecInvalid, match="no default job profile"):
        load_run_job_spec(run_context(), settings=settings(default_job=None), objects=FakeObjectStore())


def test_the_job_file_beside_the_data_wins_over_the_default() -> None:
    objects = FakeObjectStore()
    objects.add(DATASETS_BUCKET, JOB_KEY, "model: lite\nmethod: dpo\npeft: lora\n")
    spec = load_run_job_spec(WITH_JOB, settings=settings(), objects=objects)
    assert (spec.model, spec.method) == ("lite", "dpo")
    assert objects.reads == [(DATASETS_BUCKET, JOB_KEY, "v1")]
    assert all(body.closed for body in objects.opened)


def test_the_job_file_is_read_at_the_version_pinned_at_registration() -> None:
    objects = FakeObjectStore()
    objects.add(DATASETS_BUCKET, JOB_KEY, "model: lite\nmethod: dpo\npeft: lora\n")
    objects.add(DATASETS_BUCKET, JOB_KEY, "model: pro\nmethod: sft\npeft: full\n")  # v2, written after registration
    spec = load_run_job_spec(WITH_JOB, settings=settings(), objects=objects)
    assert (spec.model, spec.method) == ("lite", "dpo")


def test_the_normalized_spec_round_trips_through_the_workflow_state() -> None:
    objects = FakeObjectStore()
    objects.add(DATASETS_BUCKET, JOB_KEY, "model: lite\nmethod: dpo\npeft: lora\nhyperparameters:\n  lr: 0.00002\n")
    spec = load_run_job_spec(WITH_JOB, settings=settings(), objects=objects)
    assert job_spec_from_document(job_spec_document(spec)) == spec


def test_a_carried_spec_that_no_longer_checks_is_a_job_spec_error() -> None:
    with pytest.raises(JobSpecInvalid, match="model"):
        job_spec_from_document({"model": "gigantic", "method": "sft"})


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b"model: gigantic\n", "model"),
        (b"\xff\xfe not utf-8", "UTF-8"),
        (b"- a\n- list\n", "mapping"),
        (b"model: micro\n" + b"#" * MAX_JOB_YAML_BYTES, f"at most {MAX_JOB_YAML_BYTES:,} bytes"),
    ],
)
def test_a_bad_job_file_is_a_named_error_citing_its_location(body: bytes, named: str) -> None:
    objects = FakeObjectStore()
    objects.add(DATASETS_BUCKET, JOB_KEY, body)
    with pytest.raises(JobSpecInvalid) as raised:
        load_run_job_spec(WITH_JOB, settings=settings(), objects=objects)
    assert f"s3://{DATASETS_BUCKET}/{JOB_KEY}" in str(raised.value)
    assert named in str(raised.value)


def test_a_job_file_gone_since_registration_is_an_unreadable_input() -> None:
    with pytest.raises(InputFileError, match=JOB_KEY):
        load_run_job_spec(WITH_JOB, settings=settings(), objects=FakeObjectStore())
