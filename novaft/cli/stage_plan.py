"""``novaft plan --stage NAME``: the stage's settings and policy, read offline from cdk.json, and the verdict on a plan.

The same ``StagePolicy.from_mapping`` the CDK app runs at synth reads the stage's ``policy`` object, and the same
``evaluate`` RenderRecipe runs judges the plan, so the command refuses what the pipeline would refuse, with the same
message (docs/policy.md). The stage's ``default_evaluation`` applies to a spec that sets no evaluation, as in the
pipeline, and the evaluation jobs are estimated and counted as RenderRecipe counts them (docs/evaluation.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from novaft.errors import InputFileError, UsageError
from novaft.pipeline.facts import (
    DEFAULT_MAX_TRAINING_HOURS,
    STAGE_DEFAULT_EVALUATION_KEY,
    STAGE_MAX_TRAINING_HOURS_KEY,
    STAGE_POLICY_KEY,
    STAGES_CONTEXT_KEY,
    STATUS_AWAITING_APPROVAL,
    STATUS_REJECTED,
)
from novaft.policy import PolicyDecision, StagePolicy
from novaft.recipes import JobSpec

if TYPE_CHECKING:  # the pipeline's evaluation module is imported only by a plan that runs
    from novaft.pipeline.steps.evaluation import EvaluationEstimate

DEFAULT_CDK_JSON = Path("cdk.json")


@dataclass(frozen=True)
class StagePlanSettings:
    """What one cdk.json stage decides about every job: its region, VPC, policy and default evaluation."""

    name: str
    region: str | None
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    policy: StagePolicy
    default_evaluation: Mapping[str, Any] | None = None
    source: str = ""


# A project's cdk.json is a few KB; reading at most this much bounds what a wrong path can cost.
MAX_CDK_JSON_BYTES = 1024 * 1024


def read_stage(cdk_json: Path, name: str) -> StagePlanSettings:
    """The stage ``name`` of ``cdk_json``; ``UsageError`` names the file, the stage or the policy key at fault."""
    try:
        with cdk_json.open("rb") as stream:
            raw = stream.read(MAX_CDK_JSON_BYTES + 1)
    except FileNotFoundError:
        raise InputFileError(f"{cdk_json}: no such file (run in the project directory, or pass --cdk-json)") from None
    except OSError as exc:
        raise InputFileError(f"{cdk_json}: cannot read ({exc})") from None
    if len(raw) > MAX_CDK_JSON_BYTES:
        raise UsageError(f"{cdk_json}: larger than {MAX_CDK_JSON_BYTES:,} bytes; is it the project's cdk.json?")
    try:
        # orjson refuses invalid UTF-8 and nesting past 1,024 levels with a JSONDecodeError, never a RecursionError.
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise UsageError(f"{cdk_json}: not JSON (line {exc.lineno}): {exc.msg}") from None
    context = document.get("context") if isinstance(document, Mapping) else None
    stages = context.get(STAGES_CONTEXT_KEY) if isinstance(context, Mapping) else None
    if not isinstance(stages, Mapping) or not stages:
        raise UsageError(f"{cdk_json}: context {STAGES_CONTEXT_KEY!r} is missing or empty")
    if name not in stages:
        raise UsageError(f"--stage {name!r}: not a stage in {cdk_json}; use one of: {', '.join(stages)}")
    entry = stages[name]
    if not isinstance(entry, Mapping):
        raise UsageError(f"{cdk_json}: {STAGES_CONTEXT_KEY}.{name} is not a mapping")
    hours = entry.get(STAGE_MAX_TRAINING_HOURS_KEY, DEFAULT_MAX_TRAINING_HOURS)
    if isinstance(hours, bool) or not isinstance(hours, int | float):
        raise UsageError(f"{cdk_json}: {STAGES_CONTEXT_KEY}.{name}.{STAGE_MAX_TRAINING_HOURS_KEY}: not a number")
    source = f"{cdk_json}: {STAGES_CONTEXT_KEY}.{name}"
    policy = StagePolicy.from_mapping(entry.get(STAGE_POLICY_KEY, {}), max_training_hours=hours, source=source)
    default_evaluation = entry.get(STAGE_DEFAULT_EVALUATION_KEY)
    if default_evaluation is not None and not isinstance(default_evaluation, Mapping):
        raise UsageError(f"{source}.{STAGE_DEFAULT_EVALUATION_KEY}: not a mapping")
    vpc = entry.get("vpc") or {}
    region = entry.get("region")
    return StagePlanSettings(
        name=name,
        region=region if isinstance(region, str) and region else None,
        subnet_ids=tuple(vpc.get("subnet_ids") or ()),
        security_group_ids=tuple(vpc.get("security_group_ids") or ()),
        policy=policy,
        default_evaluation=default_evaluation,
        source=source,
    )


def with_default_evaluation(spec: JobSpec, stage: StagePlanSettings) -> JobSpec:
    """The spec with the stage's ``default_evaluation`` when it sets no ``evaluation`` itself, as the pipeline reads
    a run's job.yaml (novaft.pipeline.job_spec_source.job_spec_from); a ``JobSpecError`` names the stage's key."""
    if stage.default_evaluation is None or "evaluation" in spec.model_fields_set:
        return spec
    mapping = {**spec.model_dump(mode="json", exclude_unset=True), "evaluation": dict(stage.default_evaluation)}
    return JobSpec.model_validate(mapping, context={"source": f"{stage.source}.{STAGE_DEFAULT_EVALUATION_KEY}"})


def evaluation_lines(estimate: EvaluationEstimate) -> list[str]:
    """The evaluation jobs in the plan's estimate section: how many, on what, their estimate and their ceiling."""
    if estimate.jobs == 0:
        return []
    hours = estimate.max_runtime_seconds / 3600
    assumed = estimate.to_dict()["assumed_hours_per_job"]
    where = f"{estimate.jobs} job(s) x {estimate.instance_count} x {estimate.instance_type}"
    if estimate.price_per_instance_hour is None:
        return [f"  evaluation      {where}: no price for {estimate.instance_type}, no cost estimate"]
    return [
        f"  evaluation      {where} at {estimate.price_per_instance_hour} USD/instance-hour",
        f"  evaluation cost ~{estimate.estimated_cost_usd} USD (assumed {assumed:g} h per job), "
        f"ceiling {estimate.ceiling_usd} USD ({hours:g} h max runtime per job)",
    ]


