"""Errors the workflow steps raise on purpose.

The class name is what Step Functions sees as the error name of a failed Lambda task (``errorType``, also each
class's ``workflow_error``), so the names below are part of the workflow contract (docs/architecture.md) and must not
be renamed casually.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from novaft.errors import NovaftError, UsageError


class PolicyFindingLike(Protocol):
    """What the workflow keeps of one broken policy rule (``novaft.policy.PolicyFinding``)."""

    @property
    def rule(self) -> str: ...
    @property
    def value(self) -> str: ...
    @property
    def limit(self) -> str: ...
    @property
    def message(self) -> str: ...
    def describe(self) -> str: ...


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


class PolicyViolation(NovaftError):
    """The stage policy (``novaft.policy``) refuses the run; lists every rule it breaks."""

    def __init__(self, findings: Sequence[PolicyFindingLike]) -> None:
        self.findings = tuple(findings)
        count = len(self.findings)
        lines = "\n".join(f"  - {finding.describe()}" for finding in self.findings)
        super().__init__(f"the stage policy refuses this run ({count} problem{'s' if count != 1 else ''}):\n{lines}")


class ApprovalRequired(NovaftError):
    """The run needs someone's approval and the stage runs without the approval gate (``NOVAFT_APPROVAL_GATE`` off):
    such a run is refused (recorded and notified) rather than started silently."""

    def __init__(self, reasons: Sequence[str]) -> None:
        self.reasons = tuple(reasons)
        lines = "\n".join(f"  - {reason}" for reason in self.reasons)
        super().__init__(
            f"the stage policy allows this run only with approval, and this stage has no approval gate:\n{lines}"
        )
