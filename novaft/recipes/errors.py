"""Errors of the recipes package, in the user's terms (field, value given, what is allowed)."""

from __future__ import annotations

from collections.abc import Sequence

from novaft.errors import NovaftError, Problem, ProblemsFound


class JobSpecError(ProblemsFound):
    """A job spec (job.yaml, CLI flags or the deployed default) that cannot be run. Lists every problem found."""

    workflow_error = "JobSpecInvalid"

    def __init__(self, problems: Sequence[Problem], *, source: str = "job spec") -> None:
        super().__init__(problems, source=source)


class CatalogError(NovaftError):
    """The recipe catalog or a template shipped with novaft is inconsistent (a packaging bug, not a user error)."""
