"""A quick yes/unsure check for the common line: a record of text-only turns that breaks no rule.

Most lines of a real dataset are valid text records, and parsing them into dicts and walking them with the detailed
checks of ``record_rules`` spends time on bookkeeping those records never need (paths, tallies, findings).
``TextRecordFastPath.summarize_line`` decodes the raw line straight into typed structs with msgspec, which parses the
JSON and checks the shape (keys, types, roles, preference labels, non-empty lists and texts) in C in one pass; Python
then checks only what types cannot say (alternating turns, whitespace-only texts, reserved words) and counts the
characters. It accepts only records the detailed walk would accept without a finding, and returns the same numbers the
statistics need; anything else (media, documents, reasoning, tools, a line the decoder rejects, any broken rule)
returns None and goes through ``orjson.loads`` and the detailed walk, which alone produces messages. The agreement of
the two is a property test in the unit tests.

Unknown keys are ignored where the detailed walk ignores them (record, DPO turn, candidate), except the keys it does
look at (``toolConfig``, ``candidates`` in an SFT turn), which send the line to the detailed walk. A text block must be
exactly ``{"text": ...}``. The decoder is as strict as orjson about JSON (surrogates, control characters, trailing
data, duplicate keys: the last wins in both), so a line it accepts is a line orjson parses to the same values.

The texts of a record are searched for reserved words once, joined, rather than one call per text: real chat text
holds marker characters in most turns ("10:30", "note:", links), and the search has a fixed cost per call.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Literal

import msgspec

from novaft.validation.options import ValidationOptions
from novaft.validation.record_rules import TOKENS_PER_TURN
from novaft.validation.reserved_words import holds_reserved_word, may_hold_reserved_word

# turns, characters, estimated tokens, has a system prompt
RecordSummary = tuple[int, int, int, bool]
# No reserved word holds a newline, so none can span two joined texts: the joined search is exact.
_TEXT_SEPARATOR = "\n"
# Turns alternate from the first, so a valid record's roles are fixed by its length; longer records (rare) are left
# to the detailed walk rather than building the expected list per record.
_MAX_FAST_TURNS = 256
_ALTERNATING_ROLES = {
    turns: [("user", "assistant")[index & 1] for index in range(turns)] for turns in range(2, _MAX_FAST_TURNS + 1, 2)
}
_UNSET = msgspec.UNSET
_is_space = str.isspace

_NonEmptyText = Annotated[str, msgspec.Meta(min_length=1)]
_Role = Literal["user", "assistant"]
# gc=False: these structs hold only strings and lists of structs, never cycles, so the collector can skip them.


class _TextBlock(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    text: _NonEmptyText


_TextBlocks = Annotated[list[_TextBlock], msgspec.Meta(min_length=1)]


class _SftTurn(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    # Unknown keys are refused so that "candidates" (an error in SFT) never passes unseen.
    role: _Role
    content: _TextBlocks


class _Candidate(msgspec.Struct, gc=False):
    content: _TextBlocks
    preferenceLabel: Literal["preferred", "non-preferred"]


class _DpoTurn(msgspec.Struct, gc=False):
    role: _Role
    content: _TextBlocks | msgspec.UnsetType = _UNSET
    candidates: Annotated[list[_Candidate], msgspec.Meta(min_length=2, max_length=2)] | msgspec.UnsetType = _UNSET


class _SftRecord(msgspec.Struct, gc=False):
    messages: Annotated[list[_SftTurn], msgspec.Meta(min_length=2)]
    schemaVersion: str | None = None
    system: list[_TextBlock] | msgspec.UnsetType = _UNSET
    # Only its presence matters: a tool configuration is for the detailed walk.
    toolConfig: msgspec.Raw | msgspec.UnsetType = _UNSET


class _DpoRecord(msgspec.Struct, gc=False):
    messages: Annotated[list[_DpoTurn], msgspec.Meta(min_length=2)]
    schemaVersion: str | None = None
    system: list[_TextBlock] | msgspec.UnsetType = _UNSET
    toolConfig: msgspec.Raw | msgspec.UnsetType = _UNSET


class TextRecordFastPath:
    """Summarizes lines that certainly hold a valid text record; built once per run from its options."""

    summarize_line: Callable[[bytes], RecordSummary | None]
    """The record's summary when the line holds a record that passes every rule as plain text turns; None means:
    parse it and run the detailed walk. Bound to the method's variant once, as it is called for every line."""

    def __init__(self, options: ValidationOptions) -> None:
        self._chars_per_token = options.chars_per_token
        if options.method == "dpo":
            self._dpo_decode = msgspec.json.Decoder(_DpoRecord).decode
            self.summarize_line = self._summarize_dpo_line
        else:
            self._sft_decode = msgspec.json.Decoder(_SftRecord).decode
            self.summarize_line = self._summarize_sft_line

    def _summarize_sft_line(self, line: bytes) -> RecordSummary | None:
        try:
            record = self._sft_decode(line)
        except (ValueError, RecursionError):  # msgspec.DecodeError is a ValueError
            return None
        messages = record.messages
        turns = len(messages)
        if record.toolConfig is not _UNSET or [turn.role for turn in messages] != _ALTERNATING_ROLES.get(turns):
            return None
        texts = [block.text for turn in messages for block in turn.content]
        has_system = record.system is not _UNSET
        if has_system:
            texts += [block.text for block in record.system]  # type: ignore[union-attr]
        characters = self._checked_characters(texts)
        if characters < 0:
            return None
        return turns, characters, self._tokens(characters, turns), has_system

    def _summarize_dpo_line(self, line: bytes) -> RecordSummary | None:
        try:
            record = self._dpo_decode(line)
        except (ValueError, RecursionError):
            return None
        messages = record.messages
        turns = len(messages)
        if record.toolConfig is not _UNSET or [turn.role for turn in messages] != _ALTERNATING_ROLES.get(turns):
            return None
        *prompt, answer = messages
        for turn in prompt:
            if turn.content is _UNSET or turn.candidates is not _UNSET:
                return None
        candidates = answer.candidates
        if answer.content is not _UNSET or candidates is _UNSET:
            return None
        first, second = candidates
        if first.preferenceLabel == second.preferenceLabel:
            return None
        first_texts = [block.text for block in first.content]
        second_texts = [block.text for block in second.content]
        texts = [block.text for turn in prompt for block in turn.content]  # type: ignore[union-attr]
        has_system = record.system is not _UNSET
        if has_system:
            texts += [block.text for block in record.system]  # type: ignore[union-attr]
        prompt_characters = self._checked_characters(texts + first_texts + second_texts)
        if prompt_characters < 0:
            return None
        first_characters = sum(map(len, first_texts))
        second_characters = sum(map(len, second_texts))
        characters = prompt_characters
        prompt_characters -= min(first_characters, second_characters)  # the prompt and the longest candidate
        return turns, characters, self._tokens(prompt_characters, turns), has_system

    @staticmethod
    def _checked_characters(texts: list[str]) -> int:
        """Characters of all ``texts``, or -1 when one is only whitespace or any holds a reserved word."""
        if any(map(_is_space, texts)):
            return -1
        joined = _TEXT_SEPARATOR.join(texts)
        if may_hold_reserved_word(joined) and holds_reserved_word(joined):
            return -1
        return len(joined) - len(texts) + 1 if texts else 0

    def _tokens(self, characters: int, turns: int) -> int:
        return math.ceil(characters / self._chars_per_token) + TOKENS_PER_TURN * turns
