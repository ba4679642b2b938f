"""One passing and one failing example per rule, asserting the code and the line."""

from __future__ import annotations

import io
from typing import Any

import orjson
import pytest

from novaft.validation import Code, ValidationOptions, iter_byte_lines, validate_dataset


def user(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"role": "user", "content": list(blocks) or [{"text": "Where is my order?"}]}


def assistant(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "content": list(blocks) or [{"text": "It ships tomorrow."}]}


def image(fmt: str = "png", uri: str = "s3://data-bucket/img/a.png") -> dict[str, Any]:
    return {"image": {"format": fmt, "source": {"s3Location": {"uri": uri, "bucketOwner": "111122223333"}}}}


def video(fmt: str = "mp4", uri: str = "s3://data-bucket/vid/a.mp4") -> dict[str, Any]:
    return {"video": {"format": fmt, "source": {"s3Location": {"uri": uri, "bucketOwner": "111122223333"}}}}


def pair(preferred: str = "Good answer.", other: str = "Bad answer.", labels: tuple[str, str] | None = None) -> dict:
    first, second = labels or ("preferred", "non-preferred")
    return {
        "role": "assistant",
        "candidates": [
            {"content": [{"text": preferred}], "preferenceLabel": first},
            {"content": [{"text": other}], "preferenceLabel": second},
        ],
    }


GOOD = {"messages": [user(), assistant()]}
REASONING = {"reasoningContent": {"reasoningText": {"text": "The picture shows a dome tent."}}}


def codes_on_line_2(record: Any, **options: Any) -> set[str]:
    """Validate [GOOD, record] and return the codes reported on line 2."""
    opts = ValidationOptions(**{"model": "lite", "method": "sft", "min_records": 0, **options})
    first = {"messages": [user(), pair()]} if opts.method == "dpo" else GOOD
    data = orjson.dumps(first) + b"\n" + (record if isinstance(record, bytes) else orjson.dumps(record)) + b"\n"
    report = validate_dataset(iter_byte_lines(io.BytesIO(data)), opts)
    assert all(issue.line in (0, 2) for issue in report.errors)
    return {issue.code for issue in report.errors if issue.line == 2}


