"""Load the run's job spec: ``job.yaml`` from the dataset bucket (the version present now) or the default."""

from __future__ import annotations

from novaft.pipeline.contracts import RunContext
from novaft.pipeline.job_spec_source import job_spec_from, read_job_yaml_object
from novaft.pipeline.settings import Settings
from novaft.pipeline.steps.ports import ObjectStore
from novaft.recipes import JobSpec


def load_run_job_spec(run: RunContext, *, settings: Settings, objects: ObjectStore) -> JobSpec:
    job_key = run.dataset.job_key
    if job_key is None:
        return job_spec_from(None, source="default job profile", default_job=settings.default_job)
    source = f"s3://{run.dataset.bucket}/{job_key}"
    raw = read_job_yaml_object(objects, run.dataset.bucket, job_key)
    return job_spec_from(raw, source=source, default_job=settings.default_job)
