"""StartTraining: create the training job once; a retry or re-run of the same run finds it already started.

Before anything is created the request is checked against the stage policy once more (defence in depth: RenderRecipe
built it from an allowed run, but the workflow input it arrives in is data).
"""

from __future__ import annotations

from typing import Any

from novaft.pipeline.contracts import StartTrainingInput, TrainingStarted
from novaft.pipeline.errors import SageMakerCapacityError, TrainingJobConflict
from novaft.pipeline.facts import RUN_ID_TAG, STATUS_QUEUED, STATUS_TRAINING
from novaft.pipeline.records import MAX_CAUSE_CHARS
from novaft.pipeline.settings import Settings
from novaft.pipeline.steps.policy_gate import refuse_request_outside_policy
from novaft.pipeline.steps.ports import JobNameTaken, RunStore, TrainingJobs


def start_training(
    payload: StartTrainingInput, *, settings: Settings, jobs: TrainingJobs, runs: RunStore, now: str
) -> TrainingStarted:
    refuse_request_outside_policy(payload.request, settings=settings, run=payload.run, runs=runs, now=now)
    job_name = str(payload.request.get("TrainingJobName") or payload.run.training_job_name)
    already_started = False
    try:
        job_arn = jobs.create(payload.request)
    except SageMakerCapacityError as error:
        # The workflow retries with backoff (the account's quota or SageMaker's capacity may free up); meanwhile the
        # run shows as Queued, with why (docs/policy.md, "Queue").
        runs.update(
            payload.run.run_id,
            {"status": STATUS_QUEUED, "queue_reason": str(error)[:MAX_CAUSE_CHARS], "updated_at": now},
        )
        raise
    except JobNameTaken:
        existing = jobs.describe(job_name)
        job_arn = str(existing.get("TrainingJobArn", ""))
        _require_same_run(payload, existing, jobs.tags(job_arn) if job_arn else {})
        already_started = True
    runs.update(
        payload.run.run_id,
        {"status": STATUS_TRAINING, "training_job_name": job_name, "training_job_arn": job_arn, "updated_at": now},
    )
    return TrainingStarted(training_job_name=job_name, training_job_arn=job_arn, already_started=already_started)


def _train_uri(channels: Any) -> str | None:
    for channel in channels or []:
        if channel.get("ChannelName") == "train":
            return str(channel.get("DataSource", {}).get("S3DataSource", {}).get("S3Uri"))
    return None


def _require_same_run(payload: StartTrainingInput, existing: dict[str, Any], tags: dict[str, str]) -> None:
    """The job is ours when its run-id tag, or failing tags its train channel, matches this run."""
    run_id = payload.run.run_id
    if tags.get(RUN_ID_TAG) == run_id:
        return
    wanted_uri = _train_uri(payload.request.get("InputDataConfig"))
    if RUN_ID_TAG not in tags and wanted_uri and _train_uri(existing.get("InputDataConfig")) == wanted_uri:
        return
    raise TrainingJobConflict(
        f"training job {existing.get('TrainingJobName')} already exists but does not belong to run {run_id} "
        f"(its {RUN_ID_TAG} tag is {tags.get(RUN_ID_TAG)!r}); delete nothing, re-upload the dataset to start a new run"
    )
