"""Dataset statistics in the spirit of OpenAI's fine-tuning data-prep cookbook, gathered in constant memory."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from novaft.validation.quantiles import EXACT_BELOW, StreamingQuantiles
from novaft.validation.record_rules import RecordFacts


@dataclass(frozen=True, slots=True)
class TokenDistribution:
    """Estimated tokens per record. p50 and p95 come from a fixed histogram: exact below 1,024 tokens, otherwise at
    most 1% above the true value (never below it); min, max, mean and total are exact."""

    minimum: int | None
    p50: int | None
    p95: int | None
    maximum: int | None
    mean: float | None
    total: int
    # (low, high, records) for equal token ranges from min to max: the run report draws it.
    histogram: tuple[tuple[int, int, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "min": self.minimum,
            "p50": self.p50,
            "p95": self.p95,
            "max": self.maximum,
            "mean": round(self.mean, 1) if self.mean is not None else None,
            "total": self.total,
            "histogram": [{"from": low, "to": high, "records": count} for low, high, count in self.histogram],
        }


@dataclass(frozen=True, slots=True)
class DatasetStats:
    """Typed statistics of one file, as the recipe estimator reads them."""

    records: int  # lines that hold a record (blank lines excluded), valid or not
    total_bytes: int
    turns: int
    characters: int
    images: int
    videos: int
    documents: int
    records_with_system: int
    records_with_images: int
    records_with_video: int
    estimated_tokens: TokenDistribution

    @property
    def has_images(self) -> bool:
        return self.images > 0

    @property
    def has_video(self) -> bool:
        return self.videos > 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "total_bytes": self.total_bytes,
            "turns": self.turns,
            "mean_turns": round(self.turns / self.records, 2) if self.records else None,
            "characters": self.characters,
            "images": self.images,
            "videos": self.videos,
            "documents": self.documents,
            "records_with_system": self.records_with_system,
            "records_with_images": self.records_with_images,
            "records_with_video": self.records_with_video,
            "has_images": self.has_images,
            "has_video": self.has_video,
            "estimated_tokens": self.estimated_tokens.to_dict(),
        }


@dataclass(slots=True)
class StatsAccumulator:
    records: int = 0
    total_bytes: int = 0
    turns: int = 0
    characters: int = 0
    images: int = 0
    videos: int = 0
    documents: int = 0
    records_with_system: int = 0
    records_with_images: int = 0
    records_with_video: int = 0
    tokens: StreamingQuantiles = field(default_factory=StreamingQuantiles)

    def add_facts(self, facts: RecordFacts) -> None:
        self.turns += facts.turns
        self.characters += facts.characters
        if facts.images:
            self.images += facts.images
            self.records_with_images += 1
        if facts.videos:
            self.videos += facts.videos
            self.records_with_video += 1
        self.documents += facts.documents
        if facts.has_system:
            self.records_with_system += 1
        self.tokens.add(facts.estimated_tokens)

    def add_text_record(self, turns: int, characters: int, estimated_tokens: int, has_system: bool) -> None:
        """``add_facts`` for a text-only record, without building a ``RecordFacts`` (the common, hot case)."""
        self.turns += turns
        self.characters += characters
        if has_system:
            self.records_with_system += 1
        tokens = self.tokens
        if estimated_tokens < EXACT_BELOW and tokens.count:
            # StreamingQuantiles.add inlined for the common case (small value, not the first): one call less per line.
            tokens.counts[estimated_tokens] += 1
            tokens.count += 1
            tokens.total += estimated_tokens
            if estimated_tokens < tokens.minimum:  # type: ignore[operator]
                tokens.minimum = estimated_tokens
            if estimated_tokens > tokens.maximum:  # type: ignore[operator]
                tokens.maximum = estimated_tokens
        else:
            tokens.add(estimated_tokens)

    def summary(self) -> DatasetStats:
        tokens = self.tokens
        distribution = TokenDistribution(
            tokens.minimum,
            tokens.percentile(0.5),
            tokens.percentile(0.95),
            tokens.maximum,
            tokens.mean,
            tokens.total,
            tuple(tokens.histogram()),
        )
        return DatasetStats(
            self.records,
            self.total_bytes,
            self.turns,
            self.characters,
            self.images,
            self.videos,
            self.documents,
            self.records_with_system,
            self.records_with_images,
            self.records_with_video,
            distribution,
        )
