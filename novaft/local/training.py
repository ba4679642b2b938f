"""Simulated SageMaker training jobs: no model is trained, ever.

A job created on the emulated AWS is ``InProgress`` for a configurable number of seconds, then ends with the outcome
chosen for it: ``Completed`` (with the output manifest a Nova job writes), ``Failed`` (with a reason) or ``Stopped``.
``StopTrainingJob`` moves a running job to ``Stopping`` and then ``Stopped``. Outcomes are chosen per job by a
substring of the job name, so a test names its dataset and gets the outcome it wants. A finished job bills the time
it ran in the simulation (``TrainingTimeInSeconds`` and ``BillableTimeInSeconds``, whole seconds rounded up).

Like a Nova job, a simulated job logs ``global_step`` / ``reduced_train_loss`` lines to its CloudWatch log stream
while it runs (``SIMULATED_STEPS`` steps spread over its duration), and a completed one leaves
``step_wise_training_metrics.csv`` beside ``manifest.json`` in its output archive. The loss values are made up.

An evaluation job (the Nova evaluation image) leaves instead what the evaluation container writes:
``<job>/eval_results/results_<timestamp>.json`` with the task's official metric names (gen_qa: rouge1, rouge2, rougeL,
em, qem, f1, bleu with their ``_stderr``; benchmarks their recipe metric), made-up values that are higher for the
fine-tuned checkpoint than for the base model. The task and side come from the job's ``novaft:eval-*`` tags.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import tarfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from novaft.local.bedrock import BedrockSimulator
from novaft.pipeline.facts import (
    EVAL_SIDE_BASE,
    EVAL_SIDE_TAG,
    EVAL_TASK_TAG,
    EVALUATION_IMAGE_REPOSITORY,
    RUNNING_TRAINING_STATUSES,
    STATUS_COMPLETED,
    STATUS_FAILED,
    STATUS_STOPPED,
    TRAINING_JOB_IN_PROGRESS,
    TRAINING_JOB_STOPPING,
    TRAINING_LOG_GROUP,
    TRAINING_METRICS_ARCHIVE_FILE,
)
from novaft.pipeline.manifest import output_archive_key

TrainingOutcomeStatus = Literal["Completed", "Failed", "Stopped"]
SIMULATED_NOTICE = "training is SIMULATED on the local emulated AWS: no model is trained and no instance is started"
SIMULATED_STEPS = 20
# write_log(group, stream, messages): appends log events (the emulator's CloudWatch Logs).
LogWriter = Callable[[str, str, list[str]], None]


def simulated_loss(step: int) -> float:
    """A made-up loss curve that falls and levels off, the same for every job."""
    return round(0.35 + 2.0 * math.exp(-4.0 * step / SIMULATED_STEPS), 4)


def log_stream_name(job_name: str) -> str:
    """SageMaker's stream name for the first instance: ``<job>/algo-1-<epoch seconds>``."""
    return f"{job_name}/algo-1-1700000000"


def step_log_line(step: int) -> str:
    return f"[NeMo I] Epoch 0: global_step: {step} reduced_train_loss: {simulated_loss(step)} lr: 1e-05"


@dataclass(frozen=True)
class TrainingOutcome:
    """How a simulated job ends, and after how long (the time it is billed for, unless it is stopped earlier)."""

    status: TrainingOutcomeStatus = "Completed"
    failure_reason: str = ""
    duration_seconds: float = 1.0


@dataclass
class SimulatedJob:
    name: str
    outcome: TrainingOutcome
    started_at: float
    stop_requested_at: float | None = None
    finished: bool = False
    steps_logged: int = 0


