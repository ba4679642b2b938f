"""Build what a finished, failed or stopped run leaves behind: the runs-table fields, run.json and the e-mail.

Inputs are plain data (DescribeTrainingJob output, the workflow's ``{Error, Cause}``, the manifest's checkpoint);
the handler stores and sends the results.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import orjson

from novaft.pipeline.contracts import RunContext, WorkflowFailure
from novaft.pipeline.errors import ApprovalRequired, DatasetInvalid, EvalDatasetInvalid, PolicyViolation

# Re-exported for code that still imports the statuses from here; new code imports them from facts.
from novaft.pipeline.facts import (  # noqa: F401
    APPROVAL_REJECTED_ERROR,
    FINAL_RUN_STATUSES,
    RECORD_TYPE_RUN,
    STATUS_APPROVAL_REQUIRED,
    STATUS_COMPLETED,
    STATUS_DATASET_INVALID,
    STATUS_FAILED,
    STATUS_POLICY_VIOLATION,
    STATUS_REGISTERED,
    STATUS_REJECTED,
    STATUS_STOPPED,
    STATUS_TRAINING,
    STATUS_VALIDATING,
    TERMINAL_TRAINING_STATUSES,
    iso_utc,
)

# SNS Publish API reference: subjects are "UTF-8 text with no line breaks or control characters, and less than 100
# characters long"; the run name in the subject comes from the uploaded key, which may hold any character.
SNS_SUBJECT_MAX_CHARS = 99
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
MAX_CAUSE_CHARS = 2000
TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"


@dataclass(frozen=True)
class TrainingOutcome:
    """The parts of DescribeTrainingJob a run record keeps."""

    job_name: str
    status: str
    failure_reason: str | None
    billable_seconds: int | None
    instance_count: int
    final_metrics: dict[str, float]
    output_s3_path: str | None

    @property
    def training_hours(self) -> float:
        """Instance-hours billed. BillableTimeInSeconds is per instance: "Multiply BillableTimeInSeconds by the number
        of instances (InstanceCount)" (SageMaker DescribeTrainingJob API reference)."""
        return (self.billable_seconds or 0) * self.instance_count / 3600


def training_outcome_from_describe(describe: Mapping[str, Any]) -> TrainingOutcome:
    metrics = {
        str(item["MetricName"]): float(item["Value"])
        for item in describe.get("FinalMetricDataList") or []
        if "MetricName" in item and "Value" in item
    }
    billable = describe.get("BillableTimeInSeconds")
    return TrainingOutcome(
        job_name=str(describe.get("TrainingJobName", "")),
        status=str(describe.get("TrainingJobStatus", "Unknown")),
        failure_reason=describe.get("FailureReason"),
        billable_seconds=int(billable) if billable is not None else None,
        instance_count=int((describe.get("ResourceConfig") or {}).get("InstanceCount") or 1),
        final_metrics=metrics,
        output_s3_path=(describe.get("OutputDataConfig") or {}).get("S3OutputPath"),
    )


def console_links(region: str, *, training_job_name: str | None, execution_arn: str | None) -> dict[str, str]:
    """Console pages a person opens next: the job, the workflow execution and the job's logs."""
    base = f"https://{region}.console.aws.amazon.com"
    links: dict[str, str] = {}
    if training_job_name:
        links["training_job"] = f"{base}/sagemaker/home?region={region}#/jobs/{training_job_name}"
        # CloudWatch's console double-encodes the path ("$25" stands for "%").
        group = quote(quote(TRAINING_LOG_GROUP, safe=""), safe="").replace("%", "$")
        links["training_logs"] = (
            f"{base}/cloudwatch/home?region={region}#logsV2:log-groups/log-group/{group}"
            f"$3FlogStreamNameFilter$3D{training_job_name}"
        )
    if execution_arn:
        links["execution"] = f"{base}/states/home?region={region}#/v2/executions/details/{execution_arn}"
    return links


@dataclass(frozen=True)
class FailureSummary:
    error: str
    message: str
    status: str


def summarize_failure(failure: WorkflowFailure) -> FailureSummary:
    """Readable text from a Catch's ``{Error, Cause}``.

    Lambda failures carry a JSON Cause with ``errorMessage``/``errorType``; SageMaker task failures carry the
    DescribeTrainingJob JSON (``FailureReason``); anything else is shown as given, shortened.
    """
    message = _message_from_cause(failure.cause) or failure.error
    status = _STATUS_OF_NAMED_FAILURE.get(failure.error, STATUS_FAILED)
    return FailureSummary(error=failure.error, message=message[:MAX_CAUSE_CHARS], status=status)


# Named failures that end a run with their own status; every other error records it as Failed.
_STATUS_OF_NAMED_FAILURE = {
    DatasetInvalid.workflow_error: STATUS_DATASET_INVALID,
    EvalDatasetInvalid.workflow_error: STATUS_DATASET_INVALID,
    PolicyViolation.workflow_error: STATUS_POLICY_VIOLATION,
    ApprovalRequired.workflow_error: STATUS_APPROVAL_REQUIRED,
    # novaft reject, or no answer within approval_timeout_hours (docs/policy.md, "Approval").
    APPROVAL_REJECTED_ERROR: STATUS_REJECTED,
}


