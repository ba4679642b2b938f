"""Deterministic SageMaker training-job names derived from a run's identity."""

from __future__ import annotations

import hashlib
import re

from novaft.errors import UsageError

# CreateTrainingJob: at most 63 characters matching ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$ (no underscores or dots).
MAX_JOB_NAME = 63
JOB_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
PREFIX = "novaft"
_HASH_CHARS = 10


def training_job_name(run_id: str) -> str:
    """``novaft-<run id>`` with disallowed characters turned into dashes.

    The same run id always gives the same name, so a retried StartTraining finds the job it already started. When
    the run id had to be changed (characters replaced, or cut to fit 63 characters) a short hash of the original is
    appended, so two different run ids never collapse into one name.
    """
    if not run_id or not run_id.strip():
        raise UsageError("run id: empty (allowed: a non-empty run id)")
    cleaned = re.sub(r"[^a-zA-Z0-9]+", "-", run_id).strip("-")
    name = f"{PREFIX}-{cleaned}" if cleaned else PREFIX
    if cleaned == run_id and len(name) <= MAX_JOB_NAME:
        return name
    digest = hashlib.sha256(run_id.encode("utf-8")).hexdigest()[:_HASH_CHARS]
    head = name[: MAX_JOB_NAME - _HASH_CHARS - 1].rstrip("-")
    return f"{head}-{digest}"
