"""What the RecordResult tests share: the step's two inputs, the job's output archive, and the step called as the
workflow calls it (the test stage's settings, at ``LATER``)."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Mapping

from novaft.pipeline.contracts import RecordResultInput, TrainingStarted, WorkflowFailure
from novaft.pipeline.facts import TRAINING_OUTPUT_DIR
from novaft.pipeline.manifest import output_archive_key
from novaft.pipeline.steps.ports import TrainingLogs
from novaft.pipeline.steps.record import RecordedRun, record_result
from tests.unit.pipeline.fakes import JOB, LATER, RUN, FakeObjectStore, FakeRunStore, FakeTrainingJobs, settings

ARCHIVE_KEY = output_archive_key(f"{RUN.artifacts_prefix}{TRAINING_OUTPUT_DIR}/", JOB)


def after_training() -> RecordResultInput:
    """RecordResult's input once ``RUN``'s training job has ended (whatever its status)."""
    started = TrainingStarted(training_job_name=JOB, training_job_arn=f"arn:aws:sagemaker:::training-job/{JOB}")
    return RecordResultInput(run=RUN, training=started)


def after_failure(error: str, cause: str | None = None) -> RecordResultInput:
    """RecordResult's input when a step of ``RUN``'s workflow failed with ``error``."""
    return RecordResultInput(run=RUN, failure=WorkflowFailure(Error=error, Cause=cause))


def output_archive(files: Mapping[str, bytes]) -> bytes:
    """The output.tar.gz a training job writes, with each of ``files`` (name -> content) under ``output/``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            member = tarfile.TarInfo(f"output/{name}")
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


def record(
    payload: RecordResultInput,
    objects: FakeObjectStore,
    runs: FakeRunStore,
    jobs: FakeTrainingJobs | None = None,
    *,
    logs: TrainingLogs | None = None,
) -> RecordedRun:
    jobs = jobs or FakeTrainingJobs()  # a run that failed before training has no job to describe
    return record_result(payload, settings=settings(), objects=objects, runs=runs, jobs=jobs, now=LATER, logs=logs)
