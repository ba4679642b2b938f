"""RecordResult / RecordFailure: record how the run ended, write run.json and return the notification text."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lambdas.handlers.runtime import (
    count,
    instrumented,
    logger,
    now_iso,
    object_store,
    parse_payload,
    runs_table,
    settings,
    training_jobs,
)
from novaft.pipeline.contracts import RecordResultInput
from novaft.pipeline.facts import (
    METRIC_RUNS_FAILED,
    METRIC_RUNS_SUCCEEDED,
    METRIC_TRAINING_HOURS,
    STATUS_COMPLETED,
    STATUS_DATASET_INVALID,
)
from novaft.pipeline.steps.record import record_result

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@instrumented
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = parse_payload(RecordResultInput, event)
    recorded = record_result(
        payload, settings=settings(), objects=object_store(), runs=runs_table(), jobs=training_jobs(), now=now_iso()
    )
    status = recorded.result.status
    if status == STATUS_COMPLETED:
        count(METRIC_RUNS_SUCCEEDED)
    elif status != STATUS_DATASET_INVALID:  # DatasetsInvalid is counted by ValidateDataset when it happens
        count(METRIC_RUNS_FAILED)
    if recorded.outcome is not None and recorded.outcome.billable_seconds is not None:
        count(METRIC_TRAINING_HOURS, recorded.outcome.training_hours)
    logger.info("run recorded", extra={"run_id": payload.run.run_id, "status": status})
    return recorded.result.model_dump(mode="json")
