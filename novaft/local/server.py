"""Start and stop the emulated AWS: a moto server on 127.0.0.1 with every gap patched, and the standard AWS
environment (dummy credentials, region, ``AWS_ENDPOINT_URL``) so every boto3 client in this process talks to it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from unittest import mock

from novaft.local import patches
from novaft.local.training import SIMULATED_NOTICE, TrainingSimulator

DEFAULT_REGION = "us-east-1"
# moto's default account; every ARN the emulator returns carries it.
ACCOUNT_ID = "123456789012"


@dataclass
class LocalAws:
    """A running emulated AWS: where it listens and the training simulator it uses."""

    endpoint_url: str
    port: int
    region: str
    account_id: str
    simulator: TrainingSimulator = field(default_factory=TrainingSimulator)

    @property
    def notice(self) -> str:
        return (
            f"Local emulated AWS at {self.endpoint_url} (account {self.account_id}, {self.region}); {SIMULATED_NOTICE}."
        )


def aws_environment(endpoint_url: str, port: int, region: str) -> dict[str, str]:
    """The environment that points boto3 (and moto's own clients) at the emulator, with dummy credentials."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        # moto's Step Functions interpreter calls services at localhost:$MOTO_PORT.
        "MOTO_PORT": str(port),
        # Never fall back to a real profile or the instance metadata service.
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


@contextlib.contextmanager
def local_aws(
    region: str = DEFAULT_REGION,
    simulator: TrainingSimulator | None = None,
    without_patches: tuple[str, ...] = (),
) -> Iterator[LocalAws]:
    """Run the emulated AWS for the duration of the block; the environment is restored afterwards."""
    from moto.server import ThreadedMotoServer

    # The server's per-request access log would drown the run's own output.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # moto warns about every resource type it skips (bucket policies, CDK metadata): known, and not actionable here.
    logging.getLogger("moto").setLevel(logging.ERROR)
    # The interpreter logs every caught task failure as an error; the execution history already records it.
    logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", message="Tried to parse .* but it's not supported", category=UserWarning)
    # Port 0: the operating system picks a free port at bind time. Probing for a free port first and binding later
    # races with every other socket opened in between (the test suites open many).
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        port = server.get_host_and_port()[1]
        endpoint_url = f"http://127.0.0.1:{port}"
        aws = LocalAws(endpoint_url, port, region, ACCOUNT_ID, simulator or TrainingSimulator())
        variables = aws_environment(endpoint_url, port, region)
        # patch.dict restores the process environment exactly afterwards; a profile would point boto3 elsewhere.
        with mock.patch.dict(os.environ, variables), patches.applied(aws.simulator, without=without_patches):
            os.environ.pop("AWS_PROFILE", None)
            yield aws
    finally:
        server.stop()
        # moto's stop() ends the serving loop but leaves the listening socket open; close it with the server.
        if server._server is not None:
            server._server.server_close()
