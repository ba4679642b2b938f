"""What every workflow handler shares: Powertools objects, settings parsed once, AWS ports, payload parsing.

Settings and clients are created on first use (then kept for the life of the execution environment), so importing
a handler in a test needs no environment, and tests can point boto3 at an emulator first.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from functools import cache
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer
from pydantic import BaseModel, ValidationError

from novaft.aws.ports import RunsTable, S3ObjectStore, SageMakerTrainingJobs, SnsNotifier
from novaft.pipeline.errors import EventNotRecognized
from novaft.pipeline.records import iso_utc
from novaft.pipeline.settings import Settings

METRICS_NAMESPACE = "Novaft"

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace=METRICS_NAMESPACE)

PayloadModel = TypeVar("PayloadModel", bound=BaseModel)


@cache
def settings() -> Settings:
    return Settings.from_env(os.environ)


@cache
def object_store() -> S3ObjectStore:
    return S3ObjectStore()


@cache
def runs_table() -> RunsTable:
    return RunsTable(settings().runs_table)


@cache
def training_jobs() -> SageMakerTrainingJobs:
    return SageMakerTrainingJobs()


@cache
def notifier() -> SnsNotifier:
    return SnsNotifier(settings().require("topic_arn"))


def reset() -> None:
    """Forget settings and ports (tests change the environment between cases)."""
    for cached in (settings, object_store, runs_table, training_jobs, notifier):
        cached.cache_clear()


def now_iso() -> str:
    return iso_utc(datetime.now(UTC))


def parse_payload(model: type[PayloadModel], event: Any) -> PayloadModel:
    """Validate the task input against its contract; a mismatch is a named error listing the fields at fault."""
    try:
        return model.model_validate(event)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in issue['loc']) or '(payload)'}: {issue['msg']}"
            for issue in error.errors()[:5]
        )
        raise EventNotRecognized(f"{model.__name__} payload does not match the workflow contract: {problems}") from None
