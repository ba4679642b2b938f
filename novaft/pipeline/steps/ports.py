"""What the steps need from AWS, as protocols. ``novaft.aws`` implements them with boto3."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, BinaryIO, Protocol

from novaft.pipeline.contracts import PinnedObject


class JobNameTaken(Exception):
    """Raised by ``TrainingJobs.create`` when a training job with the requested name already exists."""

    def __init__(self, job_name: str) -> None:
        super().__init__(job_name)
        self.job_name = job_name


class ObjectStore(Protocol):
    def open(self, bucket: str, key: str, version_id: str | None = None) -> BinaryIO: ...

    def read_bytes(self, bucket: str, key: str, version_id: str | None = None) -> bytes: ...

    def exists(self, bucket: str, key: str) -> bool: ...

    def head(self, bucket: str, key: str, version_id: str | None = None) -> PinnedObject:
        """The version (the current one when ``version_id`` is None) with its ETag, size and checksum."""
        ...

    def copy_version(
        self, source_bucket: str, source: PinnedObject, bucket: str, key: str, *, kms_key_arn: str | None
    ) -> str:
        """Server-side copy of exactly ``source``'s version to ``bucket``/``key`` (SSE-KMS with ``kms_key_arn`` when
        given); the copy's s3:// URI."""
        ...

    def put_json(self, bucket: str, key: str, document: Any) -> str: ...

    def put_text(self, bucket: str, key: str, text: str, content_type: str = "text/plain; charset=utf-8") -> str: ...


class RunStore(Protocol):
    def put_new(self, item: Mapping[str, Any]) -> dict[str, Any] | None: ...

    def get(self, run_id: str) -> dict[str, Any]: ...

    def find(self, run_id: str) -> dict[str, Any] | None: ...

    def next_attempt(self, run_name: str) -> int:
        """1, 2, ...: an atomic counter per run name (each call takes a new number)."""
        ...

    def update(self, run_id: str, fields: Mapping[str, Any]) -> None: ...

    def find_by_execution_arn(self, execution_arn: str) -> dict[str, Any]: ...


class TrainingJobs(Protocol):
    def create(self, request: Mapping[str, Any]) -> str: ...

    def describe(self, job_name: str) -> dict[str, Any]: ...

    def tags(self, job_arn: str) -> dict[str, str]: ...

    def stop_if_running(self, job_name: str) -> bool: ...


class Notifier(Protocol):
    def publish(self, subject: str, message: str) -> None: ...


class TrainingLogs(Protocol):
    def lines(self, job_name: str) -> Iterable[str]:
        """The training job's log lines in order (its first instance's stream); none before it logged."""
        ...
