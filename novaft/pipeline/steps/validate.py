"""ValidateDataset: parse the run's job spec, stream its pinned input versions through the validator, keep the
report beside the run and, for valid data, snapshot exactly the validated versions into the run's folder.

The input objects are only read (by the version RegisterRun pinned), never written or deleted. The snapshot under
``runs/<run_id>/input/`` is what the training job reads, so a later overwrite or delete in ``incoming/`` cannot
change what trains.
"""

from __future__ import annotations

from contextlib import ExitStack

from novaft.pipeline.contracts import PinnedObject, RunContext, RunInputs, ValidationOutcome
from novaft.pipeline.errors import DatasetInvalid
from novaft.pipeline.facts import (
    EVAL_DATA_FILES,
    JOB_FILE,
    SNAPSHOT_DIR,
    SNAPSHOT_JOB_SPEC_FILE,
    STATUS_DATASET_INVALID,
    STATUS_VALIDATING,
    TRAIN_FILE,
    VALIDATION_FILE,
    VALIDATION_REPORT_FILE,
)
from novaft.pipeline.job_spec_source import validation_options_for
from novaft.pipeline.settings import Settings
from novaft.pipeline.steps.evaluation import check_evaluation_set
from novaft.pipeline.steps.job_spec import job_spec_document, load_run_job_spec
from novaft.pipeline.steps.ports import ObjectStore, RunStore
from novaft.recipes import JobSpec
from novaft.validation import ValidationOptions, ValidationReport, iter_byte_lines, validate_dataset

ERRORS_IN_MESSAGE = 5


def validate_run_dataset(
    run: RunContext, *, settings: Settings, objects: ObjectStore, runs: RunStore, now: str
) -> ValidationOutcome:
    """The outcome for valid data; ``DatasetInvalid`` (after the report is written) or ``JobSpecInvalid`` otherwise."""
    runs.update(run.run_id, {"status": STATUS_VALIDATING, "updated_at": now})
    spec = load_run_job_spec(run, settings=settings, objects=objects)
    options = validation_options_for(spec, dataset_bucket=run.dataset.bucket, media_prefix=settings.incoming_prefix)
    report = _validate_pinned(run, options, objects)
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
    check_evaluation_set(run, spec, objects=objects, runs=runs, now=now)
    inputs = snapshot_inputs(run, spec, settings=settings, objects=objects)
    runs.update(run.run_id, {**fields, "inputs": inputs.model_dump(exclude_none=True)})
    return ValidationOutcome(
        valid=True,
        records=report.records,
        report_s3_uri=report_uri,
        stats=document["stats"],
        inputs=inputs,
        job_spec=job_spec_document(spec),
    )


def _validate_pinned(run: RunContext, options: ValidationOptions, objects: ObjectStore) -> ValidationReport:
    dataset = run.dataset
    with ExitStack() as streams:
        train_body = streams.enter_context(objects.open(dataset.bucket, dataset.train.key, dataset.train.version_id))
        validation_lines = None
        if dataset.validation:
            validation_body = streams.enter_context(
                objects.open(dataset.bucket, dataset.validation.key, dataset.validation.version_id)
            )
            validation_lines = iter_byte_lines(validation_body, max_line_bytes=options.max_line_bytes)
        return validate_dataset(
            iter_byte_lines(train_body, max_line_bytes=options.max_line_bytes),
            options,
            validation_lines=validation_lines,
        )


def snapshot_inputs(run: RunContext, spec: JobSpec, *, settings: Settings, objects: ObjectStore) -> RunInputs:
    """Server-side copies of the validated versions, and the parsed spec, under ``runs/<run_id>/input/``."""
    folder = f"{run.artifacts_prefix}{SNAPSHOT_DIR}/"
    dataset = run.dataset

    def copy(pinned: PinnedObject, file_name: str) -> str:
        return objects.copy_version(
            dataset.bucket, pinned, run.artifacts_bucket, f"{folder}{file_name}", kms_key_arn=settings.kms_key_arn
        )

    return RunInputs(
        train_s3_uri=copy(dataset.train, TRAIN_FILE),
        validation_s3_uri=copy(dataset.validation, VALIDATION_FILE) if dataset.validation else None,
        job_yaml_s3_uri=copy(dataset.job, JOB_FILE) if dataset.job else None,
        job_spec_s3_uri=objects.put_json(
            run.artifacts_bucket, f"{folder}{SNAPSHOT_JOB_SPEC_FILE}", job_spec_document(spec)
        ),
        # Named as the evaluation container reads it from its data channel.
        eval_s3_uri=copy(dataset.eval_set, EVAL_DATA_FILES["gen_qa"]) if dataset.eval_set else None,
    )


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
