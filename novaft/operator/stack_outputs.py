"""Which CloudFormation stack is the pipeline, and what its outputs mean (pure)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from novaft.errors import UsageError
from novaft.operator.errors import StackOutputsMissing

DEFAULT_STAGE = "dev"
# CloudFormation stack names: a letter, then letters, digits and hyphens, 128 characters at most.
_STACK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
_STAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")


def pipeline_stack_name(stage: str) -> str:
    """The stack name the CDK app gives the pipeline of ``stage`` (docs/architecture.md, deployment units)."""
    if not _STAGE.fullmatch(stage):
        raise UsageError(f"stage {stage!r} is not valid: use letters, digits and hyphens (for example 'dev')")
    return f"Novaft-{stage}-Pipeline"


def resolve_stack_name(*, stack: str | None, stage: str | None, env_stage: str | None) -> str:
    """``--stack`` wins, then ``--stage``, then the ``NOVAFT_STAGE`` environment value, then ``dev``."""
    if stack:
        if not _STACK_NAME.fullmatch(stack):
            raise UsageError(f"--stack {stack!r} is not a CloudFormation stack name (letters, digits, hyphens)")
        return stack
    return pipeline_stack_name(stage or env_stage or DEFAULT_STAGE)


@dataclass(frozen=True)
class PipelineOutputs:
    """The pipeline stack's outputs the operator commands use."""

    stack_name: str
    state_machine_arn: str
    datasets_bucket: str
    artifacts_bucket: str
    runs_table: str
    topic_arn: str
    incoming_prefix: str
    # The job spec runs without a job.yaml use (optional output ``DefaultJob``, JSON); lets submit check locally.
    default_job: dict[str, Any] | None = None

    @property
    def region(self) -> str:
        """The region the pipeline runs in, taken from the state machine ARN (arn:partition:states:region:...)."""
        return self.state_machine_arn.split(":")[3]


# Output key -> field, as listed in docs/architecture.md ("Stack outputs").
_OUTPUT_FIELDS = {
    "StateMachineArn": "state_machine_arn",
    "DatasetsBucketName": "datasets_bucket",
    "ArtifactsBucketName": "artifacts_bucket",
    "RunsTableName": "runs_table",
    "TopicArn": "topic_arn",
    "IncomingPrefix": "incoming_prefix",
}


def pipeline_outputs_from_stack(stack_name: str, outputs: Iterable[Mapping[str, str]]) -> PipelineOutputs:
    """Read ``describe_stacks()['Stacks'][0]['Outputs']``; every listed output must be present."""
    values = {output["OutputKey"]: output.get("OutputValue", "") for output in outputs}
    missing = [key for key in _OUTPUT_FIELDS if not values.get(key)]
    if missing:
        raise StackOutputsMissing(
            f"stack {stack_name} has no output(s) {', '.join(missing)}; is it fully deployed from this version "
            "of novaft?"
        )
    fields = {field: values[key] for key, field in _OUTPUT_FIELDS.items()}
    if not fields["incoming_prefix"].endswith("/"):
        fields["incoming_prefix"] += "/"
    return PipelineOutputs(
        stack_name=stack_name, default_job=_default_job(stack_name, values.get(DEFAULT_JOB_OUTPUT)), **fields
    )


DEFAULT_JOB_OUTPUT = "DefaultJob"


def _default_job(stack_name: str, text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise StackOutputsMissing(f"stack {stack_name} output {DEFAULT_JOB_OUTPUT} is not a JSON object: {text[:80]!r}")
    return value
