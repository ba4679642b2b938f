"""RecordDeployment: smoke-test a ready deployment with one Converse request and record it (or why it failed)."""

from __future__ import annotations

from typing import Any

from lambdas.handlers import runtime
from novaft.pipeline.contracts import DeploymentRecord, RecordDeploymentInput
from novaft.pipeline.steps.deploy import record_run_deployment


@runtime.workflow_task(RecordDeploymentInput)
def lambda_handler(payload: RecordDeploymentInput, ports: runtime.Ports) -> dict[str, Any]:
    recorded = record_run_deployment(
        payload, settings=ports.settings, runtime=ports.converse, runs=ports.runs, objects=ports.objects, now=ports.now
    )
    runtime.logger.info("deployment recorded", extra={"run_id": payload.run.run_id, "status": recorded.status})
    return DeploymentRecord(
        status=recorded.status, subject=recorded.subject, message=recorded.message, answer=recorded.answer
    ).model_dump(mode="json")
