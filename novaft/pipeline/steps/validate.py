"""ValidateDataset: stream the run's files from S3 through the validator and keep the report beside the run.

The input objects are only read (by version when the event named one), never written or deleted.
"""

from __future__ import annotations

from contextlib import ExitStack

from novaft.pipeline.contracts import RunContext, ValidationOutcome
from novaft.pipeline.errors import DatasetInvalid
from novaft.pipeline.facts import STATUS_DATASET_INVALID, STATUS_VALIDATING, VALIDATION_REPORT_FILE
from novaft.pipeline.steps.ports import ObjectStore, RunStore
from novaft.validation import ValidationOptions, ValidationReport, iter_byte_lines, validate_dataset

ERRORS_IN_MESSAGE = 5


def validate_run_dataset(
    run: RunContext, *, options: ValidationOptions, objects: ObjectStore, runs: RunStore, now: str
) -> ValidationOutcome:
    """The outcome for valid data; ``DatasetInvalid`` (after the report is written) otherwise."""
    runs.update(run.run_id, {"status": STATUS_VALIDATING, "updated_at": now})
    dataset = run.dataset
    with ExitStack() as streams:
        train_body = streams.enter_context(objects.open(dataset.bucket, dataset.train_key, dataset.version_id))
        validation_lines = None
        if dataset.validation_key:
            validation_body = streams.enter_context(objects.open(dataset.bucket, dataset.validation_key))
            validation_lines = iter_byte_lines(validation_body, max_line_bytes=options.max_line_bytes)
        report = validate_dataset(
            iter_byte_lines(train_body, max_line_bytes=options.max_line_bytes),
            options,
            validation_lines=validation_lines,
        )
    document = report.to_dict()
    report_uri = objects.put_json(run.artifacts_bucket, f"{run.artifacts_prefix}{VALIDATION_REPORT_FILE}", document)
    fields = {"report_s3_uri": report_uri, "records": report.records, "updated_at": now}
    if not report.valid:
        message = invalid_dataset_message(run, report, report_uri)
        runs.update(
            run.run_id,
            {
                **fields,
                "status": STATUS_DATASET_INVALID,
                "failure_error": DatasetInvalid.workflow_error,
                "failure_cause": message,
            },
        )
        raise DatasetInvalid(message)
    runs.update(run.run_id, fields)
    return ValidationOutcome(valid=True, records=report.records, report_s3_uri=report_uri, stats=document["stats"])


def invalid_dataset_message(run: RunContext, report: ValidationReport, report_uri: str) -> str:
    """Counts, the first errors with file, line and field, and where the full report is."""
    dataset = run.dataset
    files = dataset.train_key + (f" and {dataset.validation_key}" if dataset.validation_key else "")
    counts = ", ".join(f"{code} x{count}" for code, count in sorted(report.error_counts.items()))
    lines = [
        f"Dataset s3://{dataset.bucket}/{files} is not valid for {report.options.model} {report.options.method}: "
        f"{report.error_total} error(s) in {report.invalid_records} of {report.records} training record(s) ({counts}).",
    ]
    for issue in report.errors[:ERRORS_IN_MESSAGE]:
        where = f"{issue.file} line {issue.line}" + (f", field {issue.path}" if issue.path else "")
        lines.append(f"  - {where}: {issue.message}")
    if report.error_total > ERRORS_IN_MESSAGE:
        lines.append(f"  ... and {report.error_total - ERRORS_IN_MESSAGE} more")
    lines.append(f"Full report: {report_uri}")
    return "\n".join(lines)
