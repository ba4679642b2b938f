from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import boto3
import pytest

from novaft.local.server import LocalAws, local_aws

ROLE_ARN = "arn:aws:iam::123456789012:role/local-test"


def zipped(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def create_function(name: str, code: str, environment: dict[str, str] | None = None) -> str:
    """A Lambda function whose module ``fn`` holds ``code``; returns its ARN."""
    _ensure_role()
    module = f"local_test_{uuid.uuid4().hex[:8]}"
    return str(
        boto3.client("lambda").create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=ROLE_ARN,
            Handler=f"{module}.handler",
            Code={"ZipFile": zipped({f"{module}.py": code})},
            Environment={"Variables": environment or {}},
        )["FunctionArn"]
    )


def _ensure_role() -> None:
    iam = boto3.client("iam")
    try:
        iam.get_role(RoleName="local-test")
    except iam.exceptions.NoSuchEntityException:
        trust = json.dumps(
            {
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ]
            }
        )
        iam.create_role(RoleName="local-test", AssumeRolePolicyDocument=trust)


@pytest.fixture
def emulated_aws() -> Callable[..., AbstractContextManager[LocalAws]]:
    """Start the emulated AWS, optionally with some gaps left open: ``with emulated_aws(without=(...)) as aws``."""

    def start(without: tuple[str, ...] = ()) -> AbstractContextManager[LocalAws]:
        return local_aws(without_patches=without)

    return start


@pytest.fixture
def patched_aws() -> Iterator[LocalAws]:
    with local_aws() as aws:
        yield aws
