"""StartEvaluation: create one evaluation job of the plan (idempotent for the same run)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lambdas.handlers.runtime import instrumented, logger, parse_payload, settings, training_jobs
from novaft.pipeline.contracts import StartEvaluationInput
from novaft.pipeline.steps.evaluation import start_evaluation

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@instrumented
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = parse_payload(StartEvaluationInput, event)
    started = start_evaluation(payload, settings=settings(), jobs=training_jobs())
    logger.info("evaluation started", extra={"run_id": payload.run.run_id, **started})
    return started
