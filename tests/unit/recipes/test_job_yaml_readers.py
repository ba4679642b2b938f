"""Every reader of a job.yaml (the pipeline's, ``novaft plan``/``render``, ``novaft submit``) goes through the bounded
loader: it reads at most the limit plus one byte and ends with the named error of its layer."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from novaft.cli import main
from novaft.errors import InputFileError
from novaft.operator.submit import job_spec_for_submit
from novaft.pipeline.errors import JobSpecInvalid
from novaft.pipeline.facts import ExitCode
from novaft.pipeline.job_spec_source import job_spec_from, read_job_yaml_object
from novaft.recipes.job_spec import MAX_JOB_YAML_BYTES, read_job_file
from tests.unit.recipes.test_job_yaml_bounds import billion_laughs, deep_flow

VALID = "model: micro\nmethod: sft\npeft: lora\n"
HOSTILE = {
    "alias bomb": (billion_laughs(9), "anchors are not allowed"),
    "deep nesting": (deep_flow(10_000), "nested deeper than 20 levels"),
    "too large": ("#" * (65 * 1024), "too large"),
    "repeated key": (VALID + "peft: full\n", "key 'peft' given twice"),
    "boolean count": (VALID + "instance_count: yes\n", "instance_count: true/false"),
}


class TrackedBody(io.BytesIO):
    """A streaming body that records how much was read from it and whether it was closed."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0
        self.was_closed = False

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk

    def close(self) -> None:
        self.was_closed = True
        super().close()


class OneObject:
    def __init__(self, data: bytes) -> None:
        self.body = TrackedBody(data)
        self.opened: list[tuple[str, str]] = []

    def open(self, bucket: str, key: str, version_id: str | None = None) -> TrackedBody:
        self.opened.append((bucket, key))
        return self.body


def test_the_pipeline_reads_one_byte_past_the_limit_of_a_large_object_and_closes_it() -> None:
    store = OneObject(b"#" * (50 * 1024 * 1024))
    raw = read_job_yaml_object(store, "datasets", "incoming/r/job.yaml")
    assert store.opened == [("datasets", "incoming/r/job.yaml")]
    assert len(raw) == store.body.bytes_read == MAX_JOB_YAML_BYTES + 1
    assert store.body.was_closed
    with pytest.raises(JobSpecInvalid, match=r"(?s)s3://datasets/incoming/r/job.yaml: .*too large"):
        job_spec_from(raw, source="s3://datasets/incoming/r/job.yaml", default_job=None)


@pytest.mark.parametrize(("text", "fragment"), HOSTILE.values(), ids=HOSTILE.keys())
def test_the_pipeline_ends_a_hostile_job_yaml_as_job_spec_invalid(text: str, fragment: str) -> None:
    raw = read_job_yaml_object(OneObject(text.encode()), "datasets", "incoming/r/job.yaml")
    with pytest.raises(JobSpecInvalid) as info:
        job_spec_from(raw, source="s3://datasets/incoming/r/job.yaml", default_job=None)
    assert info.value.workflow_error == "JobSpecInvalid"
    assert fragment in str(info.value)
    assert len(str(info.value)) < 1_000


def test_the_pipeline_names_bytes_that_are_not_utf8() -> None:
    raw = read_job_yaml_object(OneObject(b"model: \xc3\x28\n"), "datasets", "incoming/r/job.yaml")
    with pytest.raises(JobSpecInvalid, match="not UTF-8 text"):
        job_spec_from(raw, source="s3://datasets/incoming/r/job.yaml", default_job=None)


@pytest.mark.parametrize(("text", "fragment"), HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize("command", ["render", "plan"])
def test_the_cli_exits_2_with_a_short_message_for_a_hostile_job_yaml(
    command: str, text: str, fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = tmp_path / "job.yaml"
    job.write_text(text)
    extra = ["--train", "s3://d/incoming/a.jsonl"] if command == "plan" else []
    assert main([command, "--job", str(job), *extra]) == ExitCode.USAGE
    captured = capsys.readouterr()
    assert fragment in captured.err and str(job) in captured.err
    assert "Traceback" not in captured.err and len(captured.err) < 1_000


def test_submit_reads_job_yaml_through_the_bounded_loader(tmp_path: Path) -> None:
    job = tmp_path / "job.yaml"
    job.write_text(billion_laughs(9))
    with pytest.raises(JobSpecInvalid, match="anchors are not allowed"):
        job_spec_for_submit(job, default_job=None)
    job.write_text(VALID)
    spec = job_spec_for_submit(job, default_job=None)
    assert spec is not None and spec.model == "micro"


def test_a_local_job_file_that_cannot_be_read_is_named_as_given(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=re.escape(f"{tmp_path}: is a directory")):
        read_job_file(tmp_path)
    with pytest.raises(InputFileError, match=re.escape(f"{tmp_path / 'missing.yaml'}: no such file")):
        read_job_file(tmp_path / "missing.yaml")
