"""boto3 clients for the operator commands, built from the standard AWS settings.

Region, credentials and endpoint come from boto3's own configuration chain (environment, profile, config file);
``AWS_ENDPOINT_URL`` and the per-service ``AWS_ENDPOINT_URL_<SERVICE>`` variables point every client at a local
emulation without any code change here.
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

# Retries stay as the user's AWS settings say (AWS_RETRY_MODE, AWS_MAX_ATTEMPTS, profile); only the agent is ours.
_CLIENT_CONFIG = Config(user_agent_extra="novaft-cli")


@cache
def _shared_loader() -> botocore.loaders.Loader:
    return botocore.loaders.create_loader()


class AwsClients:
    """Lazily created clients sharing one session (one credential resolution per command)."""

    def __init__(self, session: boto3.session.Session | None = None) -> None:
        self.session = session or boto3.session.Session()

    @classmethod
    def from_settings(cls, *, profile: str | None = None, region: str | None = None) -> AwsClients:
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
        return self.session.client(service, region_name=self.region, config=_CLIENT_CONFIG)

    @cached_property
    def cloudformation(self) -> Any:
        return self.client("cloudformation")

    @cached_property
    def dynamodb(self) -> Any:
        return self.session.resource("dynamodb", region_name=self.region, config=_CLIENT_CONFIG)

    @cached_property
    def stepfunctions(self) -> Any:
        return self.client("stepfunctions")

    @cached_property
    def sagemaker(self) -> Any:
        return self.client("sagemaker")

    @cached_property
    def s3(self) -> Any:
        return self.client("s3")

    @property
    def uses_custom_endpoint(self) -> bool:
        """True when the clients talk to something other than AWS itself (console links would mislead)."""
        endpoint = str(self.stepfunctions.meta.endpoint_url)
        return not (endpoint.endswith(".amazonaws.com") or endpoint.endswith(".amazonaws.com.cn"))
