"""A hostile job.yaml is refused with a named error, cheaply: size, aliases, nesting, repeated keys, booleans, echo."""

from __future__ import annotations

import io
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest

from novaft.errors import MAX_ECHOED_CHARS, MAX_LISTED_PROBLEMS, Problem, clipped
from novaft.recipes import JobSpec, JobSpecError
from novaft.recipes.job_spec import MAX_JOB_YAML_BYTES, job_yaml_mapping, read_job_yaml
from novaft.recipes.yaml_io import MAX_USER_YAML_DEPTH, YamlNotAllowed, YamlSyntaxError, load_user_yaml

SOURCE = "incoming/r/job.yaml"
VALID = "model: micro\nmethod: sft\npeft: lora\n"
MEMORY_BOUND = 16 * 1024 * 1024


def billion_laughs(levels: int) -> str:
    """A few hundred bytes that expand to 9**levels strings when aliases are followed."""
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def deep_flow(levels: int) -> str:
    return "[" * levels + "]" * levels


def peak_bytes(call: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        call()
    except (JobSpecError, YamlSyntaxError):
        pass
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak


def _problem(text: str | bytes) -> str:
    with pytest.raises(JobSpecError) as info:
        JobSpec.from_yaml_text(text, source=SOURCE)
    message = str(info.value)
    assert message.startswith(f"{SOURCE}:")
    return message


# --- the YAML loader for user text -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a: &x 1\nb: 2\n", "line 1: anchor &x"),
        ("a: 1\nb: *x\n", "line 2: alias *x"),
        (billion_laughs(9), "anchor &l0"),
        ("a:\n  b:\n    c: 1\n  b: 2\n", "line 4: key 'b' given twice (first on line 2)"),
        ("1: a\n0x1: b\n", "key 1 given twice"),
        (deep_flow(MAX_USER_YAML_DEPTH + 1), f"nested deeper than {MAX_USER_YAML_DEPTH} levels"),
        ("{a: " * 10_000 + "1" + "}" * 10_000, "nested deeper than"),
        (deep_flow(10_000), "nested deeper than"),
    ],
)
def test_user_yaml_refuses_aliases_anchors_repeated_keys_and_deep_nesting(text: str, fragment: str) -> None:
    with pytest.raises(YamlNotAllowed) as info:
        load_user_yaml(text, source="job.yaml")
    assert str(info.value).startswith("job.yaml: line ")
    assert fragment in str(info.value)


def test_user_yaml_accepts_what_a_job_yaml_needs() -> None:
    text = deep_flow(MAX_USER_YAML_DEPTH) + "\n"
    assert load_user_yaml(text, source="s") is not None
    assert load_user_yaml("vpc:\n  subnets: [subnet-1]\nlr: 1.0e-5\n", source="s") == {
        "vpc": {"subnets": ["subnet-1"]},
        "lr": 1e-5,
    }


def test_user_yaml_syntax_errors_echo_at_most_a_clipped_value() -> None:
    with pytest.raises(YamlSyntaxError) as info:
        load_user_yaml("a: !" + "x" * 50_000 + " 1\n", source="s")
    assert len(str(info.value)) < 2 * MAX_ECHOED_CHARS + 200


# --- job.yaml as a whole ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (billion_laughs(9), "YAML anchors are not allowed"),
        (deep_flow(10_000), "nested deeper than"),
        (VALID + "model: lite\n", "line 4: key 'model' given twice (first on line 1)"),
        (VALID + "instance_count: yes\n", "instance_count: true/false (or yes/no, on/off) is a boolean, not a number"),
        (VALID + "hyperparameters:\n  lr: on\n", "hyperparameters.lr: true/false"),
        (VALID + "max_runtime_seconds: false\n", "max_runtime_seconds: true/false"),
        (b"model: micro\nmethod: \xff\xfe\n", "not UTF-8 text (given: 'byte 0xff at offset 21'"),
        ("- model: micro\n", "not a mapping"),
        ("just a scalar\n", "not a mapping (given: 'just a scalar'"),
        ("", "model: required"),
        ("model: " + "a" * (7 * 1024 * 1024) + "\n", f"too large (given: 'more than {MAX_JOB_YAML_BYTES:,} bytes'"),
        ("#" * (65 * 1024), "too large"),
        ("é" * (MAX_JOB_YAML_BYTES // 2 + 1), "too large"),
    ],
)
def test_a_hostile_job_yaml_is_a_job_spec_error_naming_the_problem(text: str | bytes, fragment: str) -> None:
    assert fragment in _problem(text)


