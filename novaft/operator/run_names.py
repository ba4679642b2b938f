"""Run names for ``novaft submit`` (pure): the same rule the pipeline applies when it registers a run."""

from __future__ import annotations

from pathlib import PurePath

from novaft.errors import UsageError
from novaft.pipeline.run_identity import sanitize_run_name


def run_name_for(data_file: str, requested: str | None) -> str:
    """``--run`` if given (it must already be a clean name), else the data file's stem, sanitized.

    The name becomes the folder ``incoming/<run>/``; the pipeline records that folder name as the run name, so the
    CLI only uploads names the pipeline's own sanitizing leaves unchanged, and ``novaft status NAME`` finds the run.
    """
    if requested is None:
        return sanitize_run_name(PurePath(data_file).stem)
    cleaned = sanitize_run_name(requested)
    if cleaned != requested:
        raise UsageError(
            f"--run {requested!r} is not a valid run name: use lower-case letters, digits and single hyphens, "
            f"40 characters at most (for example {cleaned!r})"
        )
    return requested
