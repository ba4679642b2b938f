"""Named errors shared by the CLI, the Lambdas and the workflow.

Each error's ``workflow_error`` is the Step Functions error name the workflow catches and ends with,
so a failed execution in the console says what went wrong in the user's terms.
"""

from __future__ import annotations


class NovaftError(Exception):
    """Base for every error novaft raises on purpose. Its message is meant for the user, never a traceback."""

    workflow_error = "NovaftError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(NovaftError):
    """A command line or configuration choice that is not allowed (CLI exit code 2)."""

    workflow_error = "InvalidConfiguration"


class InputFileError(NovaftError):
    """A file that cannot be read at all: missing, a directory, unreadable (CLI exit code 2)."""

    workflow_error = "InputUnreadable"
