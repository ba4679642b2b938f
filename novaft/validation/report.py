"""The result of a validation run and its JSON form (the contract of ``novaft validate --format json``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from novaft.validation.issues import Issue
from novaft.validation.options import ValidationOptions
from novaft.validation.stats import DatasetStats


@dataclass(frozen=True, slots=True)
class OverlengthSummary:
    """Records whose estimated tokens exceed ``max_length``: the count is exact, ``lines`` keeps the first few."""

    max_length: int
    policy: str
    count: int
    lines: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"max_length": self.max_length, "policy": self.policy, "count": self.count, "lines": list(self.lines)}


@dataclass(frozen=True, slots=True)
class ValidationReport:
    options: ValidationOptions
    errors: tuple[Issue, ...]  # the first ``options.max_errors``
    error_counts: dict[str, int]  # every error, by code
    warnings: tuple[Issue, ...]
    warning_counts: dict[str, int]
    stats: DatasetStats  # the training file
    validation_stats: DatasetStats | None  # the validation file, when it was read
    invalid_records: int  # training records with at least one error
    overlength: OverlengthSummary

    @property
    def valid(self) -> bool:
        return not self.error_counts

    @property
    def records(self) -> int:
        return self.stats.records

    @property
    def error_total(self) -> int:
        return sum(self.error_counts.values())

    def to_dict(self) -> dict[str, Any]:
        stats = self.stats.to_dict()
        stats["invalid_records"] = self.invalid_records
        stats["validation"] = self.validation_stats.to_dict() if self.validation_stats is not None else None
        return {
            "valid": self.valid,
            "records": self.records,
            "errors": [issue.to_dict() for issue in self.errors],
            "error_counts": dict(self.error_counts),
            "warnings": [issue.to_dict() for issue in self.warnings],
            "warning_counts": dict(self.warning_counts),
            "stats": stats,
            "overlength": self.overlength.to_dict(),
            "model": self.options.model,
            "method": self.options.method,
            "platform": self.options.platform,
        }
