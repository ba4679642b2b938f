"""ValidateDataset: stream the run's dataset through the validator, write the report, fail on invalid data."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.handlers.runtime import logger, metrics, now_iso, object_store, parse_payload, runs_table, settings, tracer
from novaft.pipeline.contracts import RunContext
from novaft.pipeline.errors import DatasetInvalid
from novaft.pipeline.job_spec_source import validation_options_for
from novaft.pipeline.steps.job_spec import load_run_job_spec
from novaft.pipeline.steps.validate import validate_run_dataset


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    run = parse_payload(RunContext, event)
    spec = load_run_job_spec(run, settings=settings(), objects=object_store())
    options = validation_options_for(spec, dataset_bucket=run.dataset.bucket, media_prefix=settings().incoming_prefix)
    try:
        outcome = validate_run_dataset(run, options=options, objects=object_store(), runs=runs_table(), now=now_iso())
    except DatasetInvalid:
        metrics.add_metric(name="DatasetsInvalid", unit=MetricUnit.Count, value=1)
        raise
    logger.info("dataset valid", extra={"run_id": run.run_id, "records": outcome.records})
    return outcome.model_dump(mode="json")
