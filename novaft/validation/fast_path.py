"""A quick yes/unsure check for the common record: text-only turns that break no rule.

Most lines of a real dataset are valid text records, and the detailed walk in ``record_rules`` spends its time on
bookkeeping those records never need (paths, tallies, findings). ``TextRecordFastPath.summarize`` accepts only records
the detailed walk would accept without a finding, and returns the same numbers the statistics need; anything else
(media, documents, reasoning, tools, unusual keys, any broken rule) returns None and goes through the detailed walk,
which alone produces messages. The agreement of the two is a property test in the unit tests.

Texts that hold a marker character are searched for reserved words once per record, joined, rather than one call per
text: real chat text holds markers in most turns ("10:30", "note:", links), and the search has a fixed cost per call.
"""

from __future__ import annotations

import math
from typing import Any

from novaft.validation.options import ValidationOptions
from novaft.validation.record_rules import TOKENS_PER_TURN
from novaft.validation.reserved_words import holds_reserved_word

# turns, characters, estimated tokens, has a system prompt
RecordSummary = tuple[int, int, int, bool]
# No reserved word holds a newline, so none can span two joined texts: the joined search is exact.
_TEXT_SEPARATOR = "\n"
# Turns alternate from the first, so a valid record's roles are fixed by the turn's position.
_ROLE_OF_PARITY = ("user", "assistant")


def _text_characters(blocks: Any, marked: list[str]) -> int:
    """Characters of a non-empty list of clean ``{"text": ...}`` blocks, or -1 when any block is not one.

    Texts holding a marker character are appended to ``marked``, for the caller to search for reserved words."""
    if type(blocks) is not list or not blocks:
        return -1
    characters = 0
    for block in blocks:
        if type(block) is not dict or len(block) != 1:
            return -1
        text = block.get("text")
        if type(text) is not str or not text or text.isspace():
            return -1
        if ":" in text or "<" in text or "[" in text:
            marked.append(text)
        characters += len(text)
    return characters


class TextRecordFastPath:
    """Summarizes records that are certainly valid; built once per run from its options."""

    def __init__(self, options: ValidationOptions) -> None:
        self._dpo = options.method == "dpo"
        self._chars_per_token = options.chars_per_token

    def summarize(self, record: Any) -> RecordSummary | None:
        """The record's summary when it passes every rule as plain text turns; None means: run the detailed walk."""
        if type(record) is not dict or "toolConfig" in record:
            return None
        schema_version = record.get("schemaVersion")
        if schema_version is not None and type(schema_version) is not str:
            return None
        characters = 0
        marked: list[str] = []
        has_system = "system" in record
        if has_system:
            characters = _text_characters(record["system"], marked)
            if characters < 0:
                return None
        messages = record.get("messages")
        if type(messages) is not list or not messages or len(messages) % 2:
            return None
        dpo = self._dpo
        turns = len(messages)
        last = turns - 1
        candidate_total = candidate_longest = 0
        for index, message in enumerate(messages):
            if type(message) is not dict or message.get("role") != _ROLE_OF_PARITY[index & 1]:
                return None
            if "candidates" in message:
                if not dpo or index != last or "content" in message:
                    return None
                sizes = _candidate_sizes(message["candidates"], marked)
                if sizes is None:
                    return None
                candidate_total, candidate_longest = sizes
                characters += candidate_total
                break
            if dpo and index == last:
                return None
            # The loop of _text_characters, inlined: this is the hottest loop of a validation run.
            content = message.get("content")
            if type(content) is not list or not content:
                return None
            for block in content:
                if type(block) is not dict or len(block) != 1:
                    return None
                text = block.get("text")
                if type(text) is not str or not text or text.isspace():
                    return None
                if ":" in text or "<" in text or "[" in text:
                    marked.append(text)
                characters += len(text)
        if marked and holds_reserved_word(_TEXT_SEPARATOR.join(marked)):
            return None
        prompt_characters = characters - candidate_total + candidate_longest
        tokens = math.ceil(prompt_characters / self._chars_per_token) + TOKENS_PER_TURN * turns
        return turns, characters, tokens, has_system


def _candidate_sizes(candidates: Any, marked: list[str]) -> tuple[int, int] | None:
    """Total and longest characters of a clean preferred/non-preferred pair, or None."""
    if type(candidates) is not list or len(candidates) != 2:
        return None
    first, second = candidates
    if type(first) is not dict or type(second) is not dict:
        return None
    labels = (first.get("preferenceLabel"), second.get("preferenceLabel"))
    if labels != ("preferred", "non-preferred") and labels != ("non-preferred", "preferred"):
        return None
    first_characters = _text_characters(first.get("content"), marked)
    second_characters = _text_characters(second.get("content"), marked)
    if first_characters < 0 or second_characters < 0:
        return None
    return first_characters + second_characters, max(first_characters, second_characters)
