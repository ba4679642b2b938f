"""The run's job spec: its pinned ``job.yaml`` version, or the deployed default; parsed once, by ValidateDataset.

ValidateDataset parses it because it needs the model, method and token limit before it reads a line, and because a
bad job.yaml then fails a registered run (recorded and notified through RecordFailure) rather than RegisterRun,
whose failures have no run to record. Later steps get the normalized spec from the workflow state
(``JobSpec`` round-trips through ``job_spec_document``/``job_spec_from_document``).
"""

from __future__ import annotations

from typing import Any

from novaft.pipeline.contracts import RunContext
from novaft.pipeline.errors import JobSpecInvalid
from novaft.pipeline.job_spec_source import job_spec_from, read_job_yaml_object
from novaft.pipeline.settings import Settings
from novaft.pipeline.steps.ports import ObjectStore
from novaft.recipes import JobSpec, JobSpecError

CARRIED_SPEC_SOURCE = "the run's job spec (validated by ValidateDataset)"


def load_run_job_spec(run: RunContext, *, settings: Settings, objects: ObjectStore) -> JobSpec:
    job = run.dataset.job
    defaults = {"default_job": settings.default_job, "default_evaluation": settings.default_evaluation}
    if job is None:
        return job_spec_from(None, source="default job profile", **defaults)
    source = f"s3://{run.dataset.bucket}/{job.key}"
    raw = read_job_yaml_object(objects, run.dataset.bucket, job.key, job.version_id)
    return job_spec_from(raw, source=source, **defaults)


def job_spec_document(spec: JobSpec) -> dict[str, Any]:
    """The normalized spec: every field, defaults included, as JSON values."""
    return spec.model_dump(mode="json")


def job_spec_from_document(document: dict[str, Any]) -> JobSpec:
    try:
        return JobSpec.model_validate(document, context={"source": CARRIED_SPEC_SOURCE})
    except JobSpecError as error:
        raise JobSpecInvalid(str(error)) from None