@dataclass
class TrainingSimulator:
    """Chooses each new job's outcome and moves jobs forward in time when they are described."""

    default: TrainingOutcome = field(default_factory=TrainingOutcome)
    by_job_name: dict[str, TrainingOutcome] = field(default_factory=dict)
    # Outcomes of evaluation jobs only (their names extend the training job's), by a substring of the job name.
    evaluations_by_job_name: dict[str, TrainingOutcome] = field(default_factory=dict)
    stop_delay_seconds: float = 0.0
    # Simulated jobs take seconds: a workflow Wait longer than this is cut short (None keeps Wait states exact).
    max_wait_state_seconds: float | None = None
    jobs: dict[str, SimulatedJob] = field(default_factory=dict)
    # CreateTrainingJob calls still to refuse with ResourceLimitExceeded, by a substring of the job name.
    quota_refusals: dict[str, int] = field(default_factory=dict)
    # Imports, deployments and Converse of the models these jobs "train" (novaft.local.bedrock).
    bedrock: BedrockSimulator = field(default_factory=BedrockSimulator)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def for_local_runs(cls, training_seconds: float, max_wait_state_seconds: float) -> TrainingSimulator:
        """Jobs that succeed after ``training_seconds``, and workflow Waits cut to ``max_wait_state_seconds``."""
        return cls(
            default=TrainingOutcome(duration_seconds=training_seconds), max_wait_state_seconds=max_wait_state_seconds
        )

    def outcome_for(self, job_name: str) -> TrainingOutcome:
        """The first configured outcome whose key occurs in the job name, else the default."""
        for fragment, outcome in self.by_job_name.items():
            if fragment in job_name:
                return outcome
        return self.default

    def set_outcome(self, job_name_fragment: str, outcome: TrainingOutcome) -> None:
        self.by_job_name[job_name_fragment] = outcome

    def refuse_for_quota(self, job_name_fragment: str, times: int) -> None:
        """The next ``times`` CreateTrainingJob calls for names containing the fragment fail as SageMaker's
        ``ResourceLimitExceeded`` does when the account's instance quota is used up."""
        with self._lock:
            self.quota_refusals[job_name_fragment] = times

    def take_quota_refusal(self, job_name: str) -> bool:
        """True (and one refusal fewer) when this create is to be refused for quota."""
        with self._lock:
            for fragment, left in self.quota_refusals.items():
                if fragment in job_name and left > 0:
                    self.quota_refusals[fragment] = left - 1
                    return True
        return False

    def job_created(self, job: Any) -> None:
        """Called right after the emulator created ``job`` (a moto training job): start it as InProgress."""
        outcome = self.outcome_for(job.training_job_name)
        if is_evaluation_job(job):
            found = (o for fragment, o in self.evaluations_by_job_name.items() if fragment in job.training_job_name)
            outcome = next(found, TrainingOutcome(duration_seconds=outcome.duration_seconds))
        with self._lock:
            self.jobs[job.training_job_name] = SimulatedJob(
                name=job.training_job_name, outcome=outcome, started_at=time.monotonic()
            )
        job.training_job_status = TRAINING_JOB_IN_PROGRESS
        job.secondary_status = "Starting"
        job.training_end_time = None
        job.final_metric_data_list = []
        job.secondary_status_transitions = [
            {"Status": "Starting", "StartTime": job.creation_time, "StatusMessage": SIMULATED_NOTICE}
        ]

    def stop_requested(self, job: Any) -> None:
        """StopTrainingJob on a running job: Stopping now, Stopped after ``stop_delay_seconds``."""
        simulated = self.jobs.get(job.training_job_name)
        if simulated is None or simulated.finished or job.training_job_status not in RUNNING_TRAINING_STATUSES:
            return
        simulated.stop_requested_at = simulated.stop_requested_at or time.monotonic()
        job.training_job_status = TRAINING_JOB_STOPPING
        job.secondary_status = "Stopping"
        self.advance(job, write_object=lambda *_: None)

    def advance(self, job: Any, write_object: Any, write_log: LogWriter | None = None) -> None:
        """Bring ``job`` up to date with the clock; ``write_object(bucket, key, body)`` writes its outputs and
        ``write_log`` its log lines."""
        with self._lock:
            simulated = self.jobs.get(job.training_job_name)
            if simulated is None or simulated.finished:
                return
            now = time.monotonic()
            if write_log is not None:
                self._log_steps(simulated, now, write_log)
            if simulated.stop_requested_at is not None:
                if now - simulated.stop_requested_at >= self.stop_delay_seconds:
                    self._finish(job, simulated, STATUS_STOPPED, "", write_object)
                return
            if now - simulated.started_at < simulated.outcome.duration_seconds:
                job.secondary_status = "Training"
                return
            self._finish(job, simulated, simulated.outcome.status, simulated.outcome.failure_reason, write_object)

    def _log_steps(self, simulated: SimulatedJob, now: float, write_log: LogWriter) -> None:
        """Log the steps the job has reached by ``now`` (all of them once a completed job's time is up)."""
        ran = min(now, simulated.stop_requested_at or now) - simulated.started_at
        fraction = min(1.0, ran / simulated.outcome.duration_seconds) if simulated.outcome.duration_seconds else 1.0
        if simulated.outcome.status != STATUS_COMPLETED:
            fraction = min(fraction, 0.5)  # a failing job dies halfway
        reached = math.floor(fraction * SIMULATED_STEPS)
        if reached > simulated.steps_logged:
            lines = [step_log_line(step) for step in range(simulated.steps_logged + 1, reached + 1)]
            write_log(TRAINING_LOG_GROUP, log_stream_name(simulated.name), lines)
            simulated.steps_logged = reached

    def _finish(self, job: Any, simulated: SimulatedJob, status: str, failure_reason: str, write_object: Any) -> None:
        simulated.finished = True
        job.training_job_status = status
        job.secondary_status = status
        job.training_end_time = dt.datetime.now(dt.UTC)
        # SageMaker bills a job for the time its instances ran, whatever the outcome; no spot discount is simulated.
        ran_seconds = math.ceil(self._ran_seconds(simulated))
        job.training_time_in_seconds = ran_seconds
        job.billable_time_in_seconds = ran_seconds
        if status == STATUS_FAILED:
            job.failure_reason = failure_reason or "AlgorithmError: simulated failure"
        if status == STATUS_COMPLETED:
            job.final_metric_data_list = [
                {"MetricName": "train_loss", "Value": 0.42, "Timestamp": job.training_end_time},
            ]
            bucket, key = output_archive_location(job.output_data_config["S3OutputPath"], job.training_job_name)
            if is_evaluation_job(job):
                tags = {tag["Key"]: tag["Value"] for tag in getattr(job, "tags", None) or []}
                body = evaluation_archive(
                    job.training_job_name,
                    task=tags.get(EVAL_TASK_TAG, "gen_qa"),
                    base=tags.get(EVAL_SIDE_TAG) == EVAL_SIDE_BASE,
                )
            else:
                body = output_archive(account_id=job.arn.split(":")[4], job_name=job.training_job_name)
            write_object(bucket, key, body)
        job.model_artifacts = {
            "S3ModelArtifacts": output_archive_uri(job.output_data_config["S3OutputPath"], job.training_job_name)
        }

    def _ran_seconds(self, simulated: SimulatedJob) -> float:
        """The simulated run time: the outcome's duration, or until the stop took effect when it was stopped sooner."""
        if simulated.stop_requested_at is None:
            return simulated.outcome.duration_seconds
        stopped_after = simulated.stop_requested_at - simulated.started_at + self.stop_delay_seconds
        return min(simulated.outcome.duration_seconds, stopped_after)


