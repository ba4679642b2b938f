"""What RecordResult adds to a run for people: its training metrics (metrics.csv) and its HTML report (report.html).

Both are best effort: a run is recorded even when its archive, logs or earlier documents cannot be read; what could
not be read is named in the run record and on the page.
"""

from __future__ import annotations

import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from novaft.errors import NovaftError
from novaft.pipeline.facts import METRICS_CSV_FILE, REPORT_HTML_FILE
from novaft.pipeline.steps.ports import ObjectStore, TrainingLogs
from novaft.report.metrics import TrainingMetrics, metrics_from_archive, parse_log_lines
from novaft.report.page import run_report_html

HTML_CONTENT_TYPE = "text/html; charset=utf-8"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"


@dataclass(frozen=True)
class MetricsReading:
    metrics: TrainingMetrics | None
    problem: str | None  # why nothing (or only the logs) could be read


def read_training_metrics(archive: bytes | None, *, job_name: str, logs: TrainingLogs | None) -> MetricsReading:
    """The loss curve from the archive's CSV, else from the job's log stream."""
    problems: list[str] = []
    if archive is not None:
        try:
            found = metrics_from_archive(archive)
        except (tarfile.TarError, OSError, EOFError) as error:
            found = None
            problems.append(f"output.tar.gz: not a readable archive ({error})")
        if found is not None and found.points:
            return MetricsReading(found, None)
    if logs is not None:
        try:
            from_logs = parse_log_lines(logs.lines(job_name))
        except NovaftError as error:
            problems.append(f"training logs: {error}")
        else:
            if from_logs.points:
                return MetricsReading(from_logs, "; ".join(problems) or None)
    return MetricsReading(None, "; ".join(problems) or None)


def save_metrics(objects: ObjectStore, bucket: str, prefix: str, metrics: TrainingMetrics) -> dict[str, Any]:
    """Write metrics.csv; the run-record fields that summarize it."""
    uri = objects.put_text(bucket, f"{prefix}{METRICS_CSV_FILE}", metrics.to_csv(), CSV_CONTENT_TYPE)
    summary = metrics.summary.to_dict() if metrics.summary else None
    return {"metrics_s3_uri": uri, "training_metrics": summary}


def report_key(prefix: str) -> str:
    return f"{prefix}{REPORT_HTML_FILE}"


def _json_at(objects: ObjectStore, uri: Any, what: str, notes: list[str]) -> dict[str, Any] | None:
    if not isinstance(uri, str) or not uri.startswith("s3://"):
        return None
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    try:
        document = orjson.loads(objects.read_bytes(bucket, key))
    except (NovaftError, OSError, orjson.JSONDecodeError) as error:
        notes.append(f"{what} {uri} could not be read: {error}")
        return None
    return document if isinstance(document, dict) else None


def write_run_report(
    objects: ObjectStore,
    *,
    bucket: str,
    prefix: str,
    run: Mapping[str, Any],
    metrics: TrainingMetrics | None,
    now: str,
) -> str:
    """Render report.html from the run document and the run's stored validation report, plan and evaluation."""
    notes: list[str] = []
    validation = _json_at(objects, run.get("report_s3_uri"), "validation report", notes)
    plan = _json_at(objects, run.get("plan_s3_uri"), "plan", notes)
    evaluation = _json_at(objects, run.get("evaluation_s3_uri"), "evaluation results", notes)
    page = run_report_html(
        run, validation=validation, plan=plan, metrics=metrics, evaluation=evaluation, generated_at=now, notes=notes
    )
    return objects.put_text(bucket, report_key(prefix), page, HTML_CONTENT_TYPE)
