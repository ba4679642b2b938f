"""ReleaseSlot: give back the run's training slot (or its place in the queue); safe to call twice."""

from __future__ import annotations

from typing import Any

from lambdas.handlers import runtime
from lambdas.handlers.acquire_slot import job_slots
from novaft.pipeline.steps.job_slots import SlotInput, release_slot


@runtime.workflow_task(SlotInput)
def lambda_handler(payload: SlotInput, ports: runtime.Ports) -> dict[str, Any]:
    released = release_slot(payload.run.run_id, slots=job_slots())
    runtime.logger.info("training slot released", extra={"run_id": payload.run.run_id, **released.model_dump()})
    return released.model_dump(mode="json")
