"""AcquireSlot: take one of the stage's training slots for the run, or keep it Queued with its place."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lambdas.handlers import runtime
from novaft.pipeline.facts import METRIC_QUEUE_DEPTH
from novaft.pipeline.steps.job_slots import SlotInput, acquire_slot

if TYPE_CHECKING:
    from novaft.aws.job_slots import DynamoJobSlots


def job_slots() -> DynamoJobSlots:
    """The stage's slot semaphore, an item of the runs table (ReleaseSlot and stop_run use it too)."""
    from novaft.aws.clients import dynamodb_table
    from novaft.aws.job_slots import DynamoJobSlots

    return DynamoJobSlots(dynamodb_table(runtime.settings().runs_table))


@runtime.workflow_task(SlotInput)
def lambda_handler(payload: SlotInput, ports: runtime.Ports) -> dict[str, Any]:
    claim = acquire_slot(
        payload,
        limit=ports.settings.policy.max_concurrent_jobs,
        slots=job_slots(),
        runs=ports.runs,
        now=ports.now,
    )
    # Queued runs ask again on every poll, so the gauge is fresh while anyone waits and drops to 0 as the last starts.
    runtime.count(METRIC_QUEUE_DEPTH, claim.waiting)
    runtime.logger.info("training slot asked for", extra={"run_id": payload.run.run_id, **claim.model_dump()})
    return claim.model_dump(mode="json")
