"""stop_run: an execution was aborted, timed out or failed; stop its training job, record the run, notify."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lambdas.handlers.runtime import (
    instrumented,
    logger,
    notifier,
    now_iso,
    parse_payload,
    runs_table,
    settings,
    training_jobs,
)
from novaft.pipeline.contracts import ExecutionStatusChangeEvent
from novaft.pipeline.steps.stop import stop_run

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@instrumented
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = parse_payload(ExecutionStatusChangeEvent, event)
    result = stop_run(
        payload, settings=settings(), runs=runs_table(), jobs=training_jobs(), notifier=notifier(), now=now_iso()
    )
    logger.info("execution stop handled", extra=result.model_dump())
    return result.model_dump(mode="json")
