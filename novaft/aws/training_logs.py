"""A training job's CloudWatch log lines, read in order and bounded (for its loss curve and live progress).

SageMaker writes each instance's output to ``/aws/sagemaker/TrainingJobs``, stream ``<job>/algo-<n>-<epoch>``. The
loss is logged by the first instance (rank 0), so only the first stream of the job is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from novaft.aws.errors import error_code, is_not_found, raise_named
from novaft.pipeline.facts import TRAINING_LOG_GROUP

# Lines read at most per call: a long job logs far more than its loss, and the reader needs only the loss lines.
DEFAULT_MAX_EVENTS = 200_000


class TrainingJobLogs:
    def __init__(self, logs: Any, *, log_group: str = TRAINING_LOG_GROUP) -> None:
        self._logs = logs
        self._group = log_group

    def first_stream(self, job_name: str) -> str | None:
        """The name of the job's first instance stream (``<job>/algo-1-...``), or None before the job logged."""
        try:
            response = self._logs.describe_log_streams(
                logGroupName=self._group, logStreamNamePrefix=f"{job_name}/", orderBy="LogStreamName"
            )
        except ClientError as error:
            if is_not_found(error) or error_code(error) == "ResourceNotFoundException":
                return None  # no job has logged in this account and region yet
            raise_named(error, action="DescribeLogStreams", resource=f"{self._group} {job_name}/")
            raise
        names = sorted(str(stream["logStreamName"]) for stream in response.get("logStreams") or [])
        return names[0] if names else None

    def lines(self, job_name: str, *, max_events: int = DEFAULT_MAX_EVENTS) -> Iterator[str]:
        """The job's first stream from its start, one message per line, at most ``max_events`` of them."""
        stream = self.first_stream(job_name)
        if stream is None:
            return
        token: str | None = None
        read = 0
        while read < max_events:
            request: dict[str, Any] = {"logGroupName": self._group, "logStreamName": stream, "startFromHead": True}
            if token is not None:
                request["nextToken"] = token
            try:
                response = self._logs.get_log_events(**request)
            except ClientError as error:
                raise_named(error, action="GetLogEvents", resource=f"{self._group} {stream}")
                raise
            events = response.get("events") or []
            for event in events[: max_events - read]:
                yield str(event.get("message", ""))
            read += len(events)
            # GetLogEvents returns the same forward token once the end of the stream is reached.
            next_token = response.get("nextForwardToken")
            if not events or next_token is None or next_token == token:
                return
            token = next_token
