"""In-memory implementations of the step ports (``novaft.pipeline.steps.ports``) and shared step inputs.

They keep the contract the boto3 adapters keep (a missing run, job or object is a named error; ``put_new`` returns the
existing item; ``update`` never creates a half item), so a step tested against them behaves the same on AWS.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from novaft.errors import InputFileError
from novaft.pipeline.contracts import DatasetLocation, PinnedObject, RunContext
from novaft.pipeline.errors import RunNotFound, TrainingJobNotFound
from novaft.pipeline.facts import RUNS_TABLE_PARTITION_KEY, STATUS_COMPLETED
from novaft.pipeline.settings import Settings
from novaft.pipeline.steps.ports import JobNameTaken
from novaft.policy import StagePolicy

REGION = "us-west-2"
DATASETS_BUCKET = "datasets"
ARTIFACTS_BUCKET = "artifacts"
NOW = "2026-01-02T03:04:05Z"
LATER = "2026-01-02T09:00:00Z"
EXECUTION_ARN = f"arn:aws:states:{REGION}:123456789012:execution:novaft-dev:exec-1"
ROLE_ARN = "arn:aws:iam::123456789012:role/novaft-dev-training"
DEFAULT_JOB = {"model": "micro", "method": "sft", "peft": "lora"}


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "stage": "dev",
        "artifacts_bucket": ARTIFACTS_BUCKET,
        "datasets_bucket": DATASETS_BUCKET,
        "runs_table": "runs",
        "training_role_arn": ROLE_ARN,
        "topic_arn": f"arn:aws:sns:{REGION}:123456789012:novaft-dev-runs",
        "default_job": DEFAULT_JOB,
        "region": REGION,
        # The price table has us-east-1 prices only: no run in REGION has a cost to cap or to ask approval for.
        "policy": StagePolicy(max_run_usd=None, approval_above_usd=None),
    }
    return Settings(**{**values, **overrides})


TRAIN_KEY = "incoming/demo/train.jsonl"


def pinned(key: str = TRAIN_KEY, version_id: str | None = "v1", **fields: Any) -> PinnedObject:
    return PinnedObject(key=key, version_id=version_id, **{"etag": "e1", "size": 1, **fields})


def run_context(run_id: str = "demo-0123456789ab", **dataset: Any) -> RunContext:
    """``dataset`` overrides ``train`` / ``validation`` / ``job`` (PinnedObject) of the run's dataset."""
    return RunContext(
        run_id=run_id,
        run_name="demo",
        attempt=1,
        dataset=DatasetLocation(**{"bucket": DATASETS_BUCKET, "train": pinned(), **dataset}),
        artifacts_bucket=ARTIFACTS_BUCKET,
        artifacts_prefix=f"runs/{run_id}/",
        training_job_name=f"novaft-{run_id}",
    )


RUN = run_context()
"""The run most step tests act on; its training job is ``JOB``."""
JOB = RUN.training_job_name


def registered_runs(status: str, **fields: Any) -> FakeRunStore:
    """A runs table holding ``RUN`` as RegisterRun wrote it (started by ``EXECUTION_ARN``), at ``status``."""
    item = {"run_id": RUN.run_id, "run_name": RUN.run_name, "status": status, "execution_arn": EXECUTION_ARN, **fields}
    return FakeRunStore({RUN.run_id: item})


class _Body(io.BytesIO):
    """A streaming body that records whether the step closed it."""

    def __init__(self, data: bytes, opened: list[_Body]) -> None:
        super().__init__(data)
        opened.append(self)


@dataclass
class FakeObjectStore:
    """A versioned bucket: ``add`` writes a new version ("v1", "v2", ... per key); reads by version see that one."""

    objects: dict[tuple[str, str], bytes] = field(default_factory=dict)
    versions: dict[tuple[str, str], dict[str, bytes]] = field(default_factory=dict)
    opened: list[_Body] = field(default_factory=list)
    reads: list[tuple[str, str, str | None]] = field(default_factory=list)
    copies: list[tuple[str, str, str | None, str, str, str | None]] = field(default_factory=list)
    content_types: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(self, bucket: str, key: str, body: bytes | str) -> str:
        data = body.encode() if isinstance(body, str) else body
        versions = self.versions.setdefault((bucket, key), {})
        version_id = f"v{len(versions) + 1}"
        versions[version_id] = data
        self.objects[(bucket, key)] = data
        return version_id

    def delete(self, bucket: str, key: str) -> None:
        """Removes the current object; its versions stay readable by version id, as on a versioned bucket."""
        del self.objects[(bucket, key)]

    def _current_version(self, bucket: str, key: str) -> str | None:
        versions = self.versions.get((bucket, key), {})
        return list(versions)[-1] if versions and (bucket, key) in self.objects else None

    def _get(self, bucket: str, key: str, version_id: str | None) -> bytes:
        self.reads.append((bucket, key, version_id))
        try:
            if version_id is not None:
                return self.versions[(bucket, key)][version_id]
            return self.objects[(bucket, key)]
        except KeyError:
            raise InputFileError(f"s3://{bucket}/{key} does not exist (or the version is gone)") from None

    def open(self, bucket: str, key: str, version_id: str | None = None) -> BinaryIO:
        return _Body(self._get(bucket, key, version_id), self.opened)

    def read_bytes(self, bucket: str, key: str, version_id: str | None = None) -> bytes:
        return self._get(bucket, key, version_id)

    def exists(self, bucket: str, key: str) -> bool:
        return (bucket, key) in self.objects

    def head(self, bucket: str, key: str, version_id: str | None = None) -> PinnedObject:
        version = version_id or self._current_version(bucket, key)
        try:
            data = self.versions[(bucket, key)][version] if version else self.objects[(bucket, key)]
        except KeyError:
            raise InputFileError(f"s3://{bucket}/{key} does not exist (or the version is gone)") from None
        # As on S3 with SSE-KMS, the ETag is not the content's MD5; the checksum is.
        return PinnedObject(
            key=key,
            version_id=version,
            etag=f"etag-of-{key}-{version}",
            size=len(data),
            checksum=f"SHA256:{hashlib.sha256(data).hexdigest()}",
        )

    def copy_version(
        self, source_bucket: str, source: PinnedObject, bucket: str, key: str, *, kms_key_arn: str | None
    ) -> str:
        self.copies.append((source_bucket, source.key, source.version_id, bucket, key, kms_key_arn))
        self.objects[(bucket, key)] = self._get(source_bucket, source.key, source.version_id)
        return f"s3://{bucket}/{key}"

    def put_json(self, bucket: str, key: str, document: Any) -> str:
        self.objects[(bucket, key)] = json.dumps(document).encode()
        return f"s3://{bucket}/{key}"

    def put_text(self, bucket: str, key: str, text: str, content_type: str = "text/plain; charset=utf-8") -> str:
        self.objects[(bucket, key)] = text.encode()
        self.content_types[(bucket, key)] = content_type
        return f"s3://{bucket}/{key}"

    def json(self, bucket: str, key: str) -> Any:
        return json.loads(self.objects[(bucket, key)])

    def text(self, bucket: str, key: str) -> str:
        return self.objects[(bucket, key)].decode()


