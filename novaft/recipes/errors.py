"""Errors of the recipes package, in the user's terms (field, value given, what is allowed)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from novaft.errors import NovaftError, UsageError


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a job spec: which field, what was given, what would be accepted."""

    field: str
    given: Any
    allowed: str
    reason: str = "not allowed"

    def describe(self) -> str:
        given = "(missing)" if self.given is _MISSING else repr(self.given)
        return f"{self.field}: {self.reason} (given: {given}; allowed: {self.allowed})"


class _Missing:
    def __repr__(self) -> str:
        return "(missing)"


_MISSING: Any = _Missing()
MISSING = _MISSING


class JobSpecError(UsageError):
    """A job spec (job.yaml, CLI flags or the deployed default) that cannot be run. Lists every problem found."""

    workflow_error = "JobSpecInvalid"

    def __init__(self, problems: Sequence[Problem], *, source: str = "job spec") -> None:
        self.problems = tuple(problems)
        self.source = source
        lines = "\n".join(f"  - {problem.describe()}" for problem in self.problems)
        count = len(self.problems)
        super().__init__(f"{source}: {count} problem{'s' if count != 1 else ''}:\n{lines}")


class CatalogError(NovaftError):
    """The recipe catalog or a template shipped with novaft is inconsistent (a packaging bug, not a user error)."""

    workflow_error = "RecipeCatalogInvalid"
