"""A run as the operator sees it, read from a runs-table item (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from novaft.pipeline.records import STATUS_COMPLETED, STATUS_DATASET_INVALID, STATUS_FAILED, STATUS_STOPPED

# Run statuses after which the run record no longer changes (the statuses the pipeline's record step writes).
FINAL_RUN_STATUSES = frozenset({STATUS_COMPLETED, STATUS_FAILED, STATUS_STOPPED, STATUS_DATASET_INVALID})
SUCCESSFUL_RUN_STATUSES = frozenset({STATUS_COMPLETED})


def plain(value: Any) -> Any:
    """DynamoDB numbers arrive as Decimal; turn them (also nested) into int or float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain(item) for item in value]
    return value


def parse_timestamp(value: Any) -> datetime | None:
    """Timestamps are ISO 8601 strings (or epoch seconds); anything else reads as unknown rather than failing."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), tz=UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _text(item: Mapping[str, Any], key: str) -> str | None:
    value = item.get(key)
    return None if value in (None, "") else str(value)


@dataclass(frozen=True)
class RunView:
    run_id: str
    run_name: str
    status: str
    created_at: datetime | None = None
    updated_at: datetime | None = None
    execution_arn: str | None = None
    training_job_name: str | None = None
    failure_error: str | None = None
    failure_cause: str | None = None
    billable_seconds: int | None = None
    report_s3_uri: str | None = None
    run_json_s3_uri: str | None = None
    checkpoint_s3_uri: str | None = None
    final_metrics: Mapping[str, Any] = field(default_factory=dict)
    dataset: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> RunView:
        data = plain(item)
        billable = data.get("billable_seconds")
        return cls(
            run_id=str(data["run_id"]),
            run_name=str(data.get("run_name") or data["run_id"]),
            status=str(data.get("status") or "Unknown"),
            created_at=parse_timestamp(data.get("created_at")),
            updated_at=parse_timestamp(data.get("updated_at")),
            execution_arn=_text(data, "execution_arn"),
            training_job_name=_text(data, "training_job_name"),
            failure_error=_text(data, "failure_error"),
            failure_cause=_text(data, "failure_cause"),
            billable_seconds=int(billable) if isinstance(billable, int | float) else None,
            report_s3_uri=_text(data, "report_s3_uri"),
            run_json_s3_uri=_text(data, "run_json_s3_uri"),
            checkpoint_s3_uri=_text(data, "checkpoint_s3_uri"),
            final_metrics=data.get("final_metrics") or {},
            dataset=data.get("dataset") or {},
        )

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_RUN_STATUSES
