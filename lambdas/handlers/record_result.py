"""RecordResult / RecordFailure: record how the run ended, write run.json and return the notification text."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.handlers.runtime import (
    logger,
    metrics,
    now_iso,
    object_store,
    parse_payload,
    runs_table,
    settings,
    tracer,
    training_jobs,
)
from novaft.pipeline.contracts import RecordResultInput
from novaft.pipeline.records import STATUS_COMPLETED, STATUS_DATASET_INVALID
from novaft.pipeline.steps.record import record_result


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = parse_payload(RecordResultInput, event)
    recorded = record_result(
        payload, settings=settings(), objects=object_store(), runs=runs_table(), jobs=training_jobs(), now=now_iso()
    )
    status = recorded.result.status
    if status == STATUS_COMPLETED:
        metrics.add_metric(name="RunsSucceeded", unit=MetricUnit.Count, value=1)
    elif status != STATUS_DATASET_INVALID:  # DatasetsInvalid is counted by ValidateDataset when it happens
        metrics.add_metric(name="RunsFailed", unit=MetricUnit.Count, value=1)
    if recorded.outcome is not None and recorded.outcome.billable_seconds is not None:
        metrics.add_metric(name="TrainingHours", unit=MetricUnit.Count, value=recorded.outcome.training_hours)
    logger.info("run recorded", extra={"run_id": payload.run.run_id, "status": status})
    return recorded.result.model_dump(mode="json")
