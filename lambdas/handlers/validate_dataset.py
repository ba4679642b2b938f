"""ValidateDataset: stream the run's dataset through the validator, write the report, fail on invalid data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lambdas.handlers.runtime import (
    count,
    instrumented,
    logger,
    now_iso,
    object_store,
    parse_payload,
    runs_table,
    settings,
)
from novaft.pipeline.contracts import RunContext
from novaft.pipeline.errors import DatasetInvalid
from novaft.pipeline.facts import METRIC_DATASETS_INVALID
from novaft.pipeline.job_spec_source import validation_options_for
from novaft.pipeline.steps.job_spec import load_run_job_spec
from novaft.pipeline.steps.validate import validate_run_dataset

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@instrumented
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    run = parse_payload(RunContext, event)
    spec = load_run_job_spec(run, settings=settings(), objects=object_store())
    options = validation_options_for(spec, dataset_bucket=run.dataset.bucket, media_prefix=settings().incoming_prefix)
    try:
        outcome = validate_run_dataset(run, options=options, objects=object_store(), runs=runs_table(), now=now_iso())
    except DatasetInvalid:
        count(METRIC_DATASETS_INVALID)
        raise
    logger.info("dataset valid", extra={"run_id": run.run_id, "records": outcome.records})
    return outcome.model_dump(mode="json")
