"""stop_run: an execution was aborted or timed out; stop its training job, record Stopped, notify."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.handlers.runtime import (
    logger,
    metrics,
    notifier,
    now_iso,
    parse_payload,
    runs_table,
    settings,
    tracer,
    training_jobs,
)
from novaft.pipeline.contracts import ExecutionStatusChangeEvent
from novaft.pipeline.steps.stop import stop_run


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = parse_payload(ExecutionStatusChangeEvent, event)
    result = stop_run(
        payload, settings=settings(), runs=runs_table(), jobs=training_jobs(), notifier=notifier(), now=now_iso()
    )
    logger.info("execution stop handled", extra=result.model_dump())
    return result.model_dump(mode="json")
