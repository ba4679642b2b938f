"""RecordEvaluation: results of the evaluation jobs into evaluation.json and the run record, with the gate."""

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
    training_jobs,
)
from novaft.pipeline.contracts import RecordEvaluationInput
from novaft.pipeline.facts import (
    GATE_FAILED,
    GATE_PASSED,
    METRIC_EVALUATION_GATE_FAILED,
    METRIC_EVALUATION_GATE_PASSED,
    METRIC_EVALUATIONS_FAILED,
)
from novaft.pipeline.steps.evaluation import record_evaluation

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

_METRIC_OF_GATE_RESULT = {GATE_PASSED: METRIC_EVALUATION_GATE_PASSED, GATE_FAILED: METRIC_EVALUATION_GATE_FAILED}


@instrumented
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = parse_payload(RecordEvaluationInput, event)
    outcome = record_evaluation(payload, objects=object_store(), runs=runs_table(), jobs=training_jobs(), now=now_iso())
    if outcome["failed"]:
        count(METRIC_EVALUATIONS_FAILED)
    elif outcome["gate"] is not None:  # a run without a gate has results but no verdict to count
        count(_METRIC_OF_GATE_RESULT[outcome["gate"]["result"]])
    logger.info("evaluation recorded", extra={"run_id": payload.run.run_id, "status": outcome["status"]})
    return outcome
