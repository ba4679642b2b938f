"""RenderRecipe: job spec → recipe in S3 → CreateTrainingJob request and estimate (plan.json)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from lambdas.handlers.runtime import instrumented, logger, now_iso, object_store, parse_payload, runs_table, settings
from novaft.errors import NovaftError
from novaft.pipeline.contracts import RenderRecipeInput
from novaft.pipeline.steps.job_spec import load_run_job_spec
from novaft.pipeline.steps.render import render_run_recipe
from novaft.recipes import PriceTable, load_price_table

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@cache
def price_table() -> PriceTable | None:
    """Prices only feed the estimate; a missing or broken table leaves the cost out instead of failing the run."""
    try:
        return load_price_table()
    except (NovaftError, OSError, ValueError) as error:
        logger.warning("price table unavailable; estimate without cost", extra={"error": str(error)})
        return None


@instrumented
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = parse_payload(RenderRecipeInput, event)
    spec = load_run_job_spec(payload.run, settings=settings(), objects=object_store())
    plan = render_run_recipe(
        payload,
        spec=spec,
        prices=price_table(),
        settings=settings(),
        objects=object_store(),
        runs=runs_table(),
        now=now_iso(),
    )
    logger.info("recipe rendered", extra={"run_id": payload.run.run_id, "plan": plan.plan_s3_uri})
    return plan.model_dump(mode="json")
