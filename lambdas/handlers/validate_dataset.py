"""ValidateDataset: parse the job spec, validate the pinned inputs, write the report, snapshot the validated inputs
(or fail on invalid data)."""

from __future__ import annotations

from typing import Any

from lambdas.handlers import runtime
from novaft.pipeline.contracts import RunContext
from novaft.pipeline.errors import DatasetInvalid
from novaft.pipeline.facts import METRIC_DATASETS_INVALID
from novaft.pipeline.steps.validate import validate_run_dataset


@runtime.workflow_task(RunContext)
def lambda_handler(run: RunContext, ports: runtime.Ports) -> dict[str, Any]:
    try:
        outcome = validate_run_dataset(
            run, settings=ports.settings, objects=ports.objects, runs=ports.runs, now=ports.now
        )
    except DatasetInvalid:
        runtime.count(METRIC_DATASETS_INVALID)
        raise
    runtime.logger.info("dataset valid", extra={"run_id": run.run_id, "records": outcome.records})
    return outcome.model_dump(mode="json")
