"""StartTraining: create the SageMaker training job for the run (idempotent for the same run)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lambdas.handlers.runtime import count, instrumented, logger, now_iso, parse_payload, runs_table, training_jobs
from novaft.pipeline.contracts import StartTrainingInput
from novaft.pipeline.facts import METRIC_RUNS_STARTED
from novaft.pipeline.steps.start import start_training

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@instrumented
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = parse_payload(StartTrainingInput, event)
    started = start_training(payload, jobs=training_jobs(), runs=runs_table(), now=now_iso())
    if not started.already_started:
        count(METRIC_RUNS_STARTED)
    logger.info("training started", extra=started.model_dump())
    return started.model_dump(mode="json")
