"""One emulated AWS per test session with the real app deployed: synthesized once, as the pipeline ships."""

from __future__ import annotations

import json
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from novaft.cli import main
from novaft.local import watch
from novaft.local.assembly import LOCAL_STAGE, synthesize_local_timed
from novaft.local.deploy import deploy_assembly
from novaft.local.server import LocalAws, local_aws
from novaft.local.training import TrainingSimulator

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLES = REPO_ROOT / "samples"
SIMULATED_TRAINING_SECONDS = 1.5
WAIT_STATE_SECONDS = 0.3
# The local stage deploys as Novaft-local-Pipeline (docs/architecture.md, local emulated run).
STAGE = ["--stage", LOCAL_STAGE]


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def novaft(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run ``novaft ARGS...`` in-process and capture what it printed."""

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@dataclass
class DeployedPipeline:
    """The deployed stacks' outputs and the operations the scenarios share."""

    aws: LocalAws
    outputs: dict[str, str]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def simulator(self) -> TrainingSimulator:
        return self.aws.simulator

    def drop(self, key: str, body: bytes) -> None:
        boto3.client("s3").put_object(Bucket=self.outputs["DatasetsBucketName"], Key=key, Body=body)

    def executions(self, key: str, count: int = 1) -> list[str]:
        return watch.wait_for_executions(
            boto3.client("stepfunctions"), self.outputs["StateMachineArn"], key, count=count
        )

    def finished(self, execution_arn: str, timeout_seconds: float = 30.0) -> dict[str, Any]:
        return watch.wait_for_status(boto3.client("stepfunctions"), execution_arn, timeout_seconds)

    def run_for(self, execution_arn: str) -> dict[str, Any]:
        table = boto3.resource("dynamodb").Table(self.outputs["RunsTableName"])
        items = table.scan()["Items"]
        matching = [item for item in items if item.get("execution_arn") == execution_arn]
        assert len(matching) == 1, f"expected one run record for {execution_arn}, found {len(matching)}"
        return dict(matching[0])

    def runs_named(self, run_name: str) -> list[dict[str, Any]]:
        table = boto3.resource("dynamodb").Table(self.outputs["RunsTableName"])
        return [dict(item) for item in table.scan()["Items"] if item.get("run_name") == run_name]

    def training_jobs_containing(self, fragment: str) -> list[str]:
        names = [
            job["TrainingJobName"]
            for page in boto3.client("sagemaker").get_paginator("list_training_jobs").paginate()
            for job in page["TrainingJobSummaries"]
        ]
        return [name for name in names if fragment in name]

    def artifact_json(self, key: str) -> Any:
        body = boto3.client("s3").get_object(Bucket=self.outputs["ArtifactsBucketName"], Key=key)["Body"].read()
        return json.loads(body)


@pytest.fixture(scope="session")
def local_assembly() -> tuple[Path, float]:
    """The real app synthesized once per test session, and how long that took."""
    return synthesize_local_timed(Path(tempfile.mkdtemp(prefix="novaft-e2e-cdk-out-")))


def _reset_emulated_account(endpoint_url: str) -> None:
    """Start each module from an empty account: moto's backends live in this process and outlive a server, so the
    previous module's stacks would still be there (its public reset endpoint clears them)."""
    request = urllib.request.Request(f"{endpoint_url}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200, f"the emulator refused the reset: HTTP {response.status}"


# Module scope, not session: while the emulator runs, its patches and AWS_ENDPOINT_URL apply to the whole process,
# and other tests' own moto mocks must not see them.
@pytest.fixture(scope="module")
def pipeline(local_assembly: tuple[Path, float]) -> Iterator[DeployedPipeline]:
    assembly, synth_seconds = local_assembly
    timings: dict[str, float] = {"synth": synth_seconds}
    simulator = TrainingSimulator.for_local_runs(SIMULATED_TRAINING_SECONDS, WAIT_STATE_SECONDS)
    started = time.monotonic()
    with local_aws(simulator=simulator) as aws:
        timings["server"] = time.monotonic() - started
        started = time.monotonic()
        _reset_emulated_account(aws.endpoint_url)
        deployed = deploy_assembly(assembly)
        timings["deploy"] = time.monotonic() - started
        outputs = next(stack.outputs for name, stack in deployed.items() if name.endswith("-Pipeline"))
        print("\ne2e fixture: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timings.items()))
        yield DeployedPipeline(aws, outputs, timings)
