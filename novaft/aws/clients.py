"""boto3 clients: the Lambdas' process-wide ones, and the operator commands' per-command session.

Both leave endpoint, region and credentials to boto3's own configuration chain, so ``AWS_ENDPOINT_URL`` (and the
per-service ``AWS_ENDPOINT_URL_<SERVICE>``) point every client at a local emulation without any code change here.
Clients are created on first use: tests and the local emulated run set the environment before the first call.
"""

from __future__ import annotations

import os
from functools import cache, cached_property
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config
from botocore.exceptions import NoRegionError

# The Lambdas: standard retry mode backs off on throttling and transient errors, which is what every step wants.
_FUNCTION_CONFIG = Config(retries={"max_attempts": 5, "mode": "standard"})
# The operator: retries stay as the user's AWS settings say (AWS_RETRY_MODE, AWS_MAX_ATTEMPTS); only the agent is ours.
_CLI_CONFIG = Config(user_agent_extra="novaft-cli")


@cache
def client(service_name: str) -> Any:
    """The process-wide client for ``service_name`` ("s3", "dynamodb", "sagemaker", "sns", ...); caching keeps warm
    Lambda invocations from paying for client creation again."""
    return boto3.client(service_name, config=_FUNCTION_CONFIG)


@cache
def dynamodb_table(table_name: str) -> Any:
    """The process-wide DynamoDB Table resource for ``table_name``."""
    return boto3.resource("dynamodb", config=_FUNCTION_CONFIG).Table(table_name)


def reset_clients() -> None:
    """Forget cached clients (tests switch endpoints and credentials between cases)."""
    client.cache_clear()
    dynamodb_table.cache_clear()


@cache
def _shared_loader() -> botocore.loaders.Loader:
    return botocore.loaders.create_loader()


class AwsSession:
    """One command's clients, created lazily from one session (one credential resolution per command)."""

    def __init__(self, session: boto3.session.Session | None = None) -> None:
        self.session = session or boto3.session.Session()

    @classmethod
    def from_settings(cls, *, profile: str | None = None, region: str | None = None) -> AwsSession:
        # A fresh session per command (credentials and settings are read anew), sharing one loader of the service
        # models: commands called in-process, one after another, then skip re-parsing megabytes of JSON.
        core = botocore.session.get_session()
        core.register_component("data_loader", _shared_loader())
        return cls(boto3.session.Session(botocore_session=core, profile_name=profile, region_name=region))

    @property
    def region(self) -> str:
        # boto3 reads AWS_DEFAULT_REGION; AWS_REGION is what Lambda, CloudShell and most newer SDKs set.
        region = self.session.region_name or os.environ.get("AWS_REGION")
        if not region:
            raise NoRegionError()
        return str(region)

    def client(self, service: str) -> Any:
        return self._client(service)

    @cache  # noqa: B019 - one session per command; the cache lives exactly as long as the session
    def _client(self, service: str) -> Any:
        return self.session.client(service, region_name=self.region, config=_CLI_CONFIG)

    def dynamodb_table(self, table_name: str) -> Any:
        return self._dynamodb.Table(table_name)

    @cached_property
    def _dynamodb(self) -> Any:
        return self.session.resource("dynamodb", region_name=self.region, config=_CLI_CONFIG)

    @property
    def uses_custom_endpoint(self) -> bool:
        """True when the clients talk to something other than AWS itself (console links would mislead)."""
        endpoint = str(self.client("stepfunctions").meta.endpoint_url)
        return not (endpoint.endswith(".amazonaws.com") or endpoint.endswith(".amazonaws.com.cn"))
