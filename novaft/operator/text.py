"""How the operator commands print runs, statuses and validation reports (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from novaft.operator.runs import RunStatus, RunView
from novaft.pipeline.records import console_links


def format_duration(seconds: float | None) -> str:
    """``42s``, ``3m 05s``, ``2h 07m``, ``1d 03h``; ``-`` when unknown."""
    if seconds is None:
        return "-"
    total = int(seconds)
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def format_time(moment: datetime | None) -> str:
    """UTC, to the second, as ``2026-11-25 22:04:05Z``; ``-`` when unknown."""
    if moment is None:
        return "-"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


# --- novaft status and --wait ------------------------------------------------------------------------------------

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
        # SageMaker never deletes training jobs: no job means the run ended, or is still, before StartTraining. The
        # name RegisterRun reserved is not shown: it names no job.
        return "not started"
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
    rows.extend(evaluation_rows(run.evaluation))
    if console_region is not None:
        links = console_links(
            console_region,
            training_job_name=status.training.job_name if status.training else None,
            execution_arn=run.execution_arn,
        )
        rows.extend((label, links[key]) for key, label in _LINK_LABELS.items() if key in links)
    return "\n".join(f"{label:<{_LABEL_WIDTH}}{value}" for label, value in rows)


# Metrics shown in the status block; evaluation.json has them all.
_MAX_EVALUATION_ROWS = 8


def evaluation_rows(evaluation: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The evaluation's status and gate, then ``task.metric: fine-tuned (base, change)`` per metric."""
    if not evaluation:
        return []
    gate = evaluation.get("gate")
    rows = [("evaluation", f"{evaluation.get('status')}" + (f", gate {gate}" if gate else ""))]
    metrics = evaluation.get("metrics") or {}
    for name, row in list(metrics.items())[:_MAX_EVALUATION_ROWS]:
        base, delta = row.get("base"), row.get("delta")
        compared = f" (base {base:g}, change {delta:+g})" if base is not None and delta is not None else ""
        rows.append(("", f"{name}: {row.get('fine_tuned'):g}{compared}"))
    if len(metrics) > _MAX_EVALUATION_ROWS:
        rows.append(("", f"... {len(metrics) - _MAX_EVALUATION_ROWS} more in evaluation.json"))
    if evaluation.get("failure"):
        rows.append(("eval failed", _shorten(str(evaluation["failure"]))))
    return rows


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


# --- novaft runs --------------------------------------------------------------------------------------------------

_HEADERS = ("RUN", "ATTEMPT", "RUN ID", "STATUS", "CREATED", "AGE", "TRAINING JOB")


def _row(run: RunView, now: datetime) -> tuple[str, ...]:
    age = (now - run.created_at).total_seconds() if run.created_at else None
    return (
        run.run_name,
        str(run.attempt) if run.attempt is not None else "-",
        run.run_id,
        f"{run.status_text}{LIVE_DEPLOYMENT_MARK}" if run.live_deployment else run.status_text,
        format_time(run.created_at),
        format_duration(max(0.0, age) if age is not None else None),
        run.training_job_name or "-",
    )


def format_duplicate_submission(run: RunView) -> str:
    """``novaft submit`` of files a run already has: which run, and that nothing new started."""
    attempt = f"attempt {run.attempt}, " if run.attempt is not None else ""
    return (
        f"duplicate: run {run.run_name} already has exactly these files ({attempt}run id {run.run_id}, "
        f"status {run.status}); nothing new was started.\n"
        f"see it:  novaft status {run.run_id}\n"
        "to train the same files again, submit them under another --run name"
    )


def format_runs_table(runs: Sequence[RunView], *, now: datetime) -> str:
    """Left-aligned columns, newest first as given; a friendly line when there are none."""
    if not runs:
        return "no runs yet: start one with `novaft submit DATA.jsonl`"
    rows = [_HEADERS, *(_row(run, now) for run in runs)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(_HEADERS))]
    table = "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    )
    return "\n".join([table, *_live_deployment_lines(runs)])


# A run whose model is deployed in Bedrock: it may bill (provisioned throughput by the hour) until it is removed.
LIVE_DEPLOYMENT_MARK = " *"


def _live_deployment_lines(runs: Sequence[RunView]) -> list[str]:
    live = [run for run in runs if run.live_deployment]
    if not live:
        return []
    lines = ["", f"{LIVE_DEPLOYMENT_MARK.strip()} deployed in Amazon Bedrock and may bill until removed:"]
    for run in live:
        target, arn = run.deployment.get("target", "?"), run.deployment.get("deployment_arn")
        lines.append(f"  {run.run_id}: {target} {arn} (remove: novaft undeploy {run.run_id})")
    return lines


# --- novaft report ------------------------------------------------------------------------------------------------
# The stored report is the validator's ``report.to_dict()``, read generically (scalars as ``key: value``, sections for
# nested objects, issues as ``file:line code path message``) so a field added to the report shows here unchanged.

_ISSUE_KEYS = ("issues", "errors", "warnings")
_INDENT = "  "


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    if value is None:
        return "-"
    return str(value)


def _is_issue(item: Any) -> bool:
    return isinstance(item, Mapping) and "code" in item and "message" in item


def format_issue(issue: Mapping[str, Any]) -> str:
    # Line 0 is the file as a whole (the validator's convention).
    line = issue.get("line") or 0
    where = f"{issue.get('file', 'train')}:{line}" if line else f"{issue.get('file', 'train')} (file)"
    path = issue.get("path")
    return f"{where}  {issue['code']}  {path + '  ' if path and path != '$' else ''}{issue['message']}"


def _lines(data: Mapping[str, Any], depth: int) -> list[str]:
    lines: list[str] = []
    indent = _INDENT * depth
    nested: list[tuple[str, Any]] = []
    for key, value in data.items():
        if isinstance(value, Mapping) or (isinstance(value, Sequence) and not isinstance(value, str)):
            nested.append((key, value))
        else:
            lines.append(f"{indent}{key}: {_scalar(value)}")
    for key, value in nested:
        if isinstance(value, Mapping):
            if value:
                lines.append(f"{indent}{key}:")
                lines.extend(_lines(value, depth + 1))
            continue
        if not value:
            lines.append(f"{indent}{key}: none")
        elif all(_is_issue(item) for item in value):
            lines.append(f"{indent}{key} ({len(value)} shown):")
            lines.extend(f"{indent}{_INDENT}{format_issue(item)}" for item in value)
        elif all(not isinstance(item, Mapping | list) for item in value):
            lines.append(f"{indent}{key}: {', '.join(_scalar(item) for item in value)}")
        else:
            lines.append(f"{indent}{key}:")
            for item in value:
                if isinstance(item, Mapping):
                    sub = _lines(item, depth + 2)
                    lines.append(f"{indent}{_INDENT}- {sub[0].strip()}" if sub else f"{indent}{_INDENT}-")
                    lines.extend(sub[1:])
                else:
                    lines.append(f"{indent}{_INDENT}- {_scalar(item)}")
    return lines


def format_report(report: Mapping[str, Any], *, run_name: str, run_id: str) -> str:
    valid = report.get("valid")
    verdict = "valid" if valid is True else "INVALID" if valid is False else "unknown"
    header = f"validation report of run {run_name} ({run_id}): {verdict}"
    body = {key: value for key, value in report.items() if key != "valid"}
    # Issues read best last, after the counts and statistics they explain.
    ordered = {key: value for key, value in body.items() if key not in _ISSUE_KEYS}
    ordered.update({key: body[key] for key in _ISSUE_KEYS if key in body})
    return "\n".join([header, *_lines(ordered, 1)])
