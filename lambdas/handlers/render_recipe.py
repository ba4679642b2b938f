"""RenderRecipe: job spec → recipe in S3 → CreateTrainingJob request and estimate (plan.json)."""

from __future__ import annotations

from typing import Any

from lambdas.handlers import runtime
from novaft.pipeline.contracts import RenderRecipeInput
from novaft.pipeline.steps.render import render_run_recipe


@runtime.workflow_task(RenderRecipeInput)
def lambda_handler(payload: RenderRecipeInput, ports: runtime.Ports) -> dict[str, Any]:
    plan = render_run_recipe(
        payload, prices=ports.prices, settings=ports.settings, objects=ports.objects, runs=ports.runs, now=ports.now
    )
    runtime.logger.info("recipe rendered", extra={"run_id": payload.run.run_id, "plan": plan.plan_s3_uri})
    return plan.model_dump(mode="json")
