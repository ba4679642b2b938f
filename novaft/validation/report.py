"""The result of a validation run and its JSON form (the contract of ``novaft validate --format json``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from novaft.validation.issues import Issue
from novaft.validation.options import ValidationOptions
from novaft.validation.stats import DatasetStats


class _CountsRecords(Protocol):
    @property
    def records(self) -> int: ...


class IssueSummary:
    """What every validation report (training or evaluation data) derives from its issues and stats."""

    __slots__ = ()
    errors: tuple[Issue, ...]
    error_counts: dict[str, int]
    warnings: tuple[Issue, ...]
    warning_counts: dict[str, int]
    stats: _CountsRecords

    @property
    def valid(self) -> bool:
        return not self.error_counts

    @property
    def records(self) -> int:
        return self.stats.records

    @property
    def error_total(self) -> int:
        return sum(self.error_counts.values())

    def issues_dict(self) -> dict[str, Any]:
        """The verdict and issue keys that open the JSON form of every report."""
        return {
            "valid": self.valid,
            "records": self.records,
            "errors": [issue.to_dict() for issue in self.errors],
            "error_counts": dict(self.error_counts),
            "warnings": [issue.to_dict() for issue in self.warnings],
            "warning_counts": dict(self.warning_counts),
        }


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
class ValidationReport(IssueSummary):
    options: ValidationOptions
    errors: tuple[Issue, ...]  # the first ``options.max_errors``
    error_counts: dict[str, int]  # every error, by code
    warnings: tuple[Issue, ...]
    warning_counts: dict[str, int]
    stats: DatasetStats  # the training file
    validation_stats: DatasetStats | None  # the validation file, when it was read
    invalid_records: int  # training records with at least one error
    overlength: OverlengthSummary

    def to_dict(self) -> dict[str, Any]:
        stats = self.stats.to_dict()
        stats["invalid_records"] = self.invalid_records
        stats["validation"] = self.validation_stats.to_dict() if self.validation_stats is not None else None
        return {
            **self.issues_dict(),
            "stats": stats,
            "overlength": self.overlength.to_dict(),
            "model": self.options.model,
            "method": self.options.method,
            "platform": self.options.platform,
        }
