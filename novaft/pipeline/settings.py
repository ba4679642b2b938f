"""The Lambda functions' settings, parsed once from the environment the stack gives them.

The names are the contract in docs/architecture.md ("Lambda settings"). The caller passes the environment in
(``Settings.from_env(os.environ)``), so this module stays pure and tests pass a plain dict.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from novaft.pipeline.errors import SettingsInvalid
from novaft.pipeline.facts import DEFAULT_INCOMING_PREFIX, DEFAULT_MAX_TRAINING_HOURS, DEFAULT_RUNS_PREFIX
from novaft.pipeline.json_object import json_object
from novaft.policy import PolicyConfigError, StagePolicy

ENV_NAMES: dict[str, str] = {
    "stage": "NOVAFT_STAGE",
    "datasets_bucket": "NOVAFT_DATASETS_BUCKET",
    "artifacts_bucket": "NOVAFT_ARTIFACTS_BUCKET",
    "runs_table": "NOVAFT_RUNS_TABLE",
    "kms_key_arn": "NOVAFT_KMS_KEY_ARN",
    "training_role_arn": "NOVAFT_TRAINING_ROLE_ARN",
    # The service role Bedrock assumes to read a checkpoint it imports (docs/deployment.md).
    "bedrock_role_arn": "NOVAFT_BEDROCK_ROLE_ARN",
    "topic_arn": "NOVAFT_TOPIC_ARN",
    "default_job": "NOVAFT_DEFAULT_JOB",
    "incoming_prefix": "NOVAFT_INCOMING_PREFIX",
    "runs_prefix": "NOVAFT_RUNS_PREFIX",
    "subnet_ids": "NOVAFT_SUBNET_IDS",
    "security_group_ids": "NOVAFT_SECURITY_GROUP_IDS",
    "max_training_seconds": "NOVAFT_MAX_TRAINING_SECONDS",
    # The stage policy as JSON (StagePolicy.to_dict); without it the policy's safe defaults apply.
    "policy": "NOVAFT_POLICY",
    # "true" when the workflow has the approval gate: a run that needs approval then waits for it instead of being
    # refused as ApprovalRequired (docs/policy.md, "Approval").
    "approval_gate": "NOVAFT_APPROVAL_GATE",
    # The stage's job.yaml `evaluation:` for jobs that set none (docs/evaluation.md), as JSON.
    "default_evaluation": "NOVAFT_DEFAULT_EVALUATION",
}
# Lambda sets AWS_REGION; AWS_DEFAULT_REGION is what local runs and tests usually set.
REGION_ENV_NAMES = ("AWS_REGION", "AWS_DEFAULT_REGION")
REQUIRED_FIELDS = ("stage", "artifacts_bucket", "runs_table")


def _comma_list(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _prefix(raw: str) -> str:
    # Prefixes are compared with str.startswith, so they always end with exactly one slash.
    stripped = raw.strip().strip("/")
    return f"{stripped}/" if stripped else ""


class Settings(BaseModel):
    """Every setting a workflow Lambda may need. Optional ones are checked by the step that uses them."""

    model_config = ConfigDict(frozen=True)

    stage: str
    artifacts_bucket: str
    runs_table: str
    datasets_bucket: str | None = None
    kms_key_arn: str | None = None
    training_role_arn: str | None = None
    bedrock_role_arn: str | None = None
    topic_arn: str | None = None
    default_job: dict[str, Any] | None = None
    incoming_prefix: str = DEFAULT_INCOMING_PREFIX
    runs_prefix: str = DEFAULT_RUNS_PREFIX
    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()
    # How long the workflow waits for a training job before stopping it (stage setting max_training_hours).
    max_training_seconds: int | None = None
    policy: StagePolicy = Field(default_factory=StagePolicy)
    approval_gate: bool = False
    default_evaluation: dict[str, Any] | None = None
    region: str = "us-east-1"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Parse the settings; a missing or malformed variable raises ``SettingsInvalid`` naming it."""
        missing = [ENV_NAMES[field] for field in REQUIRED_FIELDS if not environ.get(ENV_NAMES[field], "").strip()]
        if missing:
            raise SettingsInvalid(f"missing environment variable(s): {', '.join(missing)}")
        values: dict[str, Any] = {}
        for field, env_name in ENV_NAMES.items():
            raw = environ.get(env_name, "").strip()
            if not raw:
                continue
            if field in ("subnet_ids", "security_group_ids"):
                values[field] = _comma_list(raw)
            elif field in ("incoming_prefix", "runs_prefix"):
                values[field] = _prefix(raw)
            elif field in ("default_job", "policy", "default_evaluation"):
                values[field] = _json_object(env_name, raw)
            else:
                values[field] = raw
        region = next((environ[name] for name in REGION_ENV_NAMES if environ.get(name)), None)
        if region:
            values["region"] = region
        if "policy" in values:
            values["policy"] = _policy(values["policy"], values.get("max_training_seconds"))
        try:
            return cls(**values)
        except ValidationError as error:
            raise SettingsInvalid(f"environment settings are invalid: {error}") from None

    def require(self, field: str) -> str:
        """The value of an optional string setting a step cannot work without."""
        value = getattr(self, field)
        if not value:
            raise SettingsInvalid(f"environment variable {ENV_NAMES[field]} is required for this step but not set")
        return str(value)

    def run_prefix(self, run_id: str) -> str:
        """``runs/<run_id>/`` in the artifacts bucket."""
        return f"{self.runs_prefix}{run_id}/"


def _policy(data: dict[str, Any], max_training_seconds: str | None) -> StagePolicy:
    env_name = ENV_NAMES["policy"]
    try:
        hours = int(max_training_seconds) / 3600 if max_training_seconds else DEFAULT_MAX_TRAINING_HOURS
    except ValueError:
        raise SettingsInvalid(f"{ENV_NAMES['max_training_seconds']} is not a number of seconds") from None
    try:
        return StagePolicy.from_mapping(data, max_training_hours=hours, source=env_name)
    except PolicyConfigError as error:
        raise SettingsInvalid(str(error)) from None


def _json_object(env_name: str, raw: str) -> dict[str, Any]:
    return json_object(
        raw,
        not_json=lambda error: SettingsInvalid(f"{env_name} is not valid JSON: {error}"),
        not_object=lambda found: SettingsInvalid(f"{env_name} must be a JSON object, got {found}"),
    )
