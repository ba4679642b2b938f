"""stop_run: an execution was aborted, timed out or failed; stop its training and evaluation jobs and record how the
run ended.

The stop rule fires on ABORTED, TIMED_OUT and FAILED executions; the run is recorded Stopped for the first two and
Failed for the last, unless the workflow recorded its outcome already (an execution aborted while its evaluation jobs
run has a Completed run: the jobs are stopped, the outcome kept).
"""

from __future__ import annotations

import orjson

from novaft.pipeline.contracts import (
    DatasetLocation,
    ExecutionStatusChangeEvent,
    PinnedObject,
    RunContext,
    StopRunResult,
)
from novaft.pipeline.errors import RunNotFound
from novaft.pipeline.facts import (
    EVALUATION_JOBS_FIELD,
    EVALUATION_PLANNED,
    EVALUATION_ROUND_FIELD,
    EVALUATION_STATUS_FIELD,
    EVALUATION_STOPPED,
    EXECUTION_FAILED,
    FINAL_RUN_STATUSES,
    STATUS_FAILED,
    STATUS_STOPPED,
)
from novaft.pipeline.records import console_links, notification_for
from novaft.pipeline.settings import Settings
from novaft.pipeline.steps.job_slots import JobSlotStore, release_slot
from novaft.pipeline.steps.ports import Notifier, RunStore, TrainingJobs

# Step Functions accepts an execution input of at most 256 KiB; a longer one is not a document `novaft evaluate` wrote.
MAX_EXECUTION_INPUT_CHARS = 256 * 1024


def stop_run(
    event: ExecutionStatusChangeEvent,
    *,
    settings: Settings,
    runs: RunStore,
    jobs: TrainingJobs,
    notifier: Notifier,
    now: str,
    slots: JobSlotStore | None = None,
) -> StopRunResult:
    """Nothing to do (``run_found`` false) when the execution never registered a run, e.g. an ignored file.

    With ``slots`` the run's training slot (or its place in the queue) is given back, whatever the run's status: an
    aborted execution never reaches the workflow's own release (docs/policy.md, "Queue")."""
    execution_arn = event.detail.execution_arn
    try:
        item = runs.find_by_execution_arn(execution_arn)
    except RunNotFound:
        return _stop_later_evaluation(event, runs=runs, jobs=jobs, now=now)
    run_id = str(item["run_id"])
    recorded_status = str(item.get("status", ""))
    job_name = str(item.get("training_job_name") or "")
    # Only a run that reached StartTraining can have a job; before that the name is merely reserved.
    # Whatever the run's record says, no training job may outlive its run.
    stopped = bool(job_name and item.get("training_job_arn")) and jobs.stop_if_running(job_name)
    evaluations_stopped = _stop_evaluation_round(item, event, runs=runs, jobs=jobs, now=now)
    if slots is not None:
        release_slot(run_id, slots=slots)
    if recorded_status in FINAL_RUN_STATUSES:
        # The outcome was recorded before the execution ended (aborted during NotifyResult, or a failure the workflow
        # recorded itself): keep it, and tell nobody it was stopped.
        return StopRunResult(
            run_found=True,
            run_id=run_id,
            training_job_stopped=stopped,
            evaluation_jobs_stopped=evaluations_stopped,
            status=recorded_status,
        )
    reason = f"The workflow execution ended with status {event.detail.status}"
    if event.detail.cause or event.detail.error:
        reason += f" ({event.detail.error or ''}: {event.detail.cause or ''})".replace("(: ", "(")
    # A stopped or timed-out execution is a stopped run; one that failed outside the workflow's catches failed.
    status = STATUS_FAILED if event.detail.status == EXECUTION_FAILED else STATUS_STOPPED
    runs.update(
        run_id,
        {
            "status": status,
            "updated_at": now,
            "failure_error": f"Execution{event.detail.status.title().replace('_', '')}",
        },
    )
    run = _run_from_item(item, settings)
    links = console_links(settings.region, training_job_name=job_name or None, execution_arn=execution_arn)
    notification = notification_for(
        run=run,
        stage=settings.stage,
        status=status,
        headline=reason + (". Its training job was asked to stop." if stopped else "."),
        details={
            "Training job": job_name or None,
            "Evaluation jobs stopped": ", ".join(evaluations_stopped) or None,
            "Artifacts": f"s3://{run.artifacts_bucket}/{run.artifacts_prefix}",
        },
        links=links,
    )
    notifier.publish(notification.subject, notification.message)
    return StopRunResult(
        run_found=True,
        run_id=run_id,
        training_job_stopped=stopped,
        evaluation_jobs_stopped=evaluations_stopped,
        status=status,
    )