FAILING = [
    (b"not json", {}, Code.INVALID_JSON),
    (b'{"messages": [1,]}', {}, Code.INVALID_JSON),
    (b'{"a": "\xff"}', {}, Code.INVALID_UTF8),
    (b"[" * 2000 + b"]" * 2000, {}, Code.JSON_TOO_DEEP),
    ([GOOD], {}, Code.NOT_AN_OBJECT),
    ({"schemaVersion": 3, **GOOD}, {}, Code.SCHEMA_VERSION_TYPE),
    ({"system": "be nice", **GOOD}, {}, Code.SYSTEM_INVALID),
    ({"system": [{"text": "x", "extra": 1}], **GOOD}, {}, Code.SYSTEM_INVALID),
    ({"message": []}, {}, Code.MESSAGES_MISSING),
    ({"messages": []}, {}, Code.MESSAGES_INVALID),
    ({"messages": [user(), "assistant"]}, {}, Code.MESSAGE_INVALID),
    ({"messages": [{"role": "User", "content": [{"text": "hi"}]}, assistant()]}, {}, Code.ROLE_INVALID),
    ({"messages": [assistant(), user(), assistant()]}, {}, Code.FIRST_TURN_NOT_USER),
    ({"messages": [user(), user(), assistant()]}, {}, Code.TURNS_NOT_ALTERNATING),
    ({"messages": [user(), assistant(), user()]}, {}, Code.LAST_TURN_NOT_ASSISTANT),
    ({"messages": [{"role": "user"}, assistant()]}, {}, Code.CONTENT_MISSING),
    ({"messages": [{"role": "user", "content": []}, assistant()]}, {}, Code.CONTENT_EMPTY),
    ({"messages": [user({"text": "a", "image": {}}), assistant()]}, {}, Code.BLOCK_INVALID),
    ({"messages": [user({"audio": {}}), assistant()]}, {}, Code.BLOCK_UNKNOWN),
    ({"messages": [user({"text": 5}), assistant()]}, {}, Code.TEXT_INVALID),
    ({"messages": [user({"text": "  "}), assistant()]}, {}, Code.TEXT_EMPTY),
    ({"messages": [user({"text": "hello bot: there"}), assistant()]}, {}, Code.RESERVED_WORD),
    ({"messages": [user({"text": "see <IMAGE> here"}), assistant()]}, {}, Code.RESERVED_WORD),
    ({"messages": [user({"text": "end [eos]"}), assistant()]}, {}, Code.RESERVED_WORD),
    ({"messages": [user({"text": "escaped \u003cvideo>"}), assistant()]}, {}, Code.RESERVED_WORD),
    ({"system": [{"text": "System: rules"}], **GOOD}, {}, Code.RESERVED_WORD),
    ({"messages": [user({"text": "x"}, image()), assistant()]}, {"model": "micro"}, Code.MEDIA_NOT_SUPPORTED),
    ({"messages": [user(), assistant({"text": "x"}, image())]}, {}, Code.MEDIA_IN_ASSISTANT_TURN),
    ({"messages": [user({"text": "x"}, image("bmp")), assistant()]}, {}, Code.IMAGE_FORMAT),
    ({"messages": [user({"text": "x"}, image("webp")), assistant()]}, {"model": "lite-2"}, Code.IMAGE_FORMAT),
    ({"messages": [user({"text": "x"}, video("avi")), assistant()]}, {}, Code.VIDEO_FORMAT),
    ({"messages": [user({"text": "x"}, {"image": {"format": "png"}}), assistant()]}, {}, Code.MEDIA_SOURCE_INVALID),
    ({"messages": [user({"text": "x"}, image(uri="https://a/b.png")), assistant()]}, {}, Code.MEDIA_URI_NOT_S3),
    ({"messages": [user({"text": "x"}, image(uri="s3://b/a b.png")), assistant()]}, {}, Code.MEDIA_URI_CHARACTERS),
    (
        {"messages": [user({"text": "x"}, image(uri="s3://other/a.png")), assistant()]},
        {"dataset_bucket": "data-bucket"},
        Code.MEDIA_BUCKET_MISMATCH,
    ),
    (
        {"messages": [user({"text": "x"}, image(uri="s3://data-bucket/elsewhere/a.png")), assistant()]},
        {"dataset_bucket": "data-bucket", "media_prefix": "incoming/"},
        Code.MEDIA_OUTSIDE_PREFIX,
    ),
    ({"messages": [user({"text": "x"}, *[image()] * 11), assistant()]}, {}, Code.TOO_MANY_IMAGES),
    ({"messages": [user({"text": "x"}, video(), video()), assistant()]}, {}, Code.TOO_MANY_VIDEOS),
    ({"messages": [user({"text": "x"}, image(), video()), assistant()]}, {}, Code.IMAGE_VIDEO_MIXED),
    (
        {"messages": [user(), assistant({"reasoningContent": {"reasoningText": {"text": "hm"}}}, {"text": "a"})]},
        {},
        Code.NOVA2_ONLY,
    ),
    (
        {"messages": [user({"reasoningContent": {"reasoningText": {"text": "hm"}}}), assistant()]},
        {"model": "lite-2"},
        Code.REASONING_INVALID,
    ),
    (
        {"messages": [user(), assistant({"reasoningContent": {"reasoningText": {"text": "hm"}, **image()}})]},
        {"model": "lite-2"},
        Code.REASONING_WITH_MEDIA,
    ),
    (
        {"messages": [user(), assistant({"reasoningContent": {"reasoningText": {"text": "hm", **video()}}})]},
        {"model": "lite-2"},
        Code.REASONING_WITH_MEDIA,
    ),
    (
        {"messages": [user(), assistant({"toolUse": {"toolUseId": "1", "name": "f", "input": {}}})]},
        {"model": "lite-2"},
        Code.TOOL_NAME_UNKNOWN,
    ),
    (
        {"messages": [user({"toolResult": {"toolUseId": "9", "content": []}}), assistant()]},
        {"model": "lite-2"},
        Code.TOOL_RESULT_UNMATCHED,
    ),
    ({"messages": [user({"document": {"format": "docx"}}), assistant()]}, {"model": "lite-2"}, Code.DOCUMENT_INVALID),
    ({"messages": [user(), pair()]}, {}, Code.CANDIDATES_IN_SFT),
    ({"messages": [user(), assistant()]}, {"method": "dpo"}, Code.CANDIDATES_MISSING),
    ({"messages": [user(), pair(), user(), pair()]}, {"method": "dpo"}, Code.CANDIDATES_NOT_LAST),
    ({"messages": [user(), pair(labels=("preferred", "preferred"))]}, {"method": "dpo"}, Code.PREFERENCE_LABELS),
    (
        {"messages": [user(), {"role": "assistant", "candidates": pair()["candidates"][:1]}]},
        {"method": "dpo"},
        Code.CANDIDATES_INVALID,
    ),
    (
        {
            "messages": [
                user(),
                {
                    "role": "assistant",
                    "candidates": [{"content": [image()], "preferenceLabel": "preferred"}, pair()["candidates"][1]],
                },
            ]
        },
        {"method": "dpo"},
        Code.CANDIDATE_NOT_TEXT,
    ),
    ({"messages": [user({"text": "x"}, video()), pair()]}, {"method": "dpo"}, Code.VIDEO_IN_DPO),
    ({"messages": [user({"text": "word " * 400}), assistant()]}, {"max_length": 100}, Code.RECORD_TOO_LONG),
]


