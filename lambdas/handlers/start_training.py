"""StartTraining: create the SageMaker training job for the run (idempotent for the same run)."""

from __future__ import annotations

from typing import Any

from lambdas.handlers import runtime
from novaft.pipeline.contracts import StartTrainingInput
from novaft.pipeline.facts import METRIC_RUNS_STARTED
from novaft.pipeline.steps.start import start_training


@runtime.workflow_task(StartTrainingInput)
def lambda_handler(payload: StartTrainingInput, ports: runtime.Ports) -> dict[str, Any]:
    started = start_training(payload, settings=ports.settings, jobs=ports.jobs, runs=ports.runs, now=ports.now)
    if not started.already_started:
        runtime.count(METRIC_RUNS_STARTED)
    runtime.logger.info("training started", extra=started.model_dump())
    return started.model_dump(mode="json")
