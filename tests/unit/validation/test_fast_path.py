"""The fast path may only accept what the detailed walk accepts, with the same numbers; the reserved word search is
exact whatever the way a word is written."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from novaft.validation import Code, ValidationOptions, iter_byte_lines, validate_dataset
from novaft.validation.fast_path import TextRecordFastPath
from novaft.validation.limits import RESERVED_WORDS
from novaft.validation.record_rules import RecordChecker, RecordFacts
from novaft.validation.reserved_words import find_reserved_word

Draw = Callable[[st.SearchStrategy[Any]], Any]

# Texts near the edges: reserved words in odd case, split, spaced or next to look-alike letters.
TRICKY_TEXTS = [
    "Where is my order?",
    "",
    "   ",
    "\t\n",
    "User: hi",
    "ok: fine",
    "time 10:30",
    "Assistant :",
    "tHoUgHt:",
    "thought",
    "<b>bold</b>",
    "<image>",
    "<imag>",
    "[e",
    "[eos]",
    "[EOS",
    "x <unk>",
    "<un\u212a>",  # Kelvin sign: not an ASCII k, so not a reserved word
    "\u017fystem:",  # long s: not an ASCII s
    "a" * 40 + "system:",
    "[[[<<<:::",
]
odd_values = st.sampled_from([None, 0, 1.5, True, "user", "assistant", [], {}, {"text": "x"}, [{"text": "y"}]])
replacements = st.one_of(
    odd_values,
    st.sampled_from(TRICKY_TEXTS),
    st.sampled_from(
        [
            {"text": "a", "extra": 1},
            {"image": {"format": "png", "source": {"s3Location": {"uri": "s3://b/a.png"}}}},
            {"reasoningContent": {"reasoningText": {"text": "why"}}},
            {"tools": []},
            "preferred",
            "non-preferred",
        ]
    ),
)
keys = st.sampled_from(["text", "role", "content", "candidates", "system", "toolConfig", "schemaVersion", "note"])


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found.extend(_paths(item, (*path, key)))
    return found


def _replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replaced(value[head], rest, new)}
    return [*value[:head], _replaced(value[head], rest, new), *value[head + 1 :]]


def _changed(draw: Draw, value: Any) -> Any:
    action = draw(st.sampled_from(["replace", "add", "drop", "repeat"]))
    if action == "add" and isinstance(value, dict):
        return {**value, draw(keys): draw(replacements)}
    if action == "drop" and isinstance(value, dict) and value:
        dropped = draw(st.sampled_from(sorted(value)))
        return {key: item for key, item in value.items() if key != dropped}
    if action == "drop" and isinstance(value, list) and value:
        return value[1:]
    if action == "repeat" and isinstance(value, list) and value:
        return [*value, value[-1]]
    if isinstance(value, str) and draw(st.booleans()):
        return draw(st.sampled_from(TRICKY_TEXTS))
    return draw(replacements)


def mutated(draw: Draw, record: Any) -> Any:
    """``record`` with one change at a place chosen evenly among all its values: replaced, key added, item dropped
    or repeated."""
    path = draw(st.sampled_from(_paths(record)))
    target = record
    for key in path:
        target = target[key]
    return _replaced(record, path, _changed(draw, target))


def clean_record(rng: Draw, dpo: bool) -> dict[str, Any]:
    turns = rng(st.integers(min_value=1, max_value=3))
    plain = st.one_of(
        st.text(alphabet="abc xyz.,!?", min_size=1, max_size=20).filter(lambda text: not text.isspace()),
        st.sampled_from(["Fine.", "Note: <b>bold</b> [1]", "a: b", "x" * 30]),
    )
    result: list[dict[str, Any]] = []
    for turn in range(turns):
        result.append({"role": "user", "content": [{"text": rng(plain)}]})
        if dpo and turn == turns - 1:
            pair = [
                {"content": [{"text": rng(plain)}], "preferenceLabel": "preferred"},
                {"content": [{"text": rng(plain)}], "preferenceLabel": "non-preferred"},
            ]
            result.append({"role": "assistant", "candidates": rng(st.permutations(pair))})
        else:
            result.append({"role": "assistant", "content": [{"text": rng(plain)}]})
    record: dict[str, Any] = {"messages": result}
    if rng(st.booleans()):
        record["system"] = [{"text": rng(plain)}]
    return record


def summarize(options: ValidationOptions, record: Any) -> tuple[int, int, int, bool] | None:
    """The fast path sees the raw line, as in a run."""
    return TextRecordFastPath(options).summarize_line(orjson.dumps(record))


def options_for(method: str, model: str) -> ValidationOptions:
    return ValidationOptions(model=model, method=method, chars_per_token=3.5, min_records=0)  # type: ignore[arg-type]


@settings(max_examples=600, deadline=None)
@given(st.data(), st.sampled_from(["sft", "dpo"]), st.sampled_from(["lite", "micro", "lite-2"]))
def test_fast_path_accepts_only_what_the_detailed_walk_accepts(data: st.DataObject, method: str, model: str) -> None:
    if method == "dpo" and model == "lite-2":
        model = "lite"
    options = options_for(method, model)
    record = clean_record(data.draw, method == "dpo")
    for _ in range(data.draw(st.integers(min_value=0, max_value=2))):
        record = mutated(data.draw, record)
    summary = summarize(options, record)
    facts, findings = RecordChecker(options).check(record)
    if summary is not None:
        turns, characters, tokens, has_system = summary
        assert findings == []
        assert facts == RecordFacts(turns, characters, 0, 0, 0, tokens, has_system)


@settings(max_examples=200, deadline=None)
@given(st.data(), st.sampled_from(["sft", "dpo"]))
def test_fast_path_accepts_clean_text_records(data: st.DataObject, method: str) -> None:
    options = options_for(method, "lite")
    record = clean_record(data.draw, method == "dpo")
    summary = summarize(options, record)
    facts, findings = RecordChecker(options).check(record)
    assert findings == []
    assert summary is not None
    assert facts == RecordFacts(summary[0], summary[1], 0, 0, 0, summary[2], summary[3])


def _turns(*texts: str) -> list[dict[str, Any]]:
    return [{"role": ("user", "assistant")[index % 2], "content": [{"text": text}]} for index, text in enumerate(texts)]


_PAIR = [
    {"content": [{"text": "Good."}], "preferenceLabel": "preferred"},
    {"content": [{"text": "Bad."}], "preferenceLabel": "non-preferred"},
]
NEAR_MISSES = [
    ("sft", {"messages": _turns("Hi", " \n")}, Code.TEXT_EMPTY),
    ("sft", {"messages": _turns("Hi", "Hello", "More?")}, Code.LAST_TURN_NOT_ASSISTANT),
    ("sft", {"messages": _turns("Hi", "Hello")[::-1]}, Code.FIRST_TURN_NOT_USER),
    ("sft", {"messages": _turns("Hi", "Bot: hello")}, Code.RESERVED_WORD),
    ("sft", {"system": [{"text": "x", "text2": "y"}], "messages": _turns("Hi", "Yo")}, Code.SYSTEM_INVALID),
    ("sft", {"toolConfig": {"tools": []}, "messages": _turns("Hi", "Yo")}, Code.NOVA2_ONLY),
    ("sft", {"schemaVersion": 1, "messages": _turns("Hi", "Yo")}, Code.SCHEMA_VERSION_TYPE),
    ("sft", {"messages": [*_turns("Hi"), {"role": "assistant", "candidates": _PAIR}]}, Code.CANDIDATES_IN_SFT),
    ("dpo", {"messages": _turns("Hi", "Yo")}, Code.CANDIDATES_MISSING),
    (
        "dpo",
        {"messages": [*_turns("Hi"), {"role": "assistant", "candidates": _PAIR, "content": [{"text": "x"}]}]},
        Code.MESSAGE_INVALID,
    ),
    (
        "dpo",
        {"messages": [*_turns("Hi"), {"role": "assistant", "candidates": [_PAIR[0], _PAIR[0]]}]},
        Code.PREFERENCE_LABELS,
    ),
    (
        "dpo",
        {"messages": [*_turns("Hi"), {"role": "assistant", "candidates": [_PAIR[0], {**_PAIR[1], "content": []}]}]},
        Code.CANDIDATES_INVALID,
    ),
]


@pytest.mark.parametrize(("method", "record", "code"), NEAR_MISSES)
def test_fast_path_leaves_near_misses_to_the_detailed_walk(method: str, record: dict[str, Any], code: str) -> None:
    options = options_for(method, "lite")
    _, findings = RecordChecker(options).check(record)
    assert summarize(options, record) is None
    assert code in {finding[0] for finding in findings}


def test_media_with_reasoning_goes_to_the_detailed_walk_and_passes() -> None:
    # The fast path takes text-only records; a record with an image in the user turn and reasoning in the assistant
    # turn is valid for Nova 2.0 and is judged by the detailed walk alone.
    options = options_for("sft", "lite-2")
    image = {"format": "png", "source": {"s3Location": {"uri": "s3://data/a.png", "bucketOwner": "111122223333"}}}
    record = {
        "messages": [
            {"role": "user", "content": [{"text": "What is shown?"}, {"image": image}]},
            {
                "role": "assistant",
                "content": [{"reasoningContent": {"reasoningText": {"text": "A dome."}}}, {"text": "A tent."}],
            },
        ]
    }
    facts, findings = RecordChecker(options).check(record)
    assert summarize(options, record) is None
    assert findings == []
    assert facts is not None and facts.images == 1


_WHOLE_TEXT_PATTERN = re.compile("|".join(re.escape(word) for word in RESERVED_WORDS), re.IGNORECASE | re.ASCII)


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet="userbotaiymhgnkvdEOSU:<>[] \u212a\u017f", max_size=60))
def test_reserved_word_search_matches_a_whole_text_scan(text: str) -> None:
    match = _WHOLE_TEXT_PATTERN.search(text)
    assert find_reserved_word(text) == (match.group(0) if match else None)


@pytest.mark.parametrize(
    "raw_text",
    [
        rb"\u003cimage>",
        rb"<image\u003e",
        rb"\u0055ser: hi",
        rb"User\u003a hi",
        rb"[\u0045OS]",
        rb"\u005beos]",
        rb"<\u0075nk>",
        rb"say bot\u003A now",
        rb"\u0041SSISTANT:",
    ],
)
def test_reserved_word_hidden_by_a_json_escape_is_found(raw_text: bytes) -> None:
    user_turn = b'{"role": "user", "content": [{"text": "' + raw_text + b'"}]}'
    answer = b'{"role": "assistant", "content": [{"text": "Fine."}]}'
    line = b'{"messages": [' + user_turn + b", " + answer + b"]}\n"
    report = validate_dataset(iter_byte_lines(io.BytesIO(line)), options_for("sft", "lite"))
    assert [(issue.line, issue.code, issue.path) for issue in report.errors] == [
        (1, Code.RESERVED_WORD, "$.messages[0].content[0].text")
    ]


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("plain text", None),
        ("a: b", None),
        ("first <video> then User:", "<video>"),
        ("then user: first <video>", "user:"),
        ("<un\u212a>", None),
        ("x" * 5000 + "[Eos]", "[Eos]"),
    ],
)
def test_reserved_word_reports_the_first_word_as_written(text: str, word: str | None) -> None:
    assert find_reserved_word(text) == word


def test_fast_and_detailed_paths_feed_the_same_statistics() -> None:
    turns: list[dict[str, Any]] = [{"role": "user", "content": [{"text": "Look"}, {"text": "again"}]}]
    turns.append({"role": "assistant", "content": [{"text": "Seen."}]})
    fast = {"system": [{"text": "Be brief."}], "messages": turns}  # 23 characters: 7 + 4 * 2 tokens
    # Valid, but an unknown key in a turn is left to the detailed walk (it ignores the key).
    detailed = {"system": [], "messages": [{**turns[0], "note": "kept"}, turns[1]]}
    options = options_for("sft", "lite")
    assert summarize(options, fast) is not None
    assert summarize(options, detailed) is None
    data = orjson.dumps(fast) + b"\n" + orjson.dumps(detailed) + b"\n"
    report = validate_dataset(iter_byte_lines(io.BytesIO(data)), options)
    stats = report.stats
    assert report.error_counts == {}
    assert (stats.records, stats.turns, stats.characters, stats.records_with_system) == (2, 4, 37, 2)
    assert (stats.estimated_tokens.minimum, stats.estimated_tokens.maximum) == (12, 15)


_TURNS_LINE = b'[{"role":"user","content":[{"text":"Hi"}]},{"role":"assistant","content":[{"text":"Yo"}]}]'


def _with_user_blocks(blocks: bytes) -> bytes:
    return b'{"messages":[{"role":"user","content":[' + blocks + b']},{"role":"assistant","content":[{"text":"c"}]}]}'


RAW_LINES = [
    b'{"messages":' + _TURNS_LINE + b"}",
    b'{"messages":' + _TURNS_LINE + b',"id":"kept","meta":{"a":[1]}}',  # unknown record keys: ignored by both
    b'{"messages":' + _TURNS_LINE + b',"messages":' + _TURNS_LINE + b"}",  # duplicate key: the last wins in both
    b'{"messages":[],"messages":' + _TURNS_LINE + b"}",
    b'{"messages":' + _TURNS_LINE + b',"messages":[]}',
    _with_user_blocks(b'{"text":"a","text":"bb"}'),
    _with_user_blocks(b'{"text":"\\ud800"}'),
    _with_user_blocks(b'{"text":"\\ud83d\\ude00"}'),
    _with_user_blocks(b'{"text":"\\u0055ser: x"}'),
    _with_user_blocks(b'{"\\u0074ext":"Hi"}'),
    b'{"messages":' + _TURNS_LINE + b',"deep":' + b"[" * 5000 + b"]" * 5000 + b"}",
    b'{"messages":' + _TURNS_LINE + b"} x",
    b'{"messages":' + _TURNS_LINE + b',"schemaVersion":null,"system":null}',
    b'{"messages":' + _TURNS_LINE + b',"toolConfig":null}',
    b'{"messages":['
    + b",".join([b'{"role":"user","content":[{"text":"a"}]},{"role":"assistant","content":[{"text":"b"}]}'] * 130)
    + b"]}",
]


@pytest.mark.parametrize("method", ["sft", "dpo"])
@pytest.mark.parametrize("line", RAW_LINES)
def test_fast_path_agrees_with_parsing_and_the_detailed_walk_on_raw_lines(method: str, line: bytes) -> None:
    options = options_for(method, "lite")
    summary = TextRecordFastPath(options).summarize_line(line)
    if summary is None:
        return
    facts, findings = RecordChecker(options).check(orjson.loads(line))
    assert findings == []
    assert facts == RecordFacts(summary[0], summary[1], 0, 0, 0, summary[2], summary[3])


@pytest.mark.parametrize(
    ("line", "accepted"),
    [(RAW_LINES[0], True), (RAW_LINES[1], True), (RAW_LINES[6], False), (RAW_LINES[8], False), (RAW_LINES[-1], False)],
)
def test_fast_path_takes_unknown_record_keys_and_leaves_the_unusual_to_the_walk(line: bytes, accepted: bool) -> None:
    assert (TextRecordFastPath(options_for("sft", "lite")).summarize_line(line) is not None) is accepted
