"""What every workflow handler shares: the Powertools wiring, settings parsed once, AWS ports, payload parsing.

Settings, clients and the tracer are created on first use (then kept for the life of the execution environment), so
importing a handler is cheap and needs no environment, and tests can point boto3 at an emulator first.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ValidationError

from novaft.pipeline.errors import EventNotRecognized
from novaft.pipeline.facts import METRICS_NAMESPACE, iso_utc
from novaft.pipeline.settings import Settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from novaft.aws.bedrock import BedrockConverse, BedrockModels
    from novaft.aws.notifications import SnsNotifier
    from novaft.aws.runs_table import RunsTable
    from novaft.aws.s3_objects import S3Objects
    from novaft.aws.sagemaker_jobs import SageMakerTrainingJobs
    from novaft.aws.training_logs import TrainingJobLogs
    from novaft.recipes import PriceTable

logger = Logger()
metrics = Metrics(namespace=METRICS_NAMESPACE)

PayloadModel = TypeVar("PayloadModel", bound=BaseModel)
Handler = Callable[[dict[str, Any], "LambdaContext"], dict[str, Any]]


@cache
def tracer() -> Tracer:
    """Built on the first invocation: building a Tracer loads and patches the X-Ray SDK, the largest import cost."""
    return Tracer()


def count(metric_name: str, value: float = 1) -> None:
    """Add to one of the run metrics; the handler wrapper publishes it when the invocation ends."""
    metrics.add_metric(name=metric_name, unit=MetricUnit.Count, value=value)


def _flush_metrics() -> None:
    # Powertools' log_metrics flushes unconditionally and warns "No application metrics to publish" on every
    # invocation that counted nothing (most of them); publishing only what was counted keeps the logs clean.
    if metrics.metric_set:
        metrics.flush_metrics()


def instrumented(handler: Handler) -> Handler:
    """Structured logging with the Lambda context, an X-Ray segment, and publishing the metrics the handler counted
    (also when it raises), for every handler."""

    def counted(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        try:
            return handler(event, context)
        finally:
            _flush_metrics()

    @cache
    def traced() -> Handler:
        traced_handler: Handler = tracer().capture_lambda_handler(counted, capture_response=False)
        return traced_handler

    @functools.wraps(handler)
    def invoke(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return traced()(event, context)

    wrapped: Handler = logger.inject_lambda_context(invoke, log_event=False)
    return wrapped


@cache
def settings() -> Settings:
    return Settings.from_env(os.environ)


def _client(service: str) -> Any:
    # Imported on first use, like every AWS port below: importing a handler stays cheap and needs no boto3 session.
    from novaft.aws.clients import client

    return client(service)


@cache
def object_store() -> S3Objects:
    from novaft.aws.s3_objects import S3Objects

    return S3Objects(_client("s3"))


@cache
def runs_table() -> RunsTable:
    from novaft.aws.clients import dynamodb_table
    from novaft.aws.runs_table import RunsTable

    return RunsTable(dynamodb_table(settings().runs_table))


@cache
def training_jobs() -> SageMakerTrainingJobs:
    from novaft.aws.sagemaker_jobs import SageMakerTrainingJobs

    return SageMakerTrainingJobs(_client("sagemaker"))


@cache
def training_logs() -> TrainingJobLogs:
    from novaft.aws.training_logs import TrainingJobLogs

    return TrainingJobLogs(_client("logs"))


@cache
def notifier() -> SnsNotifier:
    from novaft.aws.notifications import SnsNotifier

    return SnsNotifier(_client("sns"), settings().require("topic_arn"))


@cache
def price_table() -> PriceTable | None:
    """Prices only feed the estimates; a missing or broken table leaves the cost out instead of failing the run."""
    from novaft.errors import NovaftError
    from novaft.recipes import load_price_table

    try:
        return load_price_table()
    except (NovaftError, OSError, ValueError) as error:
        logger.warning("price table unavailable; estimate without cost", extra={"error": str(error)})
        return None


@cache
def bedrock_models() -> BedrockModels:
    from novaft.aws.bedrock import BedrockModels

    return BedrockModels(_client("bedrock"))


@cache
def bedrock_converse() -> BedrockConverse:
    from novaft.aws.bedrock import BedrockConverse

    return BedrockConverse(_client("bedrock-runtime"))


def now_iso() -> str:
    return iso_utc(datetime.now(UTC))


class Ports:
    """What a step may be handed for one invocation, named as the steps name their parameters: the time the
    invocation started, and the settings and AWS adapters, each built on first use (then kept, see above)."""

    settings: Settings
    objects: S3Objects
    runs: RunsTable
    jobs: SageMakerTrainingJobs
    logs: TrainingJobLogs
    notifier: SnsNotifier
    models: BedrockModels
    converse: BedrockConverse
    prices: PriceTable | None

    def __init__(self) -> None:
        self.now = now_iso()

    def __getattr__(self, name: str) -> Any:
        # Reached only for the names declared above without a value: the adapters, looked up in the table below.
        try:
            build = _PORT_FACTORIES[name]
        except KeyError:
            raise AttributeError(name) from None
        return build()


_PORT_FACTORIES = {
    "settings": settings,
    "objects": object_store,
    "runs": runs_table,
    "jobs": training_jobs,
    "logs": training_logs,
    "notifier": notifier,
    "models": bedrock_models,
    "converse": bedrock_converse,
    "prices": price_table,
}


def reset() -> None:
    """Forget settings and ports (tests change the environment between cases)."""
    for factory in _PORT_FACTORIES.values():
        factory.cache_clear()


Task = Callable[[PayloadModel, Ports], dict[str, Any]]


def workflow_task(model: type[PayloadModel]) -> Callable[[Task[PayloadModel]], Handler]:
    """A workflow task's Lambda handler: the event validated against ``model`` (its contract) and handed to the task
    with this invocation's ports, instrumented like every handler."""

    def decorate(task: Task[PayloadModel]) -> Handler:
        @functools.wraps(task)
        def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
            return task(parse_payload(model, event), Ports())

        return instrumented(handle)

    return decorate


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
