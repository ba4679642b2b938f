"""RecordResult / RecordFailure: record how the run ended, write run.json and return the notification text."""

from __future__ import annotations

from typing import Any

from lambdas.handlers import runtime
from novaft.pipeline.contracts import RecordResultInput
from novaft.pipeline.facts import (
    METRIC_RUNS_FAILED,
    METRIC_RUNS_POLICY_VIOLATION,
    METRIC_RUNS_REJECTED,
    METRIC_RUNS_SUCCEEDED,
    METRIC_TRAINING_HOURS,
    STATUS_COMPLETED,
    STATUS_DATASET_INVALID,
    STATUS_POLICY_VIOLATION,
    STATUS_REJECTED,
)
from novaft.pipeline.steps.record import record_result

# The run metric of each recorded status that has its own; every other status but DatasetInvalid counts as failed.
_METRIC_OF_STATUS = {
    STATUS_COMPLETED: METRIC_RUNS_SUCCEEDED,
    STATUS_POLICY_VIOLATION: METRIC_RUNS_POLICY_VIOLATION,
    STATUS_REJECTED: METRIC_RUNS_REJECTED,
}


@runtime.workflow_task(RecordResultInput)
def lambda_handler(payload: RecordResultInput, ports: runtime.Ports) -> dict[str, Any]:
    recorded = record_result(
        payload,
        settings=ports.settings,
        objects=ports.objects,
        runs=ports.runs,
        jobs=ports.jobs,
        now=ports.now,
        logs=ports.logs,
    )
    status = recorded.result.status
    if status != STATUS_DATASET_INVALID:  # DatasetsInvalid is counted by ValidateDataset when it happens
        runtime.count(_METRIC_OF_STATUS.get(status, METRIC_RUNS_FAILED))
    if recorded.outcome is not None and recorded.outcome.billable_seconds is not None:
        runtime.count(METRIC_TRAINING_HOURS, recorded.outcome.training_hours)
    runtime.logger.info("run recorded", extra={"run_id": payload.run.run_id, "status": status})
    return recorded.result.model_dump(mode="json")
