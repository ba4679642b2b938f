"""RegisterRun: turn the S3 event into a run with pinned inputs, or mark it ignored or a duplicate of a run."""

from __future__ import annotations

from typing import Any

from lambdas.handlers import runtime
from novaft.pipeline.contracts import RegisterRunInput
from novaft.pipeline.steps.register import register_run


@runtime.workflow_task(RegisterRunInput)
def lambda_handler(payload: RegisterRunInput, ports: runtime.Ports) -> dict[str, Any]:
    run = register_run(payload, settings=ports.settings, objects=ports.objects, runs=ports.runs, now=ports.now)
    runtime.logger.info(
        "run registered",
        extra={
            "run_id": run.run_id,
            "attempt": run.attempt,
            "ignored": run.ignored,
            "duplicate": run.duplicate,
            "key": payload.event.detail.object.key,
        },
    )
    return run.model_dump(mode="json")
