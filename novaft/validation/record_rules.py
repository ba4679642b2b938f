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
_MEDIA_BLOCKS = ("image", "video")
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


class RecordChecker:
    """The rules of one ``ValidationOptions``, prepared once and reused for every line of a file."""

    __slots__ = (
        "chars_per_token",
        "dataset_bucket",
        "dpo",
        "image_formats_text",
        "known_blocks",
        "known_blocks_text",
        "media_prefix",
        "model_label",
        "model_rules",
        "tokens_per_image",
        "tokens_per_video",
        "video_formats_text",
    )

    def __init__(self, options: ValidationOptions) -> None:
        self.model_rules = MODEL_RULES[options.model]
        self.model_label = f"{MODEL_DISPLAY_NAMES[options.model]} (model '{options.model}')"
        self.dpo = options.method == "dpo"
        self.chars_per_token = options.chars_per_token
        self.tokens_per_image = options.tokens_per_image
        self.tokens_per_video = options.tokens_per_video
        self.dataset_bucket = options.dataset_bucket
        self.media_prefix = options.media_prefix
        known = NOVA1_BLOCKS + NOVA2_BLOCKS if self.model_rules.accepts_nova2_blocks else NOVA1_BLOCKS
        self.known_blocks = frozenset(known)
        self.known_blocks_text = ", ".join(known)
        self.image_formats_text = ", ".join(sorted(self.model_rules.image_formats))
        self.video_formats_text = ", ".join(sorted(self.model_rules.video_formats))

    def check(self, record: Any, scan_reserved_words: bool = True) -> tuple[RecordFacts | None, list[Finding]]:
        """Findings for one record, and its facts when it is a JSON object (None otherwise).

        ``scan_reserved_words`` False skips the per-text reserved word search.
        """
        if not isinstance(record, dict):
            kind = type(record).__name__ if record is not None else "null"
            return None, [(Code.NOT_AN_OBJECT, "$", f"each line must be one JSON object, found a JSON {kind}")]
        walk = _RecordWalk(self, scan_reserved_words)
        return walk.record(record), walk.findings


