"""Errors the operator commands raise; each message names what the user typed and what to do next.

AWS-level errors (``AwsUnavailable``, ``StackNotFound``) live with the adapters in ``novaft.aws.errors``.
"""

from __future__ import annotations

from novaft.errors import NovaftError, UsageError


class StackOutputsMissing(UsageError):
    """The stack exists but lacks outputs the CLI needs (not fully deployed, or a different version)."""


class RunNotFound(UsageError):
    """No run with that run id or run name in the runs table."""


class ReportNotFound(UsageError):
    """The run has no validation report (yet)."""


class SubmitConflict(UsageError):
    """The incoming folder of the run already holds files this submission would not replace."""


class WaitTimedOut(NovaftError):
    """A bounded wait (for a run to appear, or to end) ran out."""
