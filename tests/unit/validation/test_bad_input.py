"""Awkward files: each gets a named error (or is accepted), never a traceback; long lines never sit in memory."""

from __future__ import annotations

import io
import json
import tracemalloc
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from novaft.validation import Code, ValidationOptions, iter_byte_lines, validate_dataset

RECORD = orjson.dumps(
    {"messages": [{"role": "user", "content": [{"text": "Hi"}]}, {"role": "assistant", "content": [{"text": "Hello"}]}]}
)
OPTIONS = ValidationOptions(model="lite", method="sft", min_records=0)


def validate_bytes(data: bytes, options: ValidationOptions = OPTIONS) -> list[tuple[int, str]]:
    report = validate_dataset(iter_byte_lines(io.BytesIO(data), max_line_bytes=options.max_line_bytes), options)
    return [(issue.line, issue.code) for issue in report.errors]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", [(0, Code.EMPTY_FILE)]),
        (RECORD + b"\r\n" + RECORD + b"\r\n", []),
        (RECORD, []),
        (b"\xef\xbb\xbf" + RECORD + b"\n", [(1, Code.UTF8_BOM)]),
        (RECORD + b"\n\n" + RECORD + b"\n", [(2, Code.BLANK_LINE)]),
        (RECORD + b"\n   \n", [(2, Code.BLANK_LINE)]),
        (b"\xff\xfe" + RECORD + b"\n", [(1, Code.INVALID_UTF8)]),
        (b"[" + RECORD + b"]\n", [(1, Code.NOT_AN_OBJECT)]),
        (b"[" * 5000 + b"]" * 5000 + b"\n" + RECORD, [(1, Code.JSON_TOO_DEEP)]),
        (b"null\n" + RECORD, [(1, Code.NOT_AN_OBJECT)]),
    ],
    ids=["empty", "crlf", "no-final-newline", "bom", "blank", "whitespace", "latin1", "array", "deep", "null"],
)
def test_awkward_files_get_named_errors(data: bytes, expected: list[tuple[int, str]]) -> None:
    assert validate_bytes(data) == expected


def test_line_over_the_cap_is_reported_and_skipped() -> None:
    options = ValidationOptions(model="lite", method="sft", min_records=0, max_line_bytes=4096)
    data = RECORD + b"\n" + b'{"messages": "' + b"x" * 10_000 + b'"}\n' + RECORD + b"\n"
    assert validate_bytes(data, options) == [(2, Code.LINE_TOO_LONG)]


@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 20])
def test_reader_splits_the_same_whatever_the_chunk_size(chunk: int) -> None:
    data = b"a\r\nbb\n\nccc\nd"
    lines = list(iter_byte_lines(io.BytesIO(data), chunk_bytes=chunk, max_line_bytes=1024))
    assert [(line.number, line.content, line.overlong) for line in lines] == [
        (1, b"a", False),
        (2, b"bb", False),
        (3, b"", False),
        (4, b"ccc", False),
        (5, b"d", False),
    ]


def test_200_mb_line_is_never_held_in_memory(tmp_path: Path) -> None:
    big = tmp_path / "big.jsonl"
    with big.open("wb") as out:
        out.write(RECORD + b"\n" + b'{"messages": "')
        block = b"y" * (1 << 20)
        for _ in range(200):
            out.write(block)
        out.write(b'"}\n' + RECORD + b"\n")
    tracemalloc.start()
    try:
        with big.open("rb") as stream:
            report = validate_dataset(iter_byte_lines(stream), OPTIONS)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [(issue.line, issue.code) for issue in report.errors] == [(2, Code.LINE_TOO_LONG)]
    assert report.records == 3
    assert peak < 24 * 1024 * 1024  # the 16 MiB line cap plus one 1 MiB chunk, not 200 MB


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_always_give_a_report(data: bytes) -> None:
    report = validate_dataset(iter_byte_lines(io.BytesIO(data)), OPTIONS)
    assert isinstance(report.to_dict()["valid"], bool)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["messages", "role", "content", "text", "image", "video", "candidates", "system", "x"]),
            children,
            max_size=4,
        )
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES, st.sampled_from(["sft", "dpo"]), st.sampled_from(["micro", "lite", "pro", "lite-2"]))
def test_random_json_always_gives_a_report(value: object, method: str, model: str) -> None:
    if model == "lite-2" and method == "dpo":
        method = "sft"
    options = ValidationOptions(model=model, method=method, min_records=0)  # type: ignore[arg-type]
    data = json.dumps(value).encode() + b"\n"
    report = validate_dataset(iter_byte_lines(io.BytesIO(data)), options)
    assert report.records == 1
    assert orjson.loads(orjson.dumps(report.to_dict()))["records"] == 1