class _RecordWalk:
    """One record's walk: the run's rules, the findings so far and the record's counters, so that each check takes
    only what differs between its calls (the value, the path, the turn's role)."""

    __slots__ = (
        "candidate_longest",
        "candidate_total",
        "characters",
        "checker",
        "documents",
        "findings",
        "images",
        "scan",
        "tool_ids",
        "tool_names",
        "videos",
    )

    def __init__(self, checker: RecordChecker, scan: bool) -> None:
        self.checker = checker
        self.scan = scan
        self.findings: list[Finding] = []
        self.characters = 0
        self.images = 0
        self.videos = 0
        self.documents = 0
        # DPO: every candidate's characters and the longest one's, to count the prompt plus only the longest.
        self.candidate_total = 0
        self.candidate_longest = 0
        self.tool_names: frozenset[str] = frozenset()
        self.tool_ids: set[str] = set()

    def record(self, record: dict[str, Any]) -> RecordFacts:
        findings = self.findings
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
            self.system(record["system"])
        if "toolConfig" in record:
            self.tool_config(record["toolConfig"])
        messages = record.get("messages")
        if messages is None:
            findings.append((Code.MESSAGES_MISSING, "$.messages", 'each record needs "messages": a list of turns'))
            return RecordFacts(0, self.characters, 0, 0, 0, 0, has_system)
        if not isinstance(messages, list) or not messages:
            findings.append(
                (Code.MESSAGES_INVALID, "$.messages", "messages must be a non-empty list of user and assistant turns")
            )
            return RecordFacts(0, self.characters, 0, 0, 0, 0, has_system)
        self.messages(messages)
        self.sample_media()
        checker = self.checker
        prompt_characters = self.characters - self.candidate_total + self.candidate_longest
        tokens = (
            math.ceil(prompt_characters / checker.chars_per_token)
            + TOKENS_PER_TURN * len(messages)
            + checker.tokens_per_image * self.images
            + checker.tokens_per_video * self.videos
        )
        return RecordFacts(len(messages), self.characters, self.images, self.videos, self.documents, tokens, has_system)

    # -- record parts -------------------------------------------------------------------------------------------

    def system(self, system: Any) -> None:
        if not isinstance(system, list):
            self.findings.append(
                (Code.SYSTEM_INVALID, "$.system", 'system must be a list of text blocks: [{"text": "..."}]')
            )
            return
        for index, block in enumerate(system):
            if not isinstance(block, dict) or set(block) != {"text"}:
                self.findings.append(
                    (
                        Code.SYSTEM_INVALID,
                        f"$.system[{index}]",
                        'each system block must be {"text": "..."} and nothing else',
                    )
                )
                continue
            self.text(block["text"], f"$.system[{index}].text")

    def tool_config(self, tool_config: Any) -> None:
        if not self.checker.model_rules.accepts_nova2_blocks:
            self.findings.append(self.nova2_only("toolConfig", "$.toolConfig"))
            return
        tools = tool_config.get("tools") if isinstance(tool_config, dict) else None
        if not isinstance(tools, list):
            self.findings.append(
                (
                    Code.TOOL_CONFIG_INVALID,
                    "$.toolConfig.tools",
                    'toolConfig needs "tools": a list of {"toolSpec": ...}',
                )
            )
            return
        names: set[str] = set()
        for index, tool in enumerate(tools):
            spec = tool.get("toolSpec") if isinstance(tool, dict) else None
            name = spec.get("name") if isinstance(spec, dict) else None
            schema = spec.get("inputSchema") if isinstance(spec, dict) else None
            if not isinstance(name, str) or not name or not isinstance(schema, dict) or "json" not in schema:
                self.findings.append(
                    (
                        Code.TOOL_CONFIG_INVALID,
                        f"$.toolConfig.tools[{index}].toolSpec",
                        'each tool needs "toolSpec": {"name": "...", "description": "...", '
                        '"inputSchema": {"json": {...}}}',
                    )
                )
                continue
            names.add(name)
        self.tool_names = frozenset(names)

    def messages(self, messages: list[Any]) -> None:
        findings = self.findings
        dpo = self.checker.dpo
        last = len(messages) - 1
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
                self.candidates(message, index == last, path)
                continue
            if dpo and index == last:
                findings.append(
                    (
                        Code.CANDIDATES_MISSING,
                        f"{path}.candidates",
                        'for DPO the last turn needs "candidates": one "preferred" and one "non-preferred" answer',
                    )
                )
            self.content(message.get("content"), role, path)
        if roles_valid and isinstance(messages[last], dict) and messages[last].get("role") != "assistant":
            findings.append(
                (Code.LAST_TURN_NOT_ASSISTANT, f"$.messages[{last}].role", "the last turn must be 'assistant'")
            )

    def content(self, content: Any, role: Any, path: str) -> None:
        if not isinstance(content, list):
            self.findings.append(
                (
                    Code.CONTENT_MISSING,
                    f"{path}.content",
                    'each turn needs "content": a list of blocks such as {"text": "..."}',
                )
            )
            return
        if not content:
            self.findings.append((Code.CONTENT_EMPTY, f"{path}.content", "content must hold at least one block"))
            return
        scan = self.scan
        for index, block in enumerate(content):
            # Fast path for the common case, a valid text block: no path string is built unless something is wrong.
            if type(block) is dict and len(block) == 1:
                text = block.get("text")
                if type(text) is str and text and not text.isspace():
                    self.characters += len(text)
                    if scan:
                        self.reserved_word(text, f"{path}.content[{index}].text")
                    continue
            block_path = f"{path}.content[{index}]"
            if not isinstance(block, dict) or len(block) != 1:
                self.findings.append(
                    (
                        Code.BLOCK_INVALID,
                        block_path,
                        f"each content block must be an object with exactly one of: {self.checker.known_blocks_text}",
                    )
                )
                continue
            if "text" in block:
                self.text(block["text"], f"{block_path}.text")
                continue
            (kind,) = block
            self.block(kind, block[kind], role, block_path)

    def block(self, kind: str, value: Any, role: Any, path: str) -> None:
        if kind not in self.checker.known_blocks:
            if kind in NOVA2_BLOCKS:
                self.findings.append(self.nova2_only(kind, f"{path}.{kind}"))
            else:
                self.findings.append(
                    (
                        Code.BLOCK_UNKNOWN,
                        f"{path}.{kind}",
                        f"unknown block '{kind}'; allowed: {self.checker.known_blocks_text}",
                    )
                )
            return
        block_path = f"{path}.{kind}"
        if kind in _MEDIA_BLOCKS:
            self.media(kind, value, role, block_path)
        elif kind == "document":
            self.document(value, block_path)
        elif kind == "reasoningContent":
            self.reasoning(value, role, block_path)
        elif kind == "toolUse":
            self.tool_use(value, role, block_path)
        else:
            self.tool_result(value, role, block_path)

    def text(self, text: Any, path: str) -> None:
        if not isinstance(text, str):
            self.findings.append((Code.TEXT_INVALID, path, f"text must be a string, got {show_value(text)}"))
            return
        if not text or text.isspace():
            self.findings.append((Code.TEXT_EMPTY, path, "text must not be empty or only whitespace"))
            return
        self.characters += len(text)
        if self.scan:
            self.reserved_word(text, path)

    def reserved_word(self, text: str, path: str) -> None:
        word = find_reserved_word(text)
        if word is not None:
            self.findings.append(
                (
                    Code.RESERVED_WORD,
                    path,
                    f"text contains the reserved word {word!r}; Nova rejects User:, Bot:, Assistant:, System:, "
                    "Thought:, <image>, <video>, [EOS] and <unk> in any letter case",
                )
            )

    # -- media --------------------------------------------------------------------------------------------------

    def media(self, kind: str, value: Any, role: Any, path: str) -> None:
        checker = self.checker
        findings = self.findings
        if kind == "image":
            self.images += 1
        else:
            self.videos += 1
        if not checker.model_rules.accepts_media:
            findings.append(
                (
                    Code.MEDIA_NOT_SUPPORTED,
                    path,
                    f"{checker.model_label} is text-only; use lite, pro or lite-2 for {kind}s",
                )
            )
            return
        if role == "assistant":
            findings.append(
                (Code.MEDIA_IN_ASSISTANT_TURN, path, f"{kind}s are only allowed in user turns, not in assistant turns")
            )
        if kind == "video" and checker.dpo:
            findings.append((Code.VIDEO_IN_DPO, path, "DPO datasets may not contain video; images and text only"))
        fmt = value.get("format") if isinstance(value, dict) else None
        allowed = checker.model_rules.image_formats if kind == "image" else checker.model_rules.video_formats
        if fmt not in allowed:
            code = Code.IMAGE_FORMAT if kind == "image" else Code.VIDEO_FORMAT
            allowed_text = checker.image_formats_text if kind == "image" else checker.video_formats_text
            findings.append(
                (
                    code,
                    f"{path}.format",
                    f"{kind} format {show_value(fmt)} is not allowed for {checker.model_label}; "
                    f"allowed: {allowed_text}",
                )
            )
        findings.extend(check_media_source(value, path, checker.dataset_bucket, checker.media_prefix))

    def document(self, value: Any, path: str) -> None:
        self.documents += 1
        fmt = value.get("format") if isinstance(value, dict) else None
        if fmt not in DOCUMENT_FORMATS:
            self.findings.append(
                (
                    Code.DOCUMENT_INVALID,
                    f"{path}.format",
                    f"document format {show_value(fmt)} is not allowed; allowed: pdf",
                )
            )
        self.findings.extend(check_media_source(value, path, self.checker.dataset_bucket, self.checker.media_prefix))

    def sample_media(self) -> None:
        findings = self.findings
        images, videos, documents = self.images, self.videos, self.documents
        if images > MAX_IMAGES_PER_SAMPLE:
            findings.append(
                (Code.TOO_MANY_IMAGES, "$.messages", f"{images} images in one record; at most {MAX_IMAGES_PER_SAMPLE}")
            )
        if videos > MAX_VIDEOS_PER_SAMPLE:
            findings.append(
                (Code.TOO_MANY_VIDEOS, "$.messages", f"{videos} videos in one record; at most {MAX_VIDEOS_PER_SAMPLE}")
            )
        if images and videos:
            findings.append((Code.IMAGE_VIDEO_MIXED, "$.messages", "a record may hold images or one video, not both"))
        if documents > MAX_DOCUMENTS_PER_SAMPLE:
            findings.append(
                (
                    Code.TOO_MANY_DOCUMENTS,
                    "$.messages",
                    f"{documents} documents in one record; at most {MAX_DOCUMENTS_PER_SAMPLE}",
                )
            )
        if documents and (images or videos):
            findings.append((Code.DOCUMENT_WITH_MEDIA, "$.messages", "documents cannot be mixed with images or video"))

    # -- Nova 2.0 reasoning and tools ---------------------------------------------------------------------------

    def reasoning(self, value: Any, role: Any, path: str) -> None:
        findings = self.findings
        if role != "assistant":
            findings.append((Code.REASONING_INVALID, path, "reasoningContent is only allowed in assistant turns"))
        reasoning_text = value.get("reasoningText") if isinstance(value, dict) else None
        # Reasoning is text only: Nova 2.0 SFT does not take image-based reasoning content, although the Converse
        # format has it. An image or video in the user turn of a record with reasoning is fine (the guide's own
        # examples pair them). Source: "Current limitations" and the examples on
        # https://docs.aws.amazon.com/nova/latest/nova2-userguide/nova-fine-tune-2.html
        for holder, holder_path in ((value, path), (reasoning_text, f"{path}.reasoningText")):
            media = [kind for kind in _MEDIA_BLOCKS if kind in holder] if isinstance(holder, dict) else []
            if media:
                findings.append(
                    (
                        Code.REASONING_WITH_MEDIA,
                        f"{holder_path}.{media[0]}",
                        'reasoning content is text only, {"reasoningText": {"text": "..."}}: Nova 2.0 SFT does '
                        f"not train on {media[0]}s inside reasoning; put them in the user turn",
                    )
                )
                return
        if not isinstance(reasoning_text, dict) or "text" not in reasoning_text:
            findings.append(
                (Code.REASONING_INVALID, path, 'reasoningContent must be {"reasoningText": {"text": "..."}}')
            )
            return
        self.text(reasoning_text["text"], f"{path}.reasoningText.text")

    def _tool_block(self, value: Any, role: Any, path: str, block: str, turn_role: str, key: str) -> tuple[Any, Any]:
        """The toolUseId and ``key`` of a toolUse or toolResult block (None when absent), after checking its turn."""
        if role != turn_role:
            self.findings.append((Code.TOOL_BLOCK_WRONG_ROLE, path, f"{block} is only allowed in {turn_role} turns"))
        if not isinstance(value, dict):
            return None, None
        return value.get("toolUseId"), value.get(key)

    def tool_use(self, value: Any, role: Any, path: str) -> None:
        findings = self.findings
        tool_id, name = self._tool_block(value, role, path, "toolUse", "assistant", "name")
        if not isinstance(tool_id, str) or not tool_id or not isinstance(name, str) or "input" not in value:
            findings.append(
                (Code.TOOL_USE_INVALID, path, 'toolUse must be {"toolUseId": "...", "name": "...", "input": {...}}')
            )
            return
        self.characters += len(name) + len(orjson.dumps(value["input"]))
        if name not in self.tool_names:
            allowed = ", ".join(sorted(self.tool_names)) or "none (the record has no toolConfig)"
            findings.append(
                (Code.TOOL_NAME_UNKNOWN, f"{path}.name", f"tool {name!r} is not in toolConfig; defined: {allowed}")
            )
        if tool_id in self.tool_ids:
            findings.append((Code.TOOL_ID_DUPLICATE, f"{path}.toolUseId", f"toolUseId {tool_id!r} is used twice"))
        self.tool_ids.add(tool_id)

    def tool_result(self, value: Any, role: Any, path: str) -> None:
        findings = self.findings
        tool_id, content = self._tool_block(value, role, path, "toolResult", "user", "content")
        if not isinstance(tool_id, str) or not isinstance(content, list):
            findings.append(
                (
                    Code.TOOL_USE_INVALID,
                    path,
                    'toolResult must be {"toolUseId": "...", "content": [{"text"|"json": ...}]}',
                )
            )
            return
        if tool_id not in self.tool_ids:
            findings.append(
                (Code.TOOL_RESULT_UNMATCHED, f"{path}.toolUseId", f"toolUseId {tool_id!r} matches no earlier toolUse")
            )
        self.characters += len(orjson.dumps(content))

    # -- DPO ----------------------------------------------------------------------------------------------------

    def candidates(self, message: dict[str, Any], is_last: bool, path: str) -> None:
        findings = self.findings
        candidates_path = f"{path}.candidates"
        if not self.checker.dpo:
            findings.append(
                (
                    Code.CANDIDATES_IN_SFT,
                    candidates_path,
                    'candidates are for DPO; SFT turns carry "content" (use --method dpo)',
                )
            )
            return
        if not is_last:
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
            before = self.characters
            self.candidate_content(candidate.get("content"), candidate_path)
            size = self.characters - before
            self.candidate_total += size
            self.candidate_longest = max(self.candidate_longest, size)
        if len(labels) == len(candidates) and sorted(map(str, labels)) != sorted(PREFERENCE_LABELS):
            findings.append(
                (
                    Code.PREFERENCE_LABELS,
                    candidates_path,
                    f"preferenceLabel values are {show_value(labels)}; "
                    "need exactly one 'preferred' and one 'non-preferred'",
                )
            )

    def candidate_content(self, content: Any, path: str) -> None:
        content_path = f"{path}.content"
        if not isinstance(content, list) or not content:
            self.findings.append(
                (Code.CANDIDATES_INVALID, content_path, 'a candidate needs "content": a non-empty list of text blocks')
            )
            return
        for index, block in enumerate(content):
            block_path = f"{content_path}[{index}]"
            if not isinstance(block, dict) or set(block) != {"text"}:
                self.findings.append(
                    (Code.CANDIDATE_NOT_TEXT, block_path, 'candidate content is text only: {"text": "..."}')
                )
                continue
            self.text(block["text"], f"{block_path}.text")

    def nova2_only(self, kind: str, path: str) -> Finding:
        return (
            Code.NOVA2_ONLY,
            path,
            f"'{kind}' is only supported by Nova Lite 2.0 (model 'lite-2'), not by {self.checker.model_label}",
        )