def _message_from_cause(cause: str | None) -> str:
    if not cause:
        return ""
    try:
        parsed = orjson.loads(cause)
    except orjson.JSONDecodeError:
        return cause.strip()
    if isinstance(parsed, dict):
        for key in ("errorMessage", "FailureReason", "message", "Message"):
            if isinstance(parsed.get(key), str) and parsed[key].strip():
                return str(parsed[key]).strip()
    return cause.strip()


@dataclass(frozen=True)
class RunUpdate:
    """Fields to set on the run's item; ``None`` values are left out (never erase what an earlier step wrote)."""

    status: str
    updated_at: str
    fields: dict[str, Any] = field(default_factory=dict)

    def item_fields(self) -> dict[str, Any]:
        values = {"status": self.status, "updated_at": self.updated_at, **self.fields}
        return {name: value for name, value in values.items() if value is not None}


def registered_item(run: RunContext, *, execution_arn: str, created_at: str) -> dict[str, Any]:
    """The item RegisterRun puts (conditionally) into the runs table."""
    return {
        "run_id": run.run_id,
        "run_name": run.run_name,
        "attempt": run.attempt,
        "record_type": RECORD_TYPE_RUN,
        "status": STATUS_REGISTERED,
        "dataset": run.dataset.model_dump(exclude_none=True),
        "execution_arn": execution_arn,
        "training_job_name": run.training_job_name,
        "artifacts_prefix": f"s3://{run.artifacts_bucket}/{run.artifacts_prefix}",
        "created_at": created_at,
        "updated_at": created_at,
    }


def finished_update(
    outcome: TrainingOutcome, *, checkpoint_s3_uri: str | None, now: str, run_json_uri: str
) -> RunUpdate:
    status = outcome.status if outcome.status in TERMINAL_TRAINING_STATUSES else STATUS_FAILED
    return RunUpdate(
        status=status,
        updated_at=now,
        fields={
            "failure_cause": outcome.failure_reason,
            "billable_seconds": outcome.billable_seconds,
            "training_hours": round(outcome.training_hours, 4),
            "final_metrics": outcome.final_metrics or None,
            "checkpoint_s3_uri": checkpoint_s3_uri,
            "output_s3_path": outcome.output_s3_path,
            "run_json_s3_uri": run_json_uri,
        },
    )


def failure_update(summary: FailureSummary, *, now: str, run_json_uri: str) -> RunUpdate:
    return RunUpdate(
        status=summary.status,
        updated_at=now,
        fields={"failure_error": summary.error, "failure_cause": summary.message, "run_json_s3_uri": run_json_uri},
    )


def run_document(existing_item: Mapping[str, Any], update: RunUpdate, links: Mapping[str, str]) -> dict[str, Any]:
    """run.json: the whole record after the update, plus console links (for people and the operator CLI)."""
    document = {key: _plain(value) for key, value in existing_item.items()}
    document.update(update.item_fields())
    document["links"] = dict(links)
    return document


def _plain(value: Any) -> Any:
    # DynamoDB returns Decimal for numbers; run.json is plain JSON.
    if hasattr(value, "as_integer_ratio") and not isinstance(value, bool | int | float):
        as_float = float(value)
        return int(as_float) if as_float.is_integer() else as_float
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(item) for item in value]
    return value


def printable_run_name(run_name: str) -> str:
    """The run name with control characters (line breaks, escapes, NUL) replaced by a space.

    The name comes from the uploaded key, which may hold any character: unfiltered, a line break in it would forge
    lines of the e-mail (a fake "Links:" section) and an escape sequence would drive the reader's terminal.
    """
    return _CONTROL_CHARACTERS.sub(" ", run_name).strip()


@dataclass(frozen=True)
class Notification:
    subject: str
    message: str


def notification_for(
    *,
    run: RunContext,
    stage: str,
    status: str,
    headline: str,
    details: Mapping[str, str | None],
    links: Mapping[str, str],
) -> Notification:
    """An e-mail for a person: which run, what happened, where to look. ``details`` lines with no value are skipped."""
    run_name = printable_run_name(run.run_name)
    subject = _CONTROL_CHARACTERS.sub(" ", f"novaft {stage}: run {run_name or run.run_id} {status}")
    if len(subject) > SNS_SUBJECT_MAX_CHARS:
        subject = subject[: SNS_SUBJECT_MAX_CHARS - 3] + "..."
    lines = [f"Run {run.run_id} ({run_name}) ended with status {status}.", "", headline, ""]
    lines += [f"{label}: {value}" for label, value in details.items() if value]
    if links:
        lines += ["", "Links:"] + [f"  {name.replace('_', ' ')}: {url}" for name, url in links.items()]
    return Notification(subject=subject, message="\n".join(lines).strip() + "\n")
