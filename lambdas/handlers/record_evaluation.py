"""RecordEvaluation: results of the evaluation jobs into evaluation.json and the run record, with the gate."""

from __future__ import annotations

from typing import Any

from lambdas.handlers import runtime
from novaft.pipeline.contracts import RecordEvaluationInput
from novaft.pipeline.facts import (
    GATE_FAILED,
    GATE_PASSED,
    METRIC_EVALUATION_GATE_FAILED,
    METRIC_EVALUATION_GATE_PASSED,
    METRIC_EVALUATIONS_FAILED,
)
from novaft.pipeline.steps.evaluation import record_evaluation

_METRIC_OF_GATE_RESULT = {GATE_PASSED: METRIC_EVALUATION_GATE_PASSED, GATE_FAILED: METRIC_EVALUATION_GATE_FAILED}


@runtime.workflow_task(RecordEvaluationInput)
def lambda_handler(payload: RecordEvaluationInput, ports: runtime.Ports) -> dict[str, Any]:
    outcome = record_evaluation(payload, objects=ports.objects, runs=ports.runs, jobs=ports.jobs, now=ports.now)
    if outcome["failed"]:
        runtime.count(METRIC_EVALUATIONS_FAILED)
    elif outcome["gate"] is not None:  # a run without a gate has results but no verdict to count
        runtime.count(_METRIC_OF_GATE_RESULT[outcome["gate"]["result"]])
    runtime.logger.info("evaluation recorded", extra={"run_id": payload.run.run_id, "status": outcome["status"]})
    return outcome