@dataclass
class FakeRunStore:
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    updates: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)

    def put_new(self, item: Mapping[str, Any]) -> dict[str, Any] | None:
        run_id = str(item[RUNS_TABLE_PARTITION_KEY])
        if run_id in self.items:
            return copy.deepcopy(self.items[run_id])
        self.items[run_id] = copy.deepcopy(dict(item))
        return None

    def find(self, run_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.items[run_id]) if run_id in self.items else None

    def next_attempt(self, run_name: str) -> int:
        self.attempts[run_name] = self.attempts.get(run_name, 0) + 1
        return self.attempts[run_name]

    def get(self, run_id: str) -> dict[str, Any]:
        if run_id not in self.items:
            raise RunNotFound(f"no run with run_id {run_id!r} in table runs")
        return copy.deepcopy(self.items[run_id])

    def update(self, run_id: str, fields: Mapping[str, Any]) -> None:
        if run_id not in self.items:
            raise RunNotFound(f"no run with run_id {run_id!r} in table runs")
        self.updates.append((run_id, dict(fields)))
        self.items[run_id].update(copy.deepcopy(dict(fields)))

    def find_by_execution_arn(self, execution_arn: str) -> dict[str, Any]:
        for item in self.items.values():
            if item.get("execution_arn") == execution_arn:
                return copy.deepcopy(item)
        raise RunNotFound(f"no run was started by execution {execution_arn}")


@dataclass
class FakeTrainingJobs:
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    job_tags: dict[str, dict[str, str]] = field(default_factory=dict)
    created: list[dict[str, Any]] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)

    def add(
        self, job_name: str, status: str = STATUS_COMPLETED, tags: dict[str, str] | None = None, **fields: Any
    ) -> str:
        arn = f"arn:aws:sagemaker:{REGION}:123456789012:training-job/{job_name}"
        self.jobs[job_name] = {
            "TrainingJobName": job_name,
            "TrainingJobArn": arn,
            "TrainingJobStatus": status,
            **fields,
        }
        self.job_tags[arn] = dict(tags or {})
        return arn

    def create(self, request: Mapping[str, Any]) -> str:
        job_name = str(request["TrainingJobName"])
        if job_name in self.jobs:
            raise JobNameTaken(job_name)
        self.created.append(dict(request))
        tags = {str(tag["Key"]): str(tag["Value"]) for tag in request.get("Tags") or []}
        return self.add(
            job_name, status="InProgress", tags=tags, InputDataConfig=copy.deepcopy(request.get("InputDataConfig"))
        )

    def describe(self, job_name: str) -> dict[str, Any]:
        if job_name not in self.jobs:
            raise TrainingJobNotFound(f"training job {job_name} does not exist")
        return copy.deepcopy(self.jobs[job_name])

    def tags(self, job_arn: str) -> dict[str, str]:
        return dict(self.job_tags.get(job_arn, {}))

    def stop_if_running(self, job_name: str) -> bool:
        job = self.jobs.get(job_name)
        if job is None or job["TrainingJobStatus"] != "InProgress":
            return False
        job["TrainingJobStatus"] = "Stopping"
        self.stopped.append(job_name)
        return True


@dataclass
class FakeNotifier:
    published: list[tuple[str, str]] = field(default_factory=list)

    def publish(self, subject: str, message: str) -> None:
        self.published.append((subject, message))


def sft_record(index: int) -> dict[str, Any]:
    return {
        "schemaVersion": "bedrock-conversation-2024",
        "system": [{"text": "You answer briefly."}],
        "messages": [
            {"role": "user", "content": [{"text": f"Question number {index}?"}]},
            {"role": "assistant", "content": [{"text": f"Answer number {index}."}]},
        ],
    }


def jsonl(records: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(record).encode() + b"\n" for record in records)


def valid_sft(count: int = 10) -> bytes:
    return jsonl([sft_record(index) for index in range(count)])