def _stop_later_evaluation(
    event: ExecutionStatusChangeEvent, *, runs: RunStore, jobs: TrainingJobs, now: str
) -> StopRunResult:
    """An execution ``novaft evaluate`` started has no run of its own: its input names the run it evaluates. Its
    round's evaluation jobs are stopped and the evaluation is recorded Stopped; the run's own outcome is kept and
    nobody is notified (whoever aborted it knows; a failure inside the round is recorded and notified by the
    workflow). Anything else is not a run of this pipeline."""
    run_id = later_evaluation_run_id(event.detail.input)
    item = runs.find(run_id) if run_id else None
    if item is None or not event.detail.name:
        return StopRunResult(run_found=False)
    stopped = _stop_evaluation_round(item, event, runs=runs, jobs=jobs, now=now)
    status = str(item.get("status", ""))
    return StopRunResult(run_found=True, run_id=str(item["run_id"]), evaluation_jobs_stopped=stopped, status=status)


def later_evaluation_run_id(execution_input: str | None) -> str | None:
    """The run a ``novaft evaluate`` execution evaluates, from the execution input (``evaluate_later.run.run_id``);
    None for any other input, including one too large or too deep to be that document."""
    if not execution_input or len(execution_input) > MAX_EXECUTION_INPUT_CHARS:
        return None
    try:
        document = orjson.loads(execution_input)
    except orjson.JSONDecodeError:
        return None
    later = document.get("evaluate_later") if isinstance(document, dict) else None
    run = later.get("run") if isinstance(later, dict) else None
    run_id = run.get("run_id") if isinstance(run, dict) else None
    return run_id if isinstance(run_id, str) and run_id else None


def _stop_evaluation_round(
    item: dict[str, object], event: ExecutionStatusChangeEvent, *, runs: RunStore, jobs: TrainingJobs, now: str
) -> list[str]:
    """Stop every evaluation job PlanEvaluation recorded for the ended execution's round that is still running, and
    record an evaluation that was still under way as Stopped; the names of the jobs asked to stop.

    The jobs of another execution's round (a later ``novaft evaluate``) are that execution's to stop. A job never
    started, already stopping or finished is left alone, so a second delivery of the event stops nothing.
    """
    recorded_round = item.get(EVALUATION_ROUND_FIELD)
    if recorded_round is not None and event.detail.name is not None and recorded_round != event.detail.name:
        return []
    names = item.get(EVALUATION_JOBS_FIELD)
    if not isinstance(names, list):
        return []
    stopped = [str(name) for name in names if name and jobs.stop_if_running(str(name))]
    if item.get(EVALUATION_STATUS_FIELD) == EVALUATION_PLANNED:
        runs.update(str(item["run_id"]), {EVALUATION_STATUS_FIELD: EVALUATION_STOPPED, "updated_at": now})
    return stopped


def _run_from_item(item: dict[str, object], settings: Settings) -> RunContext:
    raw_dataset = item.get("dataset")
    dataset = raw_dataset if isinstance(raw_dataset, dict) else {}
    run_id = str(item["run_id"])
    train = dataset.get("train")
    # Records written before inputs were pinned keep the training key as "train_key".
    train_key = train.get("key") if isinstance(train, dict) else dataset.get("train_key")
    return RunContext(
        run_id=run_id,
        run_name=str(item.get("run_name") or run_id),
        dataset=DatasetLocation(bucket=str(dataset.get("bucket", "")), train=PinnedObject(key=str(train_key or ""))),
        artifacts_bucket=settings.artifacts_bucket,
        artifacts_prefix=settings.run_prefix(run_id),
        training_job_name=str(item.get("training_job_name") or ""),
    )
