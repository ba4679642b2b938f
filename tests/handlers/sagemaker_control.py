"""Test-only control of moto's SageMaker: its jobs are born Completed and it has no billable time or stop call."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.sagemaker.models import sagemaker_backends

from novaft.aws.clients import client
from tests.handlers.conftest import REGION

ACCOUNT = "123456789012"


def set_job_status(job_name: str, status: str, failure_reason: str | None = None) -> None:
    job = sagemaker_backends[ACCOUNT][REGION].training_jobs[job_name]
    job.training_job_status = status
    job.failure_reason = failure_reason  # type: ignore[attr-defined]  # moto sets it only on some paths


@contextmanager
def billable_seconds(seconds: int) -> Iterator[None]:
    """Add BillableTimeInSeconds to describe_training_job answers (moto leaves it out)."""
    sagemaker = client("sagemaker")
    real_describe = sagemaker.describe_training_job

    def describe(**kwargs: Any) -> dict[str, Any]:
        return {**real_describe(**kwargs), "BillableTimeInSeconds": seconds}

    with mock.patch.object(sagemaker, "describe_training_job", side_effect=describe):
        yield


@contextmanager
def stop_calls(error: Exception | None = None) -> Iterator[mock.MagicMock]:
    """Record stop_training_job calls (moto raises NotImplementedError); optionally fail them with ``error``."""
    with mock.patch.object(client("sagemaker"), "stop_training_job", side_effect=error) as stop:
        yield stop
