"""What the steps need from AWS, as protocols. ``novaft.aws`` implements them with boto3."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, BinaryIO, Protocol


class JobNameTaken(Exception):
    """Raised by ``TrainingJobs.create`` when a training job with the requested name already exists."""

    def __init__(self, job_name: str) -> None:
        super().__init__(job_name)
        self.job_name = job_name


class ObjectStore(Protocol):
    def open(self, bucket: str, key: str, version_id: str | None = None) -> BinaryIO: ...

    def read_bytes(self, bucket: str, key: str, version_id: str | None = None) -> bytes: ...

    def exists(self, bucket: str, key: str) -> bool: ...

    def put_json(self, bucket: str, key: str, document: Any) -> str: ...

    def put_text(self, bucket: str, key: str, text: str) -> str: ...


class RunStore(Protocol):
    def put_new(self, item: Mapping[str, Any]) -> dict[str, Any] | None: ...

    def get(self, run_id: str) -> dict[str, Any]: ...

    def update(self, run_id: str, fields: Mapping[str, Any]) -> None: ...

    def find_by_execution_arn(self, execution_arn: str) -> dict[str, Any]: ...


class TrainingJobs(Protocol):
    def create(self, request: Mapping[str, Any]) -> str: ...

    def describe(self, job_name: str) -> dict[str, Any]: ...

    def tags(self, job_arn: str) -> dict[str, str]: ...

    def stop_if_running(self, job_name: str) -> bool: ...


class Notifier(Protocol):
    def publish(self, subject: str, message: str) -> None: ...