def output_archive_uri(s3_output_path: str, job_name: str) -> str:
    """Where a Nova job writes its metadata archive: ``<S3OutputPath>/<job>/output/output.tar.gz``, as the pipeline
    reads it."""
    return output_archive_key(s3_output_path, job_name)


def output_archive_location(s3_output_path: str, job_name: str) -> tuple[str, str]:
    bucket, _, key = output_archive_uri(s3_output_path, job_name).removeprefix("s3://").partition("/")
    return bucket, key


def escrow_checkpoint_uri(account_id: str, job_name: str) -> str:
    # The escrow bucket naming follows the Nova docs: s3://customer-escrow-<account>-smtj-<unique id>/<job>/...
    return f"s3://customer-escrow-{account_id}-smtj-simulated0/{job_name}/step-simulated"


def output_archive(account_id: str, job_name: str) -> bytes:
    """The gzipped tar a Nova job leaves in OutputDataConfig: one ``manifest.json`` naming the escrow checkpoint."""
    manifest = json.dumps(
        {"checkpoint_s3_bucket": escrow_checkpoint_uri(account_id, job_name), "simulated": True}
    ).encode()
    metrics = "step_number,training_loss\n" + "".join(
        f"{step},{simulated_loss(step)}\n" for step in range(1, SIMULATED_STEPS + 1)
    )
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, body in (("manifest.json", manifest), (TRAINING_METRICS_ARCHIVE_FILE, metrics.encode())):
            member = tarfile.TarInfo(name)
            member.size = len(body)
            member.mtime = int(time.time())
            archive.addfile(member, io.BytesIO(body))
    return buffer.getvalue()


