"""Simulated SageMaker training jobs: no model is trained, ever.

A job created on the emulated AWS is ``InProgress`` for a configurable number of seconds, then ends with the outcome
chosen for it: ``Completed`` (with the output manifest a Nova job writes), ``Failed`` (with a reason) or ``Stopped``.
``StopTrainingJob`` moves a running job to ``Stopping`` and then ``Stopped``. Outcomes are chosen per job by a
substring of the job name, so a test names its dataset and gets the outcome it wants. A finished job bills the time
it ran in the simulation (``TrainingTimeInSeconds`` and ``BillableTimeInSeconds``, whole seconds rounded up).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import tarfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal

TrainingOutcomeStatus = Literal["Completed", "Failed", "Stopped"]
SIMULATED_NOTICE = "training is SIMULATED on the local emulated AWS: no model is trained and no instance is started"
OUTPUT_ARCHIVE = "output/output.tar.gz"


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


@dataclass
class TrainingSimulator:
    """Chooses each new job's outcome and moves jobs forward in time when they are described."""

    default: TrainingOutcome = field(default_factory=TrainingOutcome)
    by_job_name: dict[str, TrainingOutcome] = field(default_factory=dict)
    stop_delay_seconds: float = 0.0
    # Simulated jobs take seconds: a workflow Wait longer than this is cut short (None keeps Wait states exact).
    max_wait_state_seconds: float | None = None
    jobs: dict[str, SimulatedJob] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def outcome_for(self, job_name: str) -> TrainingOutcome:
        """The first configured outcome whose key occurs in the job name, else the default."""
        for fragment, outcome in self.by_job_name.items():
            if fragment in job_name:
                return outcome
        return self.default

    def set_outcome(self, job_name_fragment: str, outcome: TrainingOutcome) -> None:
        self.by_job_name[job_name_fragment] = outcome

    def job_created(self, job: Any) -> None:
        """Called right after the emulator created ``job`` (a moto training job): start it as InProgress."""
        with self._lock:
            self.jobs[job.training_job_name] = SimulatedJob(
                name=job.training_job_name, outcome=self.outcome_for(job.training_job_name), started_at=time.monotonic()
            )
        job.training_job_status = "InProgress"
        job.secondary_status = "Starting"
        job.training_end_time = None
        job.final_metric_data_list = []
        job.secondary_status_transitions = [
            {"Status": "Starting", "StartTime": job.creation_time, "StatusMessage": SIMULATED_NOTICE}
        ]

    def stop_requested(self, job: Any) -> None:
        """StopTrainingJob on a running job: Stopping now, Stopped after ``stop_delay_seconds``."""
        simulated = self.jobs.get(job.training_job_name)
        if simulated is None or simulated.finished or job.training_job_status not in ("InProgress", "Stopping"):
            return
        simulated.stop_requested_at = simulated.stop_requested_at or time.monotonic()
        job.training_job_status = "Stopping"
        job.secondary_status = "Stopping"
        self.advance(job, write_object=lambda *_: None)

    def advance(self, job: Any, write_object: Any) -> None:
        """Bring ``job`` up to date with the clock; ``write_object(bucket, key, body)`` writes its outputs."""
        with self._lock:
            simulated = self.jobs.get(job.training_job_name)
            if simulated is None or simulated.finished:
                return
            now = time.monotonic()
            if simulated.stop_requested_at is not None:
                if now - simulated.stop_requested_at >= self.stop_delay_seconds:
                    self._finish(job, simulated, "Stopped", "", write_object)
                return
            if now - simulated.started_at < simulated.outcome.duration_seconds:
                job.secondary_status = "Training"
                return
            self._finish(job, simulated, simulated.outcome.status, simulated.outcome.failure_reason, write_object)

    def _finish(self, job: Any, simulated: SimulatedJob, status: str, failure_reason: str, write_object: Any) -> None:
        simulated.finished = True
        job.training_job_status = status
        job.secondary_status = status
        job.training_end_time = dt.datetime.now(dt.UTC)
        # SageMaker bills a job for the time its instances ran, whatever the outcome; no spot discount is simulated.
        ran_seconds = math.ceil(self._ran_seconds(simulated))
        job.training_time_in_seconds = ran_seconds
        job.billable_time_in_seconds = ran_seconds
        if status == "Failed":
            job.failure_reason = failure_reason or "AlgorithmError: simulated failure"
        if status == "Completed":
            job.final_metric_data_list = [
                {"MetricName": "train_loss", "Value": 0.42, "Timestamp": job.training_end_time},
            ]
            bucket, key = output_archive_location(job.output_data_config["S3OutputPath"], job.training_job_name)
            write_object(bucket, key, output_archive(account_id=job.arn.split(":")[4], job_name=job.training_job_name))
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
    """Where a Nova job writes its metadata archive: ``<S3OutputPath>/<job>/output/output.tar.gz``."""
    return f"{s3_output_path.rstrip('/')}/{job_name}/{OUTPUT_ARCHIVE}"


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
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        member = tarfile.TarInfo("manifest.json")
        member.size = len(manifest)
        member.mtime = int(time.time())
        archive.addfile(member, io.BytesIO(manifest))
    return buffer.getvalue()