def verdict_lines(
    stage: StagePlanSettings, decision: PolicyDecision, *, evaluation_ceiling_usd: float = 0.0
) -> list[str]:
    """The plan's policy section in words: refused with every finding, cleared, or waiting for approval and why."""
    lines = [f"Stage policy ({stage.name}):"]
    if decision.violations:
        lines.append("  refused: the pipeline records the run as PolicyViolation and starts no job")
        lines += [f"  - {finding.describe()}" for finding in decision.violations]
    elif decision.needs_approval:
        lines.append("  allowed, but it will wait for approval before it starts, because:")
        lines += [f"  - {reason}" for reason in decision.approval_reasons]
        lines.append(
            f"  (the run waits as {STATUS_AWAITING_APPROVAL} until `novaft approve RUN` or `novaft reject RUN "
            f"--reason TEXT`; unanswered within {stage.policy.approval_timeout_hours:g} h it is {STATUS_REJECTED})"
        )
    else:
        lines.append("  allowed: no rule broken, no approval needed")
    if decision.cost_ceiling_usd is not None:
        evaluation = f" + evaluation jobs ${evaluation_ceiling_usd:,.2f}" if evaluation_ceiling_usd else ""
        lines.append(f"  cost ceiling: ${decision.cost_ceiling_usd:,.2f} (instances x max runtime x price{evaluation})")
    return lines


def policy_section(stage: StagePlanSettings, decision: PolicyDecision) -> dict[str, Any]:
    """The plan JSON's ``policy``: the stage, its policy and the decision (``PolicyDecision.to_dict``)."""
    return {"stage": stage.name, "policy": stage.policy.to_dict(), "decision": decision.to_dict()}
