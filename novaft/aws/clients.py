"""boto3 clients, created once per process and on first use.

Lazy creation lets tests and the local emulated run set ``AWS_ENDPOINT_URL`` (honoured by botocore itself) before
the first call; caching keeps warm Lambda invocations from paying for client creation again.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

# Standard retry mode backs off on throttling and transient errors, which is what every step wants.
_CLIENT_CONFIG = Config(retries={"max_attempts": 5, "mode": "standard"})


@cache
def client(service_name: str) -> Any:
    """The process-wide client for ``service_name`` ("s3", "dynamodb", "sagemaker", "sns", ...)."""
    return boto3.client(service_name, config=_CLIENT_CONFIG)


@cache
def dynamodb_table(table_name: str) -> Any:
    """The process-wide DynamoDB Table resource for ``table_name``."""
    return boto3.resource("dynamodb", config=_CLIENT_CONFIG).Table(table_name)


def reset_clients() -> None:
    """Forget cached clients (tests switch endpoints and credentials between cases)."""
    client.cache_clear()
    dynamodb_table.cache_clear()
