"""PlanEvaluation: render, upload and build the evaluation jobs of a trained run (none when the job asks for none)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lambdas.handlers.render_recipe import price_table
from lambdas.handlers.runtime import instrumented, logger, now_iso, object_store, parse_payload, runs_table, settings
from novaft.pipeline.contracts import PlanEvaluationInput
from novaft.pipeline.steps.evaluation import plan_evaluation

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@instrumented
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = parse_payload(PlanEvaluationInput, event)
    plan = plan_evaluation(
        payload, prices=price_table(), settings=settings(), objects=object_store(), runs=runs_table(), now=now_iso()
    )
    logger.info("evaluation planned", extra={"run_id": payload.run.run_id, "jobs": [j.job_name for j in plan.jobs]})
    return plan.model_dump(mode="json")
