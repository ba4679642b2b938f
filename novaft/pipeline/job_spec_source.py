"""Which job spec a run uses, and the validator options that follow from it.

A run uses ``job.yaml`` from beside its ``train.jsonl`` when there is one, else the stack's default job profile
(``NOVAFT_DEFAULT_JOB``). Both must pass the same checks; problems surface as ``JobSpecInvalid`` with the recipes
package's message (every field, the value given and what is allowed). ``job.yaml`` is read from the bucket through
``read_job_yaml_object``, which stops one byte past the size limit, whatever the object's size.
"""

from __future__ import annotations

from typing import Any, BinaryIO, Protocol

from novaft.errors import UsageError
from novaft.pipeline.errors import JobSpecInvalid
from novaft.recipes import JobSpec, JobSpecError, load_catalog
from novaft.recipes.job_spec import job_yaml_mapping, read_job_yaml
from novaft.recipes.yaml_io import get_path
from novaft.validation import ValidationOptions

DEFAULT_JOB_SOURCE = "default job profile (NOVAFT_DEFAULT_JOB)"


class ObjectOpener(Protocol):
    """The part of the steps' object store this module reads with."""

    def open(self, bucket: str, key: str, version_id: str | None = None) -> BinaryIO: ...


def read_job_yaml_object(objects: ObjectOpener, bucket: str, key: str, version_id: str | None = None) -> bytes:
    """The object's (version's) first ``MAX_JOB_YAML_BYTES`` + 1 bytes (``job_spec_from`` refuses anything longer)."""
    stream = objects.open(bucket, key, version_id)
    try:
        return read_job_yaml(stream)
    finally:
        stream.close()


def job_spec_from(
    job_yaml: str | bytes | None,
    *,
    source: str,
    default_job: dict[str, Any] | None,
    default_evaluation: dict[str, Any] | None = None,
) -> JobSpec:
    """Parse the run's ``job.yaml`` (text, or bytes from ``read_job_yaml_object``; ``source`` names it) or, when there
    is none, the default profile. A spec without ``evaluation`` gets the stage's ``default_evaluation``."""
    try:
        if job_yaml is not None:
            mapping = job_yaml_mapping(job_yaml, source=source)
        elif default_job is None:
            raise JobSpecInvalid(
                f"no job.yaml beside the training file and no default job profile is deployed ({source})"
            )
        else:
            mapping, source = dict(default_job), DEFAULT_JOB_SOURCE
        if default_evaluation is not None and "evaluation" not in mapping:
            mapping["evaluation"] = default_evaluation
        return JobSpec.model_validate(mapping, context={"source": source})
    except JobSpecError as error:
        raise JobSpecInvalid(str(error)) from None


def max_length_for(spec: JobSpec) -> int:
    """The recipe's ``max_length`` the job will train with: the spec's override, else the official default."""
    if spec.hyperparameters.max_length is not None:
        return spec.hyperparameters.max_length
    catalog = load_catalog()
    variant = spec.resolve(catalog).variant
    path = catalog.tunable_keys(variant).get("max_length")
    value = get_path(catalog.template_values(variant), path) if path else None
    if not isinstance(value, int):
        raise JobSpecInvalid(f"recipe {variant.id} has no integer max_length (found {value!r})")
    return value


def validation_options_for(
    spec: JobSpec, *, dataset_bucket: str | None, media_prefix: str | None = None
) -> ValidationOptions:
    """Validator options matching what the job will train: same model, method and token limit; media where the
    training job can read it (the dataset's bucket, under ``media_prefix``)."""
    try:
        return ValidationOptions(
            model=spec.model,
            method=spec.method,
            max_length=max_length_for(spec),
            dataset_bucket=dataset_bucket,
            media_prefix=media_prefix,
        )
    except UsageError as error:
        if isinstance(error, JobSpecInvalid):
            raise
        raise JobSpecInvalid(f"job spec cannot be validated against: {error}") from None
