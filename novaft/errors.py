"""Named errors shared by the CLI, the Lambdas and the workflow.

An error a Lambda raises reaches Step Functions under its class name (the runtime reports it as ``errorType``), which
is what the workflow's Retry and Catch rules match; ``workflow_error`` holds that name.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

# A value the user gave is echoed back at most this long: messages stay readable (and small enough for a workflow
# error's cause) whatever was given.
MAX_ECHOED_CHARS = 200
# A spec can have thousands of problems (one per tag); the message lists the first ones, ``problems`` holds all.
MAX_LISTED_PROBLEMS = 20


class NovaftError(Exception):
    """Base for every error novaft raises on purpose. Its message is meant for the user, never a traceback."""

    workflow_error: ClassVar[str] = "NovaftError"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Only an error that is translated before it leaves a Lambda may name the one the workflow sees instead.
        if "workflow_error" not in cls.__dict__:
            cls.workflow_error = cls.__name__

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(NovaftError):
    """A command line or configuration choice that is not allowed (CLI exit code 2)."""


class InputFileError(NovaftError):
    """A file that cannot be read at all: missing, a directory, unreadable (CLI exit code 2)."""


def clipped(text: str, limit: int = MAX_ECHOED_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how long it was; every user value echoed in a message goes here."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text):,} characters)"


class _Missing:
    def __repr__(self) -> str:
        return "(missing)"


# The ``given`` of a problem with a required field that was not there.
MISSING: Any = _Missing()


@dataclass(frozen=True)
class Problem:
    """One thing wrong with what the user gave (a job spec, a stage policy, a deploy choice): which field, what was
    given, what would be accepted and why it is refused."""

    field: str
    given: Any
    allowed: str
    reason: str = "not allowed"

    def describe(self) -> str:
        given = "(missing)" if self.given is MISSING else clipped(repr(self.given))
        return f"{clipped(self.field)}: {self.reason} (given: {given}; allowed: {self.allowed})"


class ProblemsFound(UsageError):
    """Every problem found in one source the user gave, listed in the message (the first ones) and in ``problems``."""

    def __init__(self, problems: Iterable[Problem], *, source: str) -> None:
        self.problems = tuple(problems)
        self.source = source
        count = len(self.problems)
        lines = [f"  - {problem.describe()}" for problem in self.problems[:MAX_LISTED_PROBLEMS]]
        if count > MAX_LISTED_PROBLEMS:
            lines.append(f"  - ... and {count - MAX_LISTED_PROBLEMS} more")
        listed = "\n".join(lines)
        super().__init__(f"{source}: {count} problem{'s' if count != 1 else ''}:\n{listed}")
