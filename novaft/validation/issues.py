"""Findings of a validation run: one ``Issue`` per problem, kept in a capped log that still counts every code.

Line numbers are 1-based; line 0 means the file as a whole (record counts, dataset-wide rules). Paths are JSON paths
into the record (``$.messages[1].content[0].text``); ``$`` is the whole record or file.
Codes are stable: tools and tests match on them, messages may be reworded.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

FileRole = str  # "train" or "validation"


@dataclass(frozen=True, slots=True)
class Issue:
    line: int
    code: str
    path: str
    message: str
    file: FileRole = "train"

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "code": self.code, "path": self.path, "message": self.message, "file": self.file}


@dataclass(slots=True)
class IssueLog:
    """Keeps the first ``cap`` issues and a count of every code, so memory stays flat on a broken 13 GB file."""

    cap: int
    kept: list[Issue] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    # Kept alongside ``counts`` because the validator reads it twice per line; summing the counter each time shows.
    added: int = 0

    def add(self, issue: Issue) -> None:
        self.counts[issue.code] += 1
        self.added += 1
        if len(self.kept) < self.cap:
            self.kept.append(issue)

    @property
    def total(self) -> int:
        return self.added


class Code:
    """Stable issue codes. Grouped as in the rules; each is documented where it is raised."""

    # Lines and JSON
    BLANK_LINE = "blank_line"
    LINE_TOO_LONG = "line_too_long"
    UTF8_BOM = "utf8_bom"
    INVALID_UTF8 = "invalid_utf8"
    INVALID_JSON = "invalid_json"
    JSON_TOO_DEEP = "json_too_deep"
    NOT_AN_OBJECT = "not_an_object"
    # Record structure
    SCHEMA_VERSION_TYPE = "schema_version_type"
    SYSTEM_INVALID = "system_invalid"
    MESSAGES_MISSING = "messages_missing"
    MESSAGES_INVALID = "messages_invalid"
    MESSAGE_INVALID = "message_invalid"
    ROLE_INVALID = "role_invalid"
    FIRST_TURN_NOT_USER = "first_turn_not_user"
    TURNS_NOT_ALTERNATING = "turns_not_alternating"
    LAST_TURN_NOT_ASSISTANT = "last_turn_not_assistant"
    CONTENT_MISSING = "content_missing"
    CONTENT_EMPTY = "content_empty"
    BLOCK_INVALID = "block_invalid"
    BLOCK_UNKNOWN = "block_unknown"
    TEXT_INVALID = "text_invalid"
    TEXT_EMPTY = "text_empty"
    RESERVED_WORD = "reserved_word"
    # Media
    MEDIA_NOT_SUPPORTED = "media_not_supported"
    MEDIA_IN_ASSISTANT_TURN = "media_in_assistant_turn"
    IMAGE_FORMAT = "image_format"
    VIDEO_FORMAT = "video_format"
    MEDIA_SOURCE_INVALID = "media_source_invalid"
    MEDIA_URI_NOT_S3 = "media_uri_not_s3"
    MEDIA_URI_CHARACTERS = "media_uri_characters"
    MEDIA_BUCKET_MISMATCH = "media_bucket_mismatch"
    MEDIA_OUTSIDE_PREFIX = "media_outside_prefix"
    TOO_MANY_IMAGES = "too_many_images"
    TOO_MANY_VIDEOS = "too_many_videos"
    IMAGE_VIDEO_MIXED = "image_video_mixed"
    DATASET_MODALITIES_MIXED = "dataset_modalities_mixed"
    # Nova 2.0 extras
    NOVA2_ONLY = "nova2_only"
    REASONING_INVALID = "reasoning_invalid"
    REASONING_WITH_MEDIA = "reasoning_with_media"
    DOCUMENT_INVALID = "document_invalid"
    DOCUMENT_WITH_MEDIA = "document_with_media"
    TOO_MANY_DOCUMENTS = "too_many_documents"
    TOOL_CONFIG_INVALID = "tool_config_invalid"
    TOOL_BLOCK_WRONG_ROLE = "tool_block_wrong_role"
    TOOL_USE_INVALID = "tool_use_invalid"
    TOOL_NAME_UNKNOWN = "tool_name_unknown"
    TOOL_ID_DUPLICATE = "tool_id_duplicate"
    TOOL_RESULT_UNMATCHED = "tool_result_unmatched"
    # DPO
    CANDIDATES_MISSING = "candidates_missing"
    CANDIDATES_NOT_LAST = "candidates_not_last"
    CANDIDATES_IN_SFT = "candidates_in_sft"
    CANDIDATES_INVALID = "candidates_invalid"
    PREFERENCE_LABELS = "preference_labels"
    CANDIDATE_NOT_TEXT = "candidate_not_text"
    VIDEO_IN_DPO = "video_in_dpo"
    # Length and dataset
    RECORD_TOO_LONG = "record_too_long"
    EMPTY_FILE = "empty_file"
    TOO_FEW_RECORDS = "too_few_records"
    TOO_MANY_RECORDS = "too_many_records"
    DATASET_SIZE = "dataset_size"
    VALIDATION_SET_IGNORED = "validation_set_ignored"
    VALIDATION_SET_NOT_SUPPORTED = "validation_set_not_supported"
    FEW_RECORDS_RECOMMENDED = "below_recommended_records"


def show_value(value: object, limit: int = 80) -> str:
    """A value as the user wrote it, shortened for a one-line message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
