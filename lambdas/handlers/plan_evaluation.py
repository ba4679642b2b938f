"""PlanEvaluation: render, upload and build the evaluation jobs of a trained run (none when the job asks for none)."""

from __future__ import annotations

from typing import Any

from lambdas.handlers import runtime
from novaft.pipeline.contracts import PlanEvaluationInput
from novaft.pipeline.steps.evaluation import plan_evaluation


@runtime.workflow_task(PlanEvaluationInput)
def lambda_handler(payload: PlanEvaluationInput, ports: runtime.Ports) -> dict[str, Any]:
    plan = plan_evaluation(
        payload, prices=ports.prices, settings=ports.settings, objects=ports.objects, runs=ports.runs, now=ports.now
    )
    jobs = [job.job_name for job in plan.jobs]
    runtime.logger.info("evaluation planned", extra={"run_id": payload.run.run_id, "jobs": jobs})
    return plan.model_dump(mode="json")
