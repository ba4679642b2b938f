"""One synthesized app per test session, with cdk-nag registered: building the templates below is the nag gate."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from novaft.pipeline.facts import data_stack_name, pipeline_stack_name
from stacks.app_factory import REPO_ROOT, build_app
from stacks.config import STAGE_CONTEXT_KEY, STAGES_CONTEXT_KEY
from stacks.layer_manifest import LAYER_REQUIREMENTS, MARKER_NAME, requirements_hash

STAGE = "test"
REGION = "us-west-2"
TEST_STAGE_SETTINGS: dict[str, Any] = {
    "region": REGION,
    "retain_data": True,
    "log_retention_days": 30,
    "notification_email": "ops@example.com",
    "default_job": {"model": "micro", "method": "sft", "peft": "lora"},
    "poll_interval_seconds": 300,
    "max_training_hours": 48,
    # The price table has us-east-1 prices only: with a cost cap, a us-west-2 stage would refuse every run. False, not
    # null, turns the cap off (the CDK drops null values from context).
    "policy": {"max_run_usd": False},
}
# Every handler module of the repository (the ones defining lambda_handler): each must be deployed as a function.
HANDLERS = sorted(
    path.stem for path in (REPO_ROOT / "lambdas" / "handlers").glob("*.py") if "def lambda_handler(" in path.read_text()
)


def stage_context(**overrides: Any) -> dict[str, Any]:
    return {STAGE_CONTEXT_KEY: STAGE, STAGES_CONTEXT_KEY: {STAGE: {**TEST_STAGE_SETTINGS, **overrides}}}


def make_fake_layer(directory: Path) -> Path:
    """A layer directory that passes the app's checks without downloading wheels."""
    (directory / "python").mkdir(parents=True, exist_ok=True)
    (directory / MARKER_NAME).write_text(requirements_hash(REPO_ROOT / LAYER_REQUIREMENTS))
    return directory


def nag_findings(outdir: Path) -> list[str]:
    report = json.loads((outdir / "validation-report.json").read_text())
    return [
        f"{violation['ruleName']} at {construct['constructPath']}"
        for plugin in report.get("pluginReports", [])
        for violation in plugin.get("violations", [])
        for construct in violation.get("violatingConstructs", [])
    ]


@dataclass(frozen=True)
class SynthesizedApp:
    app: cdk.App
    outdir: Path
    data: Template
    pipeline: Template

    def template_dict(self, which: str) -> dict[str, Any]:
        stack_name = {"Data": data_stack_name, "Pipeline": pipeline_stack_name}[which](STAGE)
        return json.loads((self.outdir / f"{stack_name}.template.json").read_text())

    @property
    def templates(self) -> dict[str, Template]:
        return {"Data": self.data, "Pipeline": self.pipeline}


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SynthesizedApp]:
    layer_dir = make_fake_layer(tmp_path_factory.mktemp("layer"))
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = build_app(stage_context(), str(outdir), layer_dir=layer_dir)
    try:
        app.synth()
    except RuntimeError as error:  # jsii wraps cdk-nag's ValidationFailed
        if "ValidationFailed" not in str(error):
            raise
        pytest.fail("unacknowledged cdk-nag findings:\n" + "\n".join(nag_findings(outdir)), pytrace=False)
    data_stack = app.node.find_child(data_stack_name(STAGE))
    pipeline_stack = app.node.find_child(pipeline_stack_name(STAGE))
    assert isinstance(data_stack, cdk.Stack) and isinstance(pipeline_stack, cdk.Stack)
    yield SynthesizedApp(
        app=app, outdir=outdir, data=Template.from_stack(data_stack), pipeline=Template.from_stack(pipeline_stack)
    )
