"""The ``novaft runs`` table (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from novaft.operator.durations import format_duration, format_time
from novaft.operator.run_view import RunView

_HEADERS = ("RUN", "RUN ID", "STATUS", "CREATED", "AGE", "TRAINING JOB")


def _row(run: RunView, now: datetime) -> tuple[str, ...]:
    age = (now - run.created_at).total_seconds() if run.created_at else None
    return (
        run.run_name,
        run.run_id,
        run.status,
        format_time(run.created_at),
        format_duration(max(0.0, age) if age is not None else None),
        run.training_job_name or "-",
    )


def format_runs_table(runs: Sequence[RunView], *, now: datetime) -> str:
    """Left-aligned columns, newest first as given; a friendly line when there are none."""
    if not runs:
        return "no runs yet: start one with `novaft submit DATA.jsonl`"
    rows = [_HEADERS, *(_row(run, now) for run in runs)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(_HEADERS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    )
