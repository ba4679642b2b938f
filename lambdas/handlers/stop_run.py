"""stop_run: an execution was aborted, timed out or failed; stop its training job, record the run, notify."""

from __future__ import annotations

from typing import Any

from lambdas.handlers import runtime
from lambdas.handlers.acquire_slot import job_slots
from novaft.pipeline.contracts import ExecutionStatusChangeEvent
from novaft.pipeline.steps.stop import stop_run


@runtime.workflow_task(ExecutionStatusChangeEvent)
def lambda_handler(payload: ExecutionStatusChangeEvent, ports: runtime.Ports) -> dict[str, Any]:
    result = stop_run(
        payload,
        settings=ports.settings,
        runs=ports.runs,
        jobs=ports.jobs,
        notifier=ports.notifier,
        now=ports.now,
        slots=job_slots(),
    )
    runtime.logger.info("execution stop handled", extra=result.model_dump())
    return result.model_dump(mode="json")
