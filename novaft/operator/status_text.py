"""How ``novaft status`` and the ``--wait`` followers print a run (pure)."""

from __future__ import annotations

from datetime import datetime

from novaft.operator.durations import format_duration, format_time
from novaft.operator.run_status import RunStatus
from novaft.pipeline.records import console_links

_LABEL_WIDTH = 12
_MAX_CAUSE_CHARS = 400


def _workflow_text(status: RunStatus) -> str:
    if status.execution is None:
        return "no execution recorded"
    if status.current_state:
        preposition = "in" if status.execution.running else "ended in"
        return f"{status.execution.status}, {preposition} state {status.current_state}"
    return status.execution.status


def _training_text(status: RunStatus) -> str:
    if status.training is None:
        # RegisterRun records the job's (derived) name up front, so a name with no job means it was never created:
        # the run ended or is still before StartTraining (SageMaker never deletes training jobs).
        name = status.run.training_job_name
        return f"not started (job {name} not created)" if name else "not started"
    text = status.training.status
    if status.training.secondary_status:
        text += f" / {status.training.secondary_status}"
    return f"{text}  (job {status.training.job_name})"


def _shorten(text: str, limit: int = _MAX_CAUSE_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


_LINK_LABELS = {"execution": "console", "training_job": "job console", "training_logs": "job logs"}


def format_status(status: RunStatus, *, now: datetime, console_region: str | None) -> str:
    """The multi-line status block: run, workflow state, training status, elapsed time, failure, console links.

    ``console_region`` None leaves the links out (a local endpoint has no console).
    """
    run = status.run
    rows: list[tuple[str, str]] = [
        ("run", f"{run.run_name} ({run.run_id})"),
        ("status", run.status),
        ("workflow", _workflow_text(status)),
        ("training", _training_text(status)),
        ("elapsed", f"{format_duration(status.elapsed_seconds(now))} (started {format_time(status.started_at())})"),
    ]
    if status.training and status.training.billable_seconds is not None:
        rows.append(("billable", format_duration(status.training.billable_seconds)))
    failure = run.failure_error or (status.execution.error if status.execution else None)
    if failure:
        cause = run.failure_cause or (status.execution.cause if status.execution else None)
        rows.append(("failure", f"{failure}: {_shorten(cause)}" if cause else failure))
    if status.training and status.training.failure_reason:
        rows.append(("job failure", _shorten(status.training.failure_reason)))
    if run.checkpoint_s3_uri:
        rows.append(("checkpoint", run.checkpoint_s3_uri))
    if console_region is not None:
        links = console_links(
            console_region,
            training_job_name=status.training.job_name if status.training else None,
            execution_arn=run.execution_arn,
        )
        rows.extend((label, links[key]) for key, label in _LINK_LABELS.items() if key in links)
    return "\n".join(f"{label:<{_LABEL_WIDTH}}{value}" for label, value in rows)


def format_progress_line(status: RunStatus, *, now: datetime) -> str:
    """One line per observed change while following a run."""
    parts = [format_time(now), status.run.status, f"workflow {_workflow_text(status)}"]
    if status.training:
        training = status.training.status
        if status.training.secondary_status:
            training += f"/{status.training.secondary_status}"
        parts.append(f"training {training}")
    parts.append(f"elapsed {format_duration(status.elapsed_seconds(now))}")
    return "  ".join(parts)
