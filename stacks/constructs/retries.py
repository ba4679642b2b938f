"""The retry policy the workflow's throttled calls share: exponential backoff with full jitter, so that runs throttled
at the same moment do not all ask again at the same moment."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_stepfunctions as sfn


def retry_with_jitter(
    task: sfn.TaskStateBase,
    errors: list[str],
    *,
    interval_seconds: int,
    max_attempts: int,
    max_delay: cdk.Duration | None = None,
) -> None:
    """Retries ``errors`` on ``task``, doubling the wait from ``interval_seconds`` (capped at ``max_delay``)."""
    task.add_retry(
        errors=errors,
        interval=cdk.Duration.seconds(interval_seconds),
        max_attempts=max_attempts,
        backoff_rate=2,
        max_delay=max_delay,
        jitter_strategy=sfn.JitterType.FULL,
    )
