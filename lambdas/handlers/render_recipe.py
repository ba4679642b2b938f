"""RenderRecipe: job spec → recipe in S3 → CreateTrainingJob request and estimate (plan.json)."""

from __future__ import annotations

from functools import cache
from typing import Any

from lambdas.handlers import runtime
from novaft.errors import NovaftError
from novaft.pipeline.contracts import RenderRecipeInput
from novaft.pipeline.steps.render import render_run_recipe
from novaft.recipes import PriceTable, load_price_table


@cache
def price_table() -> PriceTable | None:
    """Prices only feed the estimate; a missing or broken table leaves the cost out instead of failing the run."""
    try:
        return load_price_table()
    except (NovaftError, OSError, ValueError) as error:
        runtime.logger.warning("price table unavailable; estimate without cost", extra={"error": str(error)})
        return None


@runtime.workflow_task(RenderRecipeInput)
def lambda_handler(payload: RenderRecipeInput, ports: runtime.Ports) -> dict[str, Any]:
    plan = render_run_recipe(
        payload, prices=price_table(), settings=ports.settings, objects=ports.objects, runs=ports.runs, now=ports.now
    )
    runtime.logger.info("recipe rendered", extra={"run_id": payload.run.run_id, "plan": plan.plan_s3_uri})
    return plan.model_dump(mode="json")
