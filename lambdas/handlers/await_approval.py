"""AwaitApproval: keep the task token with the run, record AwaitingApproval and ask for an answer.

The workflow then waits (waitForTaskToken) for `novaft approve` or `novaft reject`, or for the stage's timeout.
"""

from __future__ import annotations

from typing import Any

from lambdas.handlers import runtime
from novaft.pipeline.steps.approval import AwaitApprovalInput, await_approval


@runtime.workflow_task(AwaitApprovalInput)
def lambda_handler(payload: AwaitApprovalInput, ports: runtime.Ports) -> dict[str, Any]:
    requested = await_approval(
        payload, settings=ports.settings, runs=ports.runs, notifier=ports.notifier, now=ports.now
    )
    runtime.logger.info("approval requested", extra=requested.model_dump())
    return requested.model_dump(mode="json")
