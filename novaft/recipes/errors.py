"""Errors of the recipes package, in the user's terms (field, value given, what is allowed)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from novaft.errors import NovaftError, UsageError

# A value the user gave is echoed back at most this long: messages stay readable (and small enough for a workflow
# error's cause) whatever was given.
MAX_ECHOED_CHARS = 200
# A spec can have thousands of problems (one per tag); the message lists the first ones, ``problems`` holds all.
MAX_LISTED_PROBLEMS = 20


def clipped(text: str, limit: int = MAX_ECHOED_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how long it was; every user value echoed in a message goes here."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text):,} characters)"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a job spec: which field, what was given, what would be accepted."""

    field: str
    given: Any
    allowed: str
    reason: str = "not allowed"

    def describe(self) -> str:
        given = "(missing)" if self.given is _MISSING else clipped(repr(self.given))
        return f"{clipped(self.field)}: {self.reason} (given: {given}; allowed: {self.allowed})"


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
        count = len(self.problems)
        lines = [f"  - {problem.describe()}" for problem in self.problems[:MAX_LISTED_PROBLEMS]]
        if count > MAX_LISTED_PROBLEMS:
            lines.append(f"  - ... and {count - MAX_LISTED_PROBLEMS} more")
        listed = "\n".join(lines)
        super().__init__(f"{source}: {count} problem{'s' if count != 1 else ''}:\n{listed}")


class CatalogError(NovaftError):
    """The recipe catalog or a template shipped with novaft is inconsistent (a packaging bug, not a user error)."""
