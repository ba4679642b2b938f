"""DeployModel: import a completed run's checkpoint into Bedrock and deploy it, one step per call (a Wait loop)."""

from __future__ import annotations

from typing import Any

from lambdas.handlers import runtime
from novaft.pipeline.contracts import DeployModelInput
from novaft.pipeline.steps.deploy import deploy_run


@runtime.workflow_task(DeployModelInput)
def lambda_handler(payload: DeployModelInput, ports: runtime.Ports) -> dict[str, Any]:
    progress = deploy_run(payload, settings=ports.settings, host=ports.models, runs=ports.runs, now=ports.now)
    runtime.logger.info(
        "deployment advanced",
        extra={"run_id": payload.run.run_id, "phase": progress.phase, "target": progress.target},
    )
    return progress.model_dump(mode="json")
