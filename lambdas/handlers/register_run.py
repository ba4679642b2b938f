"""RegisterRun: turn the S3 event into a run, or mark it ignored or a duplicate delivery."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lambdas.handlers.runtime import instrumented, logger, now_iso, object_store, parse_payload, runs_table, settings
from novaft.pipeline.contracts import RegisterRunInput
from novaft.pipeline.steps.register import register_run

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@instrumented
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = parse_payload(RegisterRunInput, event)
    run = register_run(payload, settings=settings(), objects=object_store(), runs=runs_table(), now=now_iso())
    logger.info(
        "run registered",
        extra={
            "run_id": run.run_id,
            "ignored": run.ignored,
            "duplicate": run.duplicate,
            "key": payload.event.detail.object.key,
        },
    )
    return run.model_dump(mode="json")