def is_evaluation_job(job: Any) -> bool:
    """A job of the Nova evaluation image (``nova-evaluation-repo``), not a training job."""
    image = str((getattr(job, "algorithm_specification", None) or {}).get("TrainingImage", ""))
    return f"/{EVALUATION_IMAGE_REPOSITORY}:" in image


# Made-up results: the fine-tuned checkpoint scores these, the base model SIMULATED_BASE_SHORTFALL less.
SIMULATED_GEN_QA = {"rouge1": 0.62, "rouge2": 0.41, "rougeL": 0.58, "em": 0.31, "qem": 0.35, "f1": 0.57, "bleu": 27.4}
SIMULATED_BENCHMARK_SCORE = 0.71
SIMULATED_JUDGE = {"a_scores": 41.0, "b_scores": 52.0, "ties": 7.0, "winrate": 0.56}
SIMULATED_BASE_SHORTFALL = 0.08
SIMULATED_STDERR = 0.012


def simulated_task_metrics(task: str, *, base: bool) -> dict[str, float]:
    """The metrics a simulated evaluation of ``task`` reports, by their official names."""
    shortfall = SIMULATED_BASE_SHORTFALL if base else 0.0
    if task == "gen_qa":
        return {name: round(value * (1 - shortfall), 4) for name, value in SIMULATED_GEN_QA.items()}
    if task in ("llm_judge", "rubric_llm_judge"):
        return {name: round(value * (1 - shortfall), 4) for name, value in SIMULATED_JUDGE.items()}
    from novaft.recipes.evaluation import load_evaluation_catalog  # the catalog only when a benchmark is simulated

    return {load_evaluation_catalog().task_info(task).metric: round(SIMULATED_BENCHMARK_SCORE - shortfall, 4)}


def evaluation_archive(job_name: str, *, task: str, base: bool) -> bytes:
    """The ``output.tar.gz`` of a completed evaluation job: ``<job>/eval_results/results_<timestamp>.json`` (and
    ``inference_output.jsonl`` for gen_qa), with ``results`` keyed as the evaluation container keys them."""
    metrics = simulated_task_metrics(task, base=base)
    entry: dict[str, float] = {}
    for name, value in metrics.items():
        entry[name] = value
        entry[f"{name}_stderr"] = SIMULATED_STDERR
    key = "custom|gen_qa_gen_qa|0" if task == "gen_qa" else f"custom|{task}|0"
    results = {"results": {key: entry, "all": entry}, "config_general": {"model_name": job_name, "simulated": True}}
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d_%H%M%S")
    files = [(f"{job_name}/eval_results/results_{stamp}.json", json.dumps(results).encode())]
    if task == "gen_qa":
        sample = {"prompt": "simulated", "inference": "simulated", "gold": "simulated", "metadata": None}
        files.append((f"{job_name}/eval_results/inference_output.jsonl", (json.dumps(sample) + "\n").encode()))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, body in files:
            member = tarfile.TarInfo(name)
            member.size = len(body)
            member.mtime = int(time.time())
            archive.addfile(member, io.BytesIO(body))
    return buffer.getvalue()
