"""Errors the workflow steps raise on purpose.

The class name is what Step Functions sees as the error name of a failed Lambda task (``errorType``, also each
class's ``workflow_error``), so the names below are part of the workflow contract (docs/architecture.md) and must not
be renamed casually.
"""

from __future__ import annotations

from novaft.errors import NovaftError, UsageError


class SettingsInvalid(UsageError):
    """The function's environment is missing a setting or holds a value that cannot be used."""


class EventNotRecognized(NovaftError):
    """A step received an event or payload that does not have the shape the workflow contract promises."""


class DatasetInvalid(NovaftError):
    """The dataset failed validation; the message names the counts, the first errors and the report location."""


class JobSpecInvalid(NovaftError):
    """The run's job.yaml (or the deployed default job) is not a valid job spec."""


class SageMakerThrottled(NovaftError):
    """SageMaker refused the call for rate reasons; the workflow retries with backoff."""


class SageMakerCapacityError(NovaftError):
    """SageMaker has no capacity or the account quota is exhausted for the requested instances."""


class TrainingJobConflict(NovaftError):
    """A training job with the run's name exists but belongs to something else."""


class TrainingJobNotFound(NovaftError):
    """The training job named by the run does not exist."""


class RunNotFound(NovaftError):
    """No run record matches the given run id or execution ARN."""


class ManifestUnreadable(NovaftError):
    """The training job's output.tar.gz has no readable manifest.json with a checkpoint location."""


class BaseRunUnusable(NovaftError):
    """The job spec's ``base_run_id`` names no run of this stage, or one without a checkpoint to continue from."""


class EvaluationFailed(NovaftError):
    """An evaluation job ended without results (failed, stopped, or its archive holds no readable results)."""


class EvalDatasetInvalid(NovaftError):
    """The run's evaluation set (incoming/<run>/eval.jsonl) is missing where the job asks for gen_qa, or invalid."""
