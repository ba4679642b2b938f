"""Named errors shared by the CLI, the Lambdas and the workflow.

An error a Lambda raises reaches Step Functions under its class name (the runtime reports it as ``errorType``), which
is what the workflow's Retry and Catch rules match; ``workflow_error`` holds that name.
"""

from __future__ import annotations

from typing import Any, ClassVar


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
