"""The one typed configuration object of the CDK app, read from cdk.json context.

Only ``app.py`` (through ``stacks.app_factory``) builds it; stacks and constructs receive it as a parameter.
Context layout (cdk.json):

    "novaft:stage": "dev",            # the entry of novaft:stages to deploy (override: -c novaft:stage=prod)
    "novaft:stages": {"dev": {...}, "prod": {...}}

Each stage entry accepts the fields of ``StageConfig`` below; anything else is an error, so a typo never silently
falls back to a default. Its ``policy`` object is the stage policy (``novaft.policy.StagePolicy``, docs/policy.md),
checked here so that synth refuses a bad one with the key named.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from novaft.errors import NovaftError, UsageError
from novaft.pipeline.facts import (
    DEFAULT_INCOMING_PREFIX,
    DEFAULT_MAX_TRAINING_HOURS,
    DEFAULT_RUNS_PREFIX,
    DEFAULT_STAGE,
    STAGE_CONTEXT_KEY,
    STAGE_MAX_TRAINING_HOURS_KEY,
    STAGE_POLICY_KEY,
    STAGES_CONTEXT_KEY,
)
from novaft.policy import PolicyConfigError, StagePolicy, evaluate, policy_request_from
from novaft.recipes.catalog import load_catalog
from novaft.recipes.estimate import estimate_run, load_price_table
from novaft.recipes.job_spec import JobSpec
from stacks.constructs.log_group import CLOUDWATCH_RETENTION_DAYS
from stacks.constructs.workflow_definition import CapacityRetry

__all__ = ["STAGES_CONTEXT_KEY", "STAGE_CONTEXT_KEY", "ConfigError", "StageConfig", "VpcConfig"]

# Regions that host the SageMaker training-job (SMTJ) images for Nova, with the ECR account of each region. The
# recipe catalog (recipes/catalog.yaml, from launcher/recipe_templatization/nova/nova_regional_parameters.json in
# https://github.com/aws/sagemaker-hyperpod-recipes) is the one source; eu-west-2 hosts only inference and
# init-container images, so it is absent there.
NOVA_TRAINING_IMAGE_ACCOUNTS: Mapping[str, str] = dict(load_catalog().image_accounts)
# The ECR repository holding the SFT/DPO training images (the same regional parameters file).
NOVA_TRAINING_IMAGE_REPOSITORY = "nova-fine-tune-repo"

# Step Functions Standard keeps at most 25,000 events in an execution's history. One poll of the training job
# (Wait, DescribeTrainingJob, CountPoll, TrainingStatus) writes 11 events; the rest of a run stays under 200.
HISTORY_EVENT_LIMIT = 25_000
HISTORY_EVENTS_PER_POLL = 11
HISTORY_EVENTS_OUTSIDE_POLLING = 200
# SageMaker allows MaxRuntimeInSeconds up to 28 days (higher only via quota): SageMaker API reference,
# https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_StoppingCondition.html
SAGEMAKER_MAX_RUNTIME_HOURS = 28 * 24
# CreateTrainingJob VpcConfig limits (botocore service model for sagemaker): 1-16 subnets, 1-5 security groups.
MAX_SUBNETS = 16
MAX_SECURITY_GROUPS = 5


class ConfigError(UsageError):
    """cdk.json context that cannot be deployed; the message names the context key and the allowed values."""

    workflow_error = "InvalidConfiguration"


class VpcConfig(BaseModel):
    """Subnets and security groups the training jobs run in (optional; the Lambdas stay outside any VPC)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subnet_ids: tuple[str, ...] = Field(min_length=1, max_length=MAX_SUBNETS)
    security_group_ids: tuple[str, ...] = Field(min_length=1, max_length=MAX_SECURITY_GROUPS)

    @field_validator("subnet_ids", "security_group_ids")
    @classmethod
    def _ids_have_their_prefix(cls, ids: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        prefix = "subnet-" if info.field_name == "subnet_ids" else "sg-"
        wrong = [item for item in ids if not item.startswith(prefix) or " " in item]
        if wrong:
            raise ValueError(f"{', '.join(map(repr, wrong))}: not an id starting with {prefix!r}")
        return ids


class StageConfig(BaseModel):
    """Everything a deployment of novaft can vary, for one stage."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stage: str = Field(pattern=r"^[a-z][a-z0-9-]{0,15}$")
    region: str
    account: str | None = None
    # The job spec used when a dataset arrives without its own job.yaml (incoming/<name>.jsonl). Its schema belongs
    # to novaft.recipes; the stack passes it through unchanged as NOVAFT_DEFAULT_JOB.
    default_job: dict[str, Any]
    retain_data: bool = True
    log_retention_days: int = 90
    notification_email: str | None = None
    vpc: VpcConfig | None = None
    # How often the workflow asks SageMaker for the job status, and the longest training it waits for. Together they
    # bound the poll counter and the state-machine timeout.
    poll_interval_seconds: int = Field(default=300, ge=60, le=3600)
    max_training_hours: int = Field(default=DEFAULT_MAX_TRAINING_HOURS, ge=1, le=SAGEMAKER_MAX_RUNTIME_HOURS)
    validation_memory_mb: int = Field(default=1769, ge=128, le=10_240)
    incoming_prefix: str = DEFAULT_INCOMING_PREFIX
    runs_prefix: str = DEFAULT_RUNS_PREFIX
    # cdk.json's policy object, read by StagePolicy.from_mapping (_policy_from_mapping); absent, the safe defaults.
    policy: StagePolicy = Field(default_factory=StagePolicy)
    # job.yaml's `evaluation:` for runs whose job spec sets none (docs/evaluation.md); absent, no default evaluation.
    default_evaluation: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _policy_from_mapping(cls, data: Any) -> Any:
        # from_mapping needs max_training_hours (the default runtime bound follows it) and names every wrong key;
        # its ConfigError is not a ValueError, so it leaves pydantic as raised.
        if isinstance(data, Mapping) and not isinstance(data.get(STAGE_POLICY_KEY), StagePolicy):
            source = f"cdk.json context {STAGES_CONTEXT_KEY}.{data.get('stage')}"
            return {**data, STAGE_POLICY_KEY: _stage_policy(data, source=source)}
        return data

    @field_validator("region")
    @classmethod
    def _region_has_training_images(cls, region: str) -> str:
        if region not in NOVA_TRAINING_IMAGE_ACCOUNTS:
            allowed = ", ".join(sorted(NOVA_TRAINING_IMAGE_ACCOUNTS))
            raise ValueError(
                f"region {region!r} has no Amazon Nova SageMaker training images; deploy to one of: {allowed}"
            )
        return region

    @field_validator("default_job")
    @classmethod
    def _default_job_is_a_job_spec(cls, job: dict[str, Any]) -> dict[str, Any]:
        try:
            JobSpec.model_validate(job)
        except NovaftError as error:
            raise ValueError(str(error).replace("\n", " ")) from None
        return job

    @model_validator(mode="after")
    def _default_evaluation_is_an_evaluation(self) -> StageConfig:
        # Checked as part of the default job, so the tasks are checked against its model.
        if self.default_evaluation is not None:
            try:
                JobSpec.model_validate({**self.default_job, "evaluation": self.default_evaluation})
            except NovaftError as error:
                raise ValueError("default_evaluation: " + str(error).replace("\n", " ")) from None
        return self

    @field_validator("log_retention_days")
    @classmethod
    def _retention_is_a_cloudwatch_value(cls, days: int) -> int:
        if days not in CLOUDWATCH_RETENTION_DAYS:
            raise ValueError(
                f"log_retention_days {days} is not a CloudWatch Logs retention; use one of {CLOUDWATCH_RETENTION_DAYS}"
            )
        return days

    @field_validator("incoming_prefix", "runs_prefix")
    @classmethod
    def _prefix_ends_with_one_slash(cls, prefix: str) -> str:
        stripped = prefix.strip().strip("/")
        if not stripped:
            raise ValueError("a prefix must not be empty")
        return f"{stripped}/"

    @model_validator(mode="after")
    def _default_job_fits_the_training_bound(self) -> StageConfig:
        runtime = JobSpec.model_validate(self.default_job).max_runtime_seconds
        if runtime > self.max_training_hours * 3600:
            raise ValueError(
                f"default_job max_runtime_seconds {runtime} is longer than max_training_hours "
                f"{self.max_training_hours} ({self.max_training_hours * 3600} s), after which the workflow stops "
                "the job; lower the one or raise the other"
            )
        return self

    @model_validator(mode="after")
    def _policy_fits_the_training_bound(self) -> StageConfig:
        if self.policy.max_runtime_hours > self.max_training_hours:
            raise ValueError(
                f"policy.max_runtime_hours {self.policy.max_runtime_hours:g} is longer than max_training_hours "
                f"{self.max_training_hours}, after which the workflow stops the job"
            )
        return self

    @model_validator(mode="after")
    def _default_job_obeys_the_policy(self) -> StageConfig:
        # A default job the stage refuses would fail every drop without a job.yaml. Only the rules: whether a run
        # needs approval depends on its dataset, which synth does not have.
        spec = JobSpec.model_validate(self.default_job)
        estimate = estimate_run(spec, None, load_price_table(), region=self.region)
        violations = evaluate(self.policy, policy_request_from(spec, estimate)).violations
        if violations:
            found = "; ".join(finding.describe() for finding in violations)
            raise ValueError(f"default_job breaks the stage policy: {found}")
        return self

    @model_validator(mode="after")
    def _polling_fits_execution_history(self) -> StageConfig:
        events = self.max_polls * HISTORY_EVENTS_PER_POLL + HISTORY_EVENTS_OUTSIDE_POLLING
        if events > HISTORY_EVENT_LIMIT:
            shortest = math.ceil(self.max_training_hours * 3600 * HISTORY_EVENTS_PER_POLL / (HISTORY_EVENT_LIMIT - 500))
            raise ValueError(
                f"poll_interval_seconds {self.poll_interval_seconds} with max_training_hours {self.max_training_hours} "
                f"needs about {events} execution-history events (limit {HISTORY_EVENT_LIMIT}); "
                f"raise poll_interval_seconds to at least {shortest}"
            )
        return self

    @property
    def max_polls(self) -> int:
        """Polls allowed before the workflow stops the job: the training bound plus one hour for start and stop."""
        return math.ceil((self.max_training_hours + 1) * 3600 / self.poll_interval_seconds)

    @property
    def workflow_timeout_hours(self) -> int:
        """State-machine timeout: the poll bound, StartTraining's longest capacity wait, and two hours for
        validation, rendering and recording. Shorter, and a run that waited for instances would end TIMED_OUT
        (recorded Stopped) instead of reaching its own TrainingTimedOut."""
        capacity_wait_hours = math.ceil(CapacityRetry().worst_case_wait_seconds / 3600)
        return self.max_training_hours + 3 + capacity_wait_hours

    @property
    def image_account(self) -> str:
        return NOVA_TRAINING_IMAGE_ACCOUNTS[self.region]

    @classmethod
    def from_context(cls, context: Mapping[str, Any], *, default_region: str | None = None) -> StageConfig:
        """Build the config of the selected stage; ``default_region`` applies when the stage names no region."""
        stage = context.get(STAGE_CONTEXT_KEY) or DEFAULT_STAGE
        stages = context.get(STAGES_CONTEXT_KEY)
        if not isinstance(stages, Mapping) or not stages:
            raise ConfigError(
                f"cdk.json context {STAGES_CONTEXT_KEY!r} is missing or empty; it maps stage names to settings"
            )
        if stage not in stages:
            raise ConfigError(
                f"context {STAGE_CONTEXT_KEY}={stage!r} is not a stage in {STAGES_CONTEXT_KEY}; "
                f"use one of: {', '.join(stages)}"
            )
        values = dict(stages[stage])
        if not values.get("region"):
            if not default_region:
                raise ConfigError(
                    f"stage {stage!r} names no region and none is configured; set {STAGES_CONTEXT_KEY}.{stage}.region"
                )
            values["region"] = default_region
        try:
            return cls(stage=stage, **values)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in issue['loc']) or 'stage'}: "
                f"{issue['msg'].removeprefix('Value error, ')} (given {issue.get('input')!r})"
                for issue in error.errors()
            )
            raise ConfigError(f"cdk.json context {STAGES_CONTEXT_KEY}.{stage} is invalid: {problems}") from None


def _stage_policy(values: Mapping[str, Any], *, source: str) -> StagePolicy:
    """The stage's ``policy`` object; ``ConfigError`` names the stage and each wrong key (``policy.max_run_usd``)."""
    hours = values.get(STAGE_MAX_TRAINING_HOURS_KEY, DEFAULT_MAX_TRAINING_HOURS)
    if isinstance(hours, bool) or not isinstance(hours, int | float):
        hours = DEFAULT_MAX_TRAINING_HOURS  # StageConfig names the wrong max_training_hours itself
    try:
        return StagePolicy.from_mapping(values.get(STAGE_POLICY_KEY, {}), max_training_hours=hours, source=source)
    except PolicyConfigError as error:
        raise ConfigError(str(error)) from None
