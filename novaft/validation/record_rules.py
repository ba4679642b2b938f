"""Rules for one parsed Converse record (one JSONL line), written as plain checks over dicts for speed.

Sources: Nova user guide "Preparing data for fine-tuning Understanding models" (structure, media, reserved words),
the SageMaker training jobs page (DPO shape), the Nova 2.0 fine-tuning page (reasoning, tools, documents) and the AWS
sample validator; see ``novaft.validation.limits`` for the figures. Each finding names the allowed values.

Token estimate per record (documented for the README): ceil(characters / chars_per_token) + 4 tokens per turn (role
markers of the chat template) + tokens_per_image per image + tokens_per_video per video. For DPO the characters are the
prompt's plus the longest candidate's, since each candidate is trained as its own sequence with the prompt.
Characters are Python string lengths (code points) of every text, reasoning text and tool payload.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import orjson

from novaft.validation.issues import Code, show_value
from novaft.validation.limits import (
    DOCUMENT_FORMATS,
    MAX_DOCUMENTS_PER_SAMPLE,
    MAX_IMAGES_PER_SAMPLE,
    MAX_VIDEOS_PER_SAMPLE,
    MODEL_DISPLAY_NAMES,
    MODEL_RULES,
    PREFERENCE_LABELS,
)
from novaft.validation.media_rules import Finding, check_media_source
from novaft.validation.options import ValidationOptions
from novaft.validation.reserved_words import find_reserved_word

TOKENS_PER_TURN = 4
ROLES = ("user", "assistant")
NOVA1_BLOCKS = ("text", "image", "video")
NOVA2_BLOCKS = ("reasoningContent", "toolUse", "toolResult", "document")
# Paths of the first turns, built once: formatting a path per turn is a visible share of the per-record cost.
_MESSAGE_PATHS = tuple(f"$.messages[{index}]" for index in range(64))


@dataclass(frozen=True, slots=True)
class RecordFacts:
    """What the statistics need from one record that parsed as a JSON object."""

    turns: int
    characters: int
    images: int
    videos: int
    documents: int
    estimated_tokens: int
    has_system: bool


@dataclass(slots=True)
class _Tally:
    """Per-record counters while walking it."""

    characters: int = 0
    images: int = 0
    videos: int = 0
    documents: int = 0
    reasoning: int = 0


class RecordChecker:
    """Checks records against one ``ValidationOptions``; reusable across every line of a file."""

    def __init__(self, options: ValidationOptions) -> None:
        self._options = options
        self._rules = MODEL_RULES[options.model]
        self._model_label = f"{MODEL_DISPLAY_NAMES[options.model]} (model '{options.model}')"
        self._dpo = options.method == "dpo"
        known = NOVA1_BLOCKS + NOVA2_BLOCKS if self._rules.accepts_nova2_blocks else NOVA1_BLOCKS
        self._known_blocks = frozenset(known)
        self._known_blocks_text = ", ".join(known)
        self._image_formats_text = ", ".join(sorted(self._rules.image_formats))
        self._video_formats_text = ", ".join(sorted(self._rules.video_formats))

    def check(self, record: Any, scan_reserved_words: bool = True) -> tuple[RecordFacts | None, list[Finding]]:
        """Findings for one record, and its facts when it is a JSON object (None otherwise).

        ``scan_reserved_words`` False skips the per-text reserved word search.
        """
        findings: list[Finding] = []
        if not isinstance(record, dict):
            kind = type(record).__name__ if record is not None else "null"
            findings.append((Code.NOT_AN_OBJECT, "$", f"each line must be one JSON object, found a JSON {kind}"))
            return None, findings
        tally = _Tally()
        schema_version = record.get("schemaVersion")
        if schema_version is not None and not isinstance(schema_version, str):
            findings.append(
                (
                    Code.SCHEMA_VERSION_TYPE,
                    "$.schemaVersion",
                    f"schemaVersion must be a string, got {show_value(schema_version)}",
                )
            )
        has_system = "system" in record
        if has_system:
            self._check_system(record["system"], tally, scan_reserved_words, findings)
        tool_names = self._check_tool_config(record, findings)
        messages = record.get("messages")
        if messages is None:
            findings.append((Code.MESSAGES_MISSING, "$.messages", 'each record needs "messages": a list of turns'))
            return RecordFacts(0, tally.characters, 0, 0, 0, 0, has_system), findings
        if not isinstance(messages, list) or not messages:
            findings.append(
                (Code.MESSAGES_INVALID, "$.messages", "messages must be a non-empty list of user and assistant turns")
            )
            return RecordFacts(0, tally.characters, 0, 0, 0, 0, has_system), findings
        longest_candidate = self._check_messages(messages, tally, tool_names, scan_reserved_words, findings)
        self._check_sample_media(tally, findings)
        prompt_characters = tally.characters - longest_candidate.total_characters + longest_candidate.longest
        tokens = (
            math.ceil(prompt_characters / self._options.chars_per_token)
            + TOKENS_PER_TURN * len(messages)
            + self._options.tokens_per_image * tally.images
            + self._options.tokens_per_video * tally.videos
        )
        facts = RecordFacts(
            len(messages), tally.characters, tally.images, tally.videos, tally.documents, tokens, has_system
        )
        return facts, findings

    # -- record parts -------------------------------------------------------------------------------------------

    def _check_system(self, system: Any, tally: _Tally, scan: bool, findings: list[Finding]) -> None:
        if not isinstance(system, list):
            findings.append(
                (Code.SYSTEM_INVALID, "$.system", 'system must be a list of text blocks: [{"text": "..."}]')
            )
            return
        for index, block in enumerate(system):
            if not isinstance(block, dict) or set(block) != {"text"}:
                findings.append(
                    (
                        Code.SYSTEM_INVALID,
                        f"$.system[{index}]",
                        'each system block must be {"text": "..."} and nothing else',
                    )
                )
                continue
            self._check_text(block["text"], f"$.system[{index}].text", tally, scan, findings)

    def _check_tool_config(self, record: dict[str, Any], findings: list[Finding]) -> frozenset[str]:
        if "toolConfig" not in record:
            return frozenset()
        if not self._rules.accepts_nova2_blocks:
            findings.append(self._nova2_only("toolConfig", "$.toolConfig"))
            return frozenset()
        tools = record["toolConfig"].get("tools") if isinstance(record["toolConfig"], dict) else None
        if not isinstance(tools, list):
            findings.append(
                (
                    Code.TOOL_CONFIG_INVALID,
                    "$.toolConfig.tools",
                    'toolConfig needs "tools": a list of {"toolSpec": ...}',
                )
            )
            return frozenset()
        names: set[str] = set()
        for index, tool in enumerate(tools):
            spec = tool.get("toolSpec") if isinstance(tool, dict) else None
            name = spec.get("name") if isinstance(spec, dict) else None
            schema = spec.get("inputSchema") if isinstance(spec, dict) else None
            if not isinstance(name, str) or not name or not isinstance(schema, dict) or "json" not in schema:
                findings.append(
                    (
                        Code.TOOL_CONFIG_INVALID,
                        f"$.toolConfig.tools[{index}].toolSpec",
                        'each tool needs "toolSpec": {"name": "...", "description": "...", '
                        '"inputSchema": {"json": {...}}}',
                    )
                )
                continue
            names.add(name)
        return frozenset(names)

    def _check_messages(
        self, messages: list[Any], tally: _Tally, tool_names: frozenset[str], scan: bool, findings: list[Finding]
    ) -> _CandidateSizes:
        last = len(messages) - 1
        candidate_sizes = _CandidateSizes()
        tool_ids: set[str] = set()
        roles_valid = True
        previous_role: Any = None
        for index, message in enumerate(messages):
            path = _MESSAGE_PATHS[index] if index < len(_MESSAGE_PATHS) else f"$.messages[{index}]"
            if not isinstance(message, dict):
                findings.append(
                    (Code.MESSAGE_INVALID, path, 'each turn must be an object {"role": ..., "content": [...]}')
                )
                roles_valid = False
                continue
            role = message.get("role")
            # After the first turn, compare with the previous turn, so one misplaced turn is reported once.
            if index == 0 or previous_role not in ROLES:
                expected = ROLES[index % 2]
            else:
                expected = "assistant" if previous_role == "user" else "user"
            previous_role = role
            if role not in ROLES:
                findings.append(
                    (
                        Code.ROLE_INVALID,
                        f"{path}.role",
                        f"role is {show_value(role)}; allowed: 'user', 'assistant' (lower case)",
                    )
                )
                roles_valid = False
            elif role != expected:
                code = Code.FIRST_TURN_NOT_USER if index == 0 else Code.TURNS_NOT_ALTERNATING
                findings.append(
                    (
                        code,
                        f"{path}.role",
                        f"turn {index + 1} is '{role}', expected '{expected}': turns alternate user, assistant",
                    )
                )
            if "candidates" in message:
                self._check_candidates(message, index, last, path, tally, candidate_sizes, scan, findings)
                continue
            if self._dpo and index == last:
                findings.append(
                    (
                        Code.CANDIDATES_MISSING,
                        f"{path}.candidates",
                        'for DPO the last turn needs "candidates": one "preferred" and one "non-preferred" answer',
                    )
                )
            self._check_content(message, role, path, tally, tool_names, tool_ids, scan, findings)
        if roles_valid and isinstance(messages[last], dict) and messages[last].get("role") != "assistant":
            findings.append(
                (Code.LAST_TURN_NOT_ASSISTANT, f"$.messages[{last}].role", "the last turn must be 'assistant'")
            )
        return candidate_sizes

    def _check_content(
        self,
        message: dict[str, Any],
        role: Any,
        path: str,
        tally: _Tally,
        tool_names: frozenset[str],
        tool_ids: set[str],
        scan: bool,
        findings: list[Finding],
    ) -> None:
        content = message.get("content")
        if not isinstance(content, list):
            findings.append(
                (
                    Code.CONTENT_MISSING,
                    f"{path}.content",
                    'each turn needs "content": a list of blocks such as {"text": "..."}',
                )
            )
            return
        if not content:
            findings.append((Code.CONTENT_EMPTY, f"{path}.content", "content must hold at least one block"))
            return
        for index, block in enumerate(content):
            # Fast path for the common case, a valid text block: no path string is built unless something is wrong.
            if type(block) is dict and len(block) == 1:
                text = block.get("text")
                if type(text) is str and text and not text.isspace():
                    tally.characters += len(text)
                    if scan:
                        self._check_reserved_word(text, f"{path}.content[{index}].text", findings)
                    continue
            block_path = f"{path}.content[{index}]"
            if not isinstance(block, dict) or len(block) != 1:
                findings.append(
                    (
                        Code.BLOCK_INVALID,
                        block_path,
                        f"each content block must be an object with exactly one of: {self._known_blocks_text}",
                    )
                )
                continue
            if "text" in block:
                self._check_text(block["text"], f"{block_path}.text", tally, scan, findings)
                continue
            (kind,) = block
            self._check_block(kind, block[kind], role, block_path, tally, tool_names, tool_ids, scan, findings)

    def _check_block(
        self,
        kind: str,
        value: Any,
        role: Any,
        path: str,
        tally: _Tally,
        tool_names: frozenset[str],
        tool_ids: set[str],
        scan: bool,
        findings: list[Finding],
    ) -> None:
        if kind not in self._known_blocks:
            if kind in NOVA2_BLOCKS:
                findings.append(self._nova2_only(kind, f"{path}.{kind}"))
            else:
                findings.append(
                    (
                        Code.BLOCK_UNKNOWN,
                        f"{path}.{kind}",
                        f"unknown block '{kind}'; allowed: {self._known_blocks_text}",
                    )
                )
            return
        block_path = f"{path}.{kind}"
        if kind in ("image", "video"):
            self._check_media(kind, value, role, block_path, tally, findings)
        elif kind == "document":
            self._check_document(value, block_path, tally, findings)
        elif kind == "reasoningContent":
            self._check_reasoning(value, role, block_path, tally, scan, findings)
        elif kind == "toolUse":
            self._check_tool_use(value, role, block_path, tally, tool_names, tool_ids, findings)
        else:
            self._check_tool_result(value, role, block_path, tally, tool_ids, findings)

    def _check_text(self, text: Any, path: str, tally: _Tally, scan: bool, findings: list[Finding]) -> None:
        if not isinstance(text, str):
            findings.append((Code.TEXT_INVALID, path, f"text must be a string, got {show_value(text)}"))
            return
        if not text or text.isspace():
            findings.append((Code.TEXT_EMPTY, path, "text must not be empty or only whitespace"))
            return
        tally.characters += len(text)
        if scan:
            self._check_reserved_word(text, path, findings)

    def _check_reserved_word(self, text: str, path: str, findings: list[Finding]) -> None:
        word = find_reserved_word(text)
        if word is not None:
            findings.append(
                (
                    Code.RESERVED_WORD,
                    path,
                    f"text contains the reserved word {word!r}; Nova rejects User:, Bot:, Assistant:, System:, "
                    "Thought:, <image>, <video>, [EOS] and <unk> in any letter case",
                )
            )

    # -- media --------------------------------------------------------------------------------------------------

    def _check_media(self, kind: str, value: Any, role: Any, path: str, tally: _Tally, findings: list[Finding]) -> None:
        if kind == "image":
            tally.images += 1
        else:
            tally.videos += 1
        if not self._rules.accepts_media:
            findings.append(
                (
                    Code.MEDIA_NOT_SUPPORTED,
                    path,
                    f"{self._model_label} is text-only; use lite, pro or lite-2 for {kind}s",
                )
            )
            return
        if role == "assistant":
            findings.append(
                (Code.MEDIA_IN_ASSISTANT_TURN, path, f"{kind}s are only allowed in user turns, not in assistant turns")
            )
        if kind == "video" and self._dpo:
            findings.append((Code.VIDEO_IN_DPO, path, "DPO datasets may not contain video; images and text only"))
        fmt = value.get("format") if isinstance(value, dict) else None
        allowed = self._rules.image_formats if kind == "image" else self._rules.video_formats
        if fmt not in allowed:
            code = Code.IMAGE_FORMAT if kind == "image" else Code.VIDEO_FORMAT
            allowed_text = self._image_formats_text if kind == "image" else self._video_formats_text
            findings.append(
                (
                    code,
                    f"{path}.format",
                    f"{kind} format {show_value(fmt)} is not allowed for {self._model_label}; allowed: {allowed_text}",
                )
            )
        findings.extend(check_media_source(value, path, self._options.dataset_bucket, self._options.media_prefix))

    def _check_document(self, value: Any, path: str, tally: _Tally, findings: list[Finding]) -> None:
        tally.documents += 1
        fmt = value.get("format") if isinstance(value, dict) else None
        if fmt not in DOCUMENT_FORMATS:
            findings.append(
                (
                    Code.DOCUMENT_INVALID,
                    f"{path}.format",
                    f"document format {show_value(fmt)} is not allowed; allowed: pdf",
                )
            )
        findings.extend(check_media_source(value, path, self._options.dataset_bucket, self._options.media_prefix))

    def _check_sample_media(self, tally: _Tally, findings: list[Finding]) -> None:
        if tally.images > MAX_IMAGES_PER_SAMPLE:
            findings.append(
                (
                    Code.TOO_MANY_IMAGES,
                    "$.messages",
                    f"{tally.images} images in one record; at most {MAX_IMAGES_PER_SAMPLE}",
                )
            )
        if tally.videos > MAX_VIDEOS_PER_SAMPLE:
            findings.append(
                (
                    Code.TOO_MANY_VIDEOS,
                    "$.messages",
                    f"{tally.videos} videos in one record; at most {MAX_VIDEOS_PER_SAMPLE}",
                )
            )
        if tally.images and tally.videos:
            findings.append((Code.IMAGE_VIDEO_MIXED, "$.messages", "a record may hold images or one video, not both"))
        if tally.documents > MAX_DOCUMENTS_PER_SAMPLE:
            findings.append(
                (
                    Code.TOO_MANY_DOCUMENTS,
                    "$.messages",
                    f"{tally.documents} documents in one record; at most {MAX_DOCUMENTS_PER_SAMPLE}",
                )
            )
        if tally.documents and (tally.images or tally.videos):
            findings.append((Code.DOCUMENT_WITH_MEDIA, "$.messages", "documents cannot be mixed with images or video"))
        if tally.reasoning and (tally.images or tally.videos):
            findings.append(
                (
                    Code.REASONING_WITH_MEDIA,
                    "$.messages",
                    "reasoningContent cannot be used in a record with images or video",
                )
            )

    # -- Nova 2.0 reasoning and tools ---------------------------------------------------------------------------

    def _check_reasoning(
        self, value: Any, role: Any, path: str, tally: _Tally, scan: bool, findings: list[Finding]
    ) -> None:
        tally.reasoning += 1
        if role != "assistant":
            findings.append((Code.REASONING_INVALID, path, "reasoningContent is only allowed in assistant turns"))
        reasoning_text = value.get("reasoningText") if isinstance(value, dict) else None
        if not isinstance(reasoning_text, dict) or "text" not in reasoning_text:
            findings.append(
                (Code.REASONING_INVALID, path, 'reasoningContent must be {"reasoningText": {"text": "..."}}')
            )
            return
        self._check_text(reasoning_text["text"], f"{path}.reasoningText.text", tally, scan, findings)

    def _check_tool_use(
        self,
        value: Any,
        role: Any,
        path: str,
        tally: _Tally,
        tool_names: frozenset[str],
        tool_ids: set[str],
        findings: list[Finding],
    ) -> None:
        if role != "assistant":
            findings.append((Code.TOOL_BLOCK_WRONG_ROLE, path, "toolUse is only allowed in assistant turns"))
        tool_id = value.get("toolUseId") if isinstance(value, dict) else None
        name = value.get("name") if isinstance(value, dict) else None
        if not isinstance(tool_id, str) or not tool_id or not isinstance(name, str) or "input" not in value:
            findings.append(
                (Code.TOOL_USE_INVALID, path, 'toolUse must be {"toolUseId": "...", "name": "...", "input": {...}}')
            )
            return
        tally.characters += len(name) + len(orjson.dumps(value["input"]))
        if name not in tool_names:
            allowed = ", ".join(sorted(tool_names)) or "none (the record has no toolConfig)"
            findings.append(
                (Code.TOOL_NAME_UNKNOWN, f"{path}.name", f"tool {name!r} is not in toolConfig; defined: {allowed}")
            )
        if tool_id in tool_ids:
            findings.append((Code.TOOL_ID_DUPLICATE, f"{path}.toolUseId", f"toolUseId {tool_id!r} is used twice"))
        tool_ids.add(tool_id)

    def _check_tool_result(
        self, value: Any, role: Any, path: str, tally: _Tally, tool_ids: set[str], findings: list[Finding]
    ) -> None:
        if role != "user":
            findings.append((Code.TOOL_BLOCK_WRONG_ROLE, path, "toolResult is only allowed in user turns"))
        tool_id = value.get("toolUseId") if isinstance(value, dict) else None
        content = value.get("content") if isinstance(value, dict) else None
        if not isinstance(tool_id, str) or not isinstance(content, list):
            findings.append(
                (
                    Code.TOOL_USE_INVALID,
                    path,
                    'toolResult must be {"toolUseId": "...", "content": [{"text"|"json": ...}]}',
                )
            )
            return
        if tool_id not in tool_ids:
            findings.append(
                (Code.TOOL_RESULT_UNMATCHED, f"{path}.toolUseId", f"toolUseId {tool_id!r} matches no earlier toolUse")
            )
        tally.characters += len(orjson.dumps(content))

    # -- DPO ----------------------------------------------------------------------------------------------------

    def _check_candidates(
        self,
        message: dict[str, Any],
        index: int,
        last: int,
        path: str,
        tally: _Tally,
        sizes: _CandidateSizes,
        scan: bool,
        findings: list[Finding],
    ) -> None:
        candidates_path = f"{path}.candidates"
        if not self._dpo:
            findings.append(
                (
                    Code.CANDIDATES_IN_SFT,
                    candidates_path,
                    'candidates are for DPO; SFT turns carry "content" (use --method dpo)',
                )
            )
            return
        if index != last:
            findings.append(
                (Code.CANDIDATES_NOT_LAST, candidates_path, "only the last (assistant) turn may carry candidates")
            )
        if "content" in message:
            findings.append(
                (Code.MESSAGE_INVALID, f"{path}.content", 'the candidates turn must not also have "content"')
            )
        candidates = message["candidates"]
        if not isinstance(candidates, list) or len(candidates) != 2:
            findings.append(
                (
                    Code.CANDIDATES_INVALID,
                    candidates_path,
                    'candidates must be a list of exactly two: one "preferred" and one "non-preferred"',
                )
            )
            if not isinstance(candidates, list):
                return
        labels: list[Any] = []
        for candidate_index, candidate in enumerate(candidates):
            candidate_path = f"{candidates_path}[{candidate_index}]"
            if not isinstance(candidate, dict):
                findings.append(
                    (
                        Code.CANDIDATES_INVALID,
                        candidate_path,
                        'each candidate is {"content": [...], "preferenceLabel": ...}',
                    )
                )
                continue
            labels.append(candidate.get("preferenceLabel"))
            before = tally.characters
            self._check_candidate_content(candidate.get("content"), candidate_path, tally, scan, findings)
            sizes.add(tally.characters - before)
        if len(labels) == len(candidates) and sorted(map(str, labels)) != sorted(PREFERENCE_LABELS):
            findings.append(
                (
                    Code.PREFERENCE_LABELS,
                    candidates_path,
                    f"preferenceLabel values are {show_value(labels)}; "
                    "need exactly one 'preferred' and one 'non-preferred'",
                )
            )

    def _check_candidate_content(
        self, content: Any, path: str, tally: _Tally, scan: bool, findings: list[Finding]
    ) -> None:
        content_path = f"{path}.content"
        if not isinstance(content, list) or not content:
            findings.append(
                (Code.CANDIDATES_INVALID, content_path, 'a candidate needs "content": a non-empty list of text blocks')
            )
            return
        for index, block in enumerate(content):
            block_path = f"{content_path}[{index}]"
            if not isinstance(block, dict) or set(block) != {"text"}:
                findings.append(
                    (Code.CANDIDATE_NOT_TEXT, block_path, 'candidate content is text only: {"text": "..."}')
                )
                continue
            self._check_text(block["text"], f"{block_path}.text", tally, scan, findings)

    def _nova2_only(self, kind: str, path: str) -> Finding:
        return (
            Code.NOVA2_ONLY,
            path,
            f"'{kind}' is only supported by Nova Lite 2.0 (model 'lite-2'), not by {self._model_label}",
        )


@dataclass(slots=True)
class _CandidateSizes:
    """Characters of each DPO candidate, to count the prompt plus only the longest one."""

    total_characters: int = 0
    longest: int = 0

    def add(self, characters: int) -> None:
        self.total_characters += characters
        self.longest = max(self.longest, characters)