@pytest.mark.parametrize(
    ("record", "options", "code"), FAILING, ids=[case[2] + f"-{i}" for i, case in enumerate(FAILING)]
)
def test_each_rule_reports_its_code_on_the_right_line(record: Any, options: dict[str, Any], code: str) -> None:
    assert code in codes_on_line_2(record, **options)


PASSING = [
    (GOOD, {}),
    ({"schemaVersion": "anything", "system": [{"text": "Be brief."}], **GOOD}, {}),
    ({"messages": [user({"text": "look"}, *[image()] * 10), assistant()]}, {}),
    ({"messages": [user({"text": "look"}, video("webm")), assistant()]}, {}),
    (
        {"messages": [user({"text": "x"}, image(uri="s3://data-bucket/a.png")), assistant()]},
        {"dataset_bucket": "data-bucket"},
    ),
    (
        {"messages": [user({"text": "x"}, image(uri="s3://data-bucket/incoming/run/a.png")), assistant()]},
        {"dataset_bucket": "data-bucket", "media_prefix": "incoming/"},
    ),
    ({"messages": [user(), pair()]}, {"method": "dpo"}),
    ({"messages": [user(), assistant(), user({"text": "x"}, image()), pair()]}, {"method": "dpo"}),
    (
        {
            "toolConfig": {"tools": [{"toolSpec": {"name": "lookup", "inputSchema": {"json": {}}}}]},
            "messages": [
                user(),
                assistant(
                    {"reasoningContent": {"reasoningText": {"text": "Need a lookup."}}},
                    {"toolUse": {"toolUseId": "t1", "name": "lookup", "input": {"id": 3}}},
                ),
                user({"toolResult": {"toolUseId": "t1", "content": [{"json": {"status": "shipped"}}]}}),
                assistant(),
            ],
        },
        {"model": "lite-2"},
    ),
    ({"messages": [user({"text": "word " * 40}), assistant()]}, {"max_length": 100}),
    # Nova 2.0 SFT's own examples pair media in the user turn with text reasoning in the assistant turn.
    *(
        (
            {"messages": [user({"text": "What is shown?"}, media), assistant(REASONING, {"text": "A tent."})]},
            {"model": "lite-2"},
        )
        for media in (image(), video())
    ),
]


@pytest.mark.parametrize(("record", "options"), PASSING)
def test_valid_records_have_no_errors(record: Any, options: dict[str, Any]) -> None:
    assert codes_on_line_2(record, **options) == set()


def test_reserved_word_inside_a_longer_word_still_counts() -> None:
    # Matching is on the substring, as in the AWS sample validator: 'superuser:' contains 'user:'.
    assert codes_on_line_2({"messages": [user({"text": "superuser: root"}), assistant()]}) == {Code.RESERVED_WORD}


def test_dataset_may_not_mix_images_and_video() -> None:
    records = [
        {"messages": [user({"text": "x"}, image()), assistant()]},
        {"messages": [user({"text": "x"}, video()), assistant()]},
    ]
    data = b"".join(orjson.dumps(r) + b"\n" for r in records)
    report = validate_dataset(
        iter_byte_lines(io.BytesIO(data)), ValidationOptions(model="lite", method="sft", min_records=0)
    )
    assert [(i.line, i.code) for i in report.errors] == [(2, Code.DATASET_MODALITIES_MIXED)]
