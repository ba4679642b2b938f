"""What a validation run checks against: the model, the method and the few limits a user may tune."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from novaft.errors import UsageError
from novaft.pipeline.facts import METHODS, MODEL_NAMES, Method, ModelName
from novaft.validation.limits import (
    MAX_LENGTH_CEILING,
    MODEL_DISPLAY_NAMES,
    MODEL_RULES,
    PLATFORMS,
    RECORD_BOUNDS,
    Platform,
    RecordBounds,
)

OverlengthPolicy = Literal["fail", "warn"]
OVERLENGTH_POLICIES: tuple[OverlengthPolicy, ...] = ("fail", "warn")

# Far above any real record (a 65k-token record is well under 1 MiB of text), low enough to bound memory.
DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024
# English text averages about 4 characters per token for modern tokenizers; 3.5 over-estimates slightly, which is the
# safe side for a length limit. Users with other languages or code should tune it.
DEFAULT_CHARS_PER_TOKEN = 3.5
DEFAULT_MAX_ERRORS = 100


@dataclass(frozen=True, slots=True)
class ValidationOptions:
    """Options of one validation run. Construct it with keywords; ``__post_init__`` rejects impossible choices.

    ``max_length``: per-record token limit (the recipe's ``training_config.max_length``); None means the method's
    ceiling from the SageMaker training jobs page. ``min_records``/``max_records`` override the platform bounds
    (``max_records=0`` removes the upper bound). ``dataset_bucket``: when known, media must live in that bucket;
    ``media_prefix``: and under that key prefix (the pipeline's drop zone, the only place its training role reads).
    ``tokens_per_image``/``tokens_per_video`` are added per media item
    (0 by default: no sourced figure).
    """

    model: ModelName
    method: Method
    max_length: int | None = None
    overlength: OverlengthPolicy = "fail"
    chars_per_token: float = DEFAULT_CHARS_PER_TOKEN
    tokens_per_image: int = 0
    tokens_per_video: int = 0
    max_errors: int = DEFAULT_MAX_ERRORS
    dataset_bucket: str | None = None
    media_prefix: str | None = None
    platform: Platform = "sagemaker"
    min_records: int | None = None
    max_records: int | None = None
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES

    def __post_init__(self) -> None:
        _require_choice("model", self.model, MODEL_NAMES)
        _require_choice("method", self.method, METHODS)
        _require_choice("platform", self.platform, PLATFORMS)
        _require_choice("overlength", self.overlength, OVERLENGTH_POLICIES)
        if self.method == "dpo" and not MODEL_RULES[self.model].accepts_dpo:
            raise UsageError(
                f"method 'dpo' is not available for {MODEL_DISPLAY_NAMES[self.model]} (model '{self.model}'); "
                "use --method sft, or one of the models micro, lite, pro"
            )
        ceiling = MAX_LENGTH_CEILING[self.method]
        if self.max_length is not None and not 1 <= self.max_length <= ceiling:
            raise UsageError(f"max length {self.max_length} is outside 1..{ceiling} for method '{self.method}'")
        if not (math.isfinite(self.chars_per_token) and self.chars_per_token > 0):
            raise UsageError(f"chars per token must be a finite number above 0, got {self.chars_per_token}")
        for name in ("tokens_per_image", "tokens_per_video", "max_errors"):
            if getattr(self, name) < 0:
                raise UsageError(f"{name.replace('_', ' ')} must be 0 or more, got {getattr(self, name)}")
        for name in ("min_records", "max_records"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise UsageError(f"{name.replace('_', ' ')} must be 0 or more, got {value}")
        if self.max_line_bytes < 1024:
            raise UsageError(f"max line bytes must be at least 1024, got {self.max_line_bytes}")

    @property
    def effective_max_length(self) -> int:
        return self.max_length if self.max_length is not None else MAX_LENGTH_CEILING[self.method]

    @property
    def record_bounds(self) -> RecordBounds:
        published = RECORD_BOUNDS[(self.platform, self.model)]
        minimum = published.minimum if self.min_records is None else self.min_records
        maximum = published.maximum if self.max_records is None else (self.max_records or None)
        overridden = self.min_records is not None or self.max_records is not None
        return RecordBounds(minimum, maximum, "your options" if overridden else published.source)


def _require_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise UsageError(f"{name} '{value}' is not one of {', '.join(allowed)}")
