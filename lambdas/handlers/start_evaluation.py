"""StartEvaluation: create one evaluation job of the plan (idempotent for the same run)."""

from __future__ import annotations

from typing import Any

from lambdas.handlers import runtime
from novaft.pipeline.contracts import StartEvaluationInput
from novaft.pipeline.steps.evaluation import start_evaluation


@runtime.workflow_task(StartEvaluationInput)
def lambda_handler(payload: StartEvaluationInput, ports: runtime.Ports) -> dict[str, Any]:
    started = start_evaluation(payload, settings=ports.settings, jobs=ports.jobs)
    runtime.logger.info("evaluation started", extra={"run_id": payload.run.run_id, **started})
    return started
