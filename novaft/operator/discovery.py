"""Which CloudFormation stack is the pipeline, and what its outputs mean (pure)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from novaft.errors import UsageError
from novaft.operator.errors import StackOutputsMissing
from novaft.pipeline import facts

# CloudFormation stack names: a letter, then letters, digits and hyphens, 128 characters at most.
_STACK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
_STAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")
# Every pipeline stack name is this prefix, a stage, and this suffix.
_PIPELINE_PREFIX, _PIPELINE_SUFFIX = facts.pipeline_stack_name("{stage}").split("{stage}")


def pipeline_stack_name(stage: str) -> str:
    """The stack name the CDK app gives the pipeline of ``stage`` (docs/architecture.md, deployment units)."""
    if not _STAGE.fullmatch(stage):
        raise UsageError(f"stage {stage!r} is not valid: use letters, digits and hyphens (for example 'dev')")
    return facts.pipeline_stack_name(stage)


def resolve_stack_name(*, stack: str | None, stage: str | None, env_stage: str | None) -> str:
    """``--stack`` wins, then ``--stage``, then the ``NOVAFT_STAGE`` environment value, then ``dev``."""
    if stack:
        if not _STACK_NAME.fullmatch(stack):
            raise UsageError(f"--stack {stack!r} is not a CloudFormation stack name (letters, digits, hyphens)")
        return stack
    return pipeline_stack_name(stage or env_stage or facts.DEFAULT_STAGE)


def only_pipeline_stack(stack_names: Iterable[str]) -> str | None:
    """The pipeline stack when the account holds exactly one (``Novaft-<stage>-Pipeline``), else None."""
    pipelines = sorted(
        name
        for name in set(stack_names)
        if name.startswith(_PIPELINE_PREFIX)
        and name.endswith(_PIPELINE_SUFFIX)
        and _STAGE.fullmatch(name[len(_PIPELINE_PREFIX) : len(name) - len(_PIPELINE_SUFFIX)])
    )
    return pipelines[0] if len(pipelines) == 1 else None


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
    runs_prefix: str
    # The job spec runs without a job.yaml use (optional output ``DefaultJob``, JSON); lets submit check locally.
    default_job: dict[str, Any] | None = None
    # The role Bedrock assumes to import a checkpoint (optional output ``BedrockImportRoleArn``): `novaft deploy`.
    bedrock_import_role_arn: str | None = None
    # The stage policy as JSON (optional output ``StagePolicy``): `novaft deploy` checks provisioned throughput.
    stage_policy: dict[str, Any] | None = None

    @property
    def region(self) -> str:
        """The region the pipeline runs in, taken from the state machine ARN (arn:partition:states:region:...)."""
        return self.state_machine_arn.split(":")[3]


# Output key -> field, as listed in docs/architecture.md ("Stack outputs").
_OUTPUT_FIELDS = {
    facts.OUTPUT_STATE_MACHINE_ARN: "state_machine_arn",
    facts.OUTPUT_DATASETS_BUCKET: "datasets_bucket",
    facts.OUTPUT_ARTIFACTS_BUCKET: "artifacts_bucket",
    facts.OUTPUT_RUNS_TABLE: "runs_table",
    facts.OUTPUT_TOPIC_ARN: "topic_arn",
    facts.OUTPUT_INCOMING_PREFIX: "incoming_prefix",
    facts.OUTPUT_RUNS_PREFIX: "runs_prefix",
}
_PREFIX_FIELDS = ("incoming_prefix", "runs_prefix")


def pipeline_outputs_from_stack(stack_name: str, values: Mapping[str, str]) -> PipelineOutputs:
    """Read the stack's ``{OutputKey: OutputValue}``; every required output must be present."""
    missing = [key for key in facts.REQUIRED_PIPELINE_OUTPUTS if not values.get(key)]
    if missing:
        raise StackOutputsMissing(
            f"stack {stack_name} has no output(s) {', '.join(missing)}; is it fully deployed from this version "
            "of novaft?"
        )
    fields = {field: values[key] for key, field in _OUTPUT_FIELDS.items()}
    for prefix in _PREFIX_FIELDS:
        if not fields[prefix].endswith("/"):
            fields[prefix] += "/"
    return PipelineOutputs(
        stack_name=stack_name,
        default_job=_default_job(stack_name, values.get(facts.OUTPUT_DEFAULT_JOB)),
        bedrock_import_role_arn=values.get(facts.OUTPUT_BEDROCK_IMPORT_ROLE) or None,
        stage_policy=_json_output(values.get(facts.OUTPUT_STAGE_POLICY)),
        **fields,
    )


def _json_output(text: str | None) -> dict[str, Any] | None:
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _default_job(stack_name: str, text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise StackOutputsMissing(
            f"stack {stack_name} output {facts.OUTPUT_DEFAULT_JOB} is not a JSON object: {text[:80]!r}"
        )
    return value
