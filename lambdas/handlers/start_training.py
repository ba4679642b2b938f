"""StartTraining: create the SageMaker training job for the run (idempotent for the same run)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.handlers.runtime import logger, metrics, now_iso, parse_payload, runs_table, tracer, training_jobs
from novaft.pipeline.contracts import StartTrainingInput
from novaft.pipeline.steps.start import start_training


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = parse_payload(StartTrainingInput, event)
    started = start_training(payload, jobs=training_jobs(), runs=runs_table(), now=now_iso())
    if not started.already_started:
        metrics.add_metric(name="RunsStarted", unit=MetricUnit.Count, value=1)
    logger.info("training started", extra=started.model_dump())
    return started.model_dump(mode="json")