def test_a_job_yaml_at_the_size_limit_is_read() -> None:
    text = VALID + "#" * (MAX_JOB_YAML_BYTES - len(VALID))
    assert len(text.encode()) == MAX_JOB_YAML_BYTES
    assert job_yaml_mapping(text.encode(), source=SOURCE) == {"model": "micro", "method": "sft", "peft": "lora"}


def test_a_boolean_is_still_a_boolean_where_one_is_wanted() -> None:
    text = "model: lite-2\nmethod: sft\npeft: lora\nhyperparameters:\n  reasoning_enabled: yes\n"
    spec = JobSpec.from_yaml_text(text, source=SOURCE)
    assert spec.hyperparameters.reasoning_enabled is True


@pytest.mark.parametrize(
    "text",
    [billion_laughs(9), deep_flow(10_000), "model: " + "a" * (7 * 1024 * 1024)],
    ids=["9-level alias bomb", "10,000 levels of [", "7 MB value"],
)
def test_hostile_job_yaml_is_refused_within_a_small_memory_bound(text: str) -> None:
    assert peak_bytes(lambda: JobSpec.from_yaml_text(text, source=SOURCE)) < MEMORY_BOUND


# --- reading ----------------------------------------------------------------------------------------------------------


class CountingStream(io.BytesIO):
    def __init__(self, size: int) -> None:
        super().__init__(b"#" * size)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size if size is not None and size < 1000 else 1000)  # a short read, as sockets do
        self.bytes_read += len(chunk)
        return chunk


@pytest.mark.parametrize("size", [0, 10, MAX_JOB_YAML_BYTES, MAX_JOB_YAML_BYTES + 1, 10 * 1024 * 1024])
def test_read_job_yaml_reads_at_most_one_byte_past_the_limit(size: int) -> None:
    stream = CountingStream(size)
    raw = read_job_yaml(stream)
    assert len(raw) == min(size, MAX_JOB_YAML_BYTES + 1) == stream.bytes_read


# --- echoed values ----------------------------------------------------------------------------------------------------


def test_clipped_keeps_short_text_and_cuts_long_text_saying_how_long() -> None:
    assert clipped("short") == "short"
    long = clipped("x" * 7_000_000)
    assert long.startswith("x" * MAX_ECHOED_CHARS + "...") and "7,000,000 characters" in long
    assert len(long) < MAX_ECHOED_CHARS + 40


def test_a_huge_value_or_key_is_echoed_clipped() -> None:
    huge = "a" * (7 * 1024 * 1024)
    with pytest.raises(JobSpecError) as info:
        JobSpec.model_validate({"model": huge, "method": "sft", "peft": "lora", huge: 1})
    assert len(str(info.value)) < 2_000
    assert "model: not a valid choice" in str(info.value)


def test_a_spec_with_thousands_of_problems_lists_the_first_and_counts_the_rest() -> None:
    tags = {f"aws:tag-{n}": "v" for n in range(5000)}
    with pytest.raises(JobSpecError) as info:
        JobSpec.model_validate({"model": "micro", "method": "sft", "peft": "lora", "tags": tags})
    message = str(info.value)
    assert len(info.value.problems) == 5001
    assert f"... and {5001 - MAX_LISTED_PROBLEMS} more" in message
    assert message.count("\n  - ") == MAX_LISTED_PROBLEMS + 1


def test_problem_describe_clips_given_and_field() -> None:
    text = Problem("k" * 1000, "v" * 1000, "a string").describe()
    assert len(text) < 3 * MAX_ECHOED_CHARS + 100
