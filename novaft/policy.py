"""The stage policy: what one deployment lets a job ask for, and whether one run is refused or needs approval.

Each stage in cdk.json may carry a ``policy`` object (keys, defaults and reasons in docs/policy.md). The CDK app checks
it at synth time with ``StagePolicy.from_mapping`` and hands it to the workflow as JSON (``StagePolicy.to_dict``).
``evaluate`` compares one run's ``PolicyRequest`` with it: a violation refuses the run (``PolicyViolation`` names the
rule, the value and the limit); an allowed run may still need approval, and the decision says why.

Pure: no AWS calls and no environment. The caller gathers the figures (price, estimate, recent spend, running jobs).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Annotated, Any, Final

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from novaft.errors import Problem, ProblemsFound
from novaft.pipeline import facts
from novaft.pipeline.errors import ApprovalRequired, PolicyViolation
from novaft.recipes.catalog import load_catalog
from novaft.recipes.job_spec import STAGE_OWNED_FIELDS

if TYPE_CHECKING:
    from novaft.recipes.estimate import Estimate
    from novaft.recipes.job_spec import JobSpec

# A Standard state machine execution lives at most one year, so no approval can be awaited longer.
MAX_APPROVAL_TIMEOUT_HOURS: Final = 365 * 24
# The validation context key through which ``from_mapping`` passes the stage's max_training_hours.
_MAX_TRAINING_HOURS: Final = "max_training_hours"
_CUSTOM_ERROR: Final = "policy_value"
# Optional limits that cdk.json turns off with false (null there is dropped by the CDK and means the default).
_SWITCHED_OFF_BY_FALSE: Final = ("allowed_instance_types", "max_run_usd", "approval_above_usd", "budget_usd")

_Count = Annotated[int, Strict(), Field(ge=1)]
_Hours = Annotated[float, Strict(), Field(gt=0, allow_inf_nan=False)]
_Usd = Annotated[float, Strict(), Field(ge=0, allow_inf_nan=False)]
# Zero would refuse every run; a stage that must not train is better not deployed.
_UsdCap = Annotated[float, Strict(), Field(gt=0, allow_inf_nan=False)]
_Switch = Annotated[bool, Strict()]


class PolicyConfigError(ProblemsFound):
    """A stage policy in cdk.json that cannot be deployed; lists every problem with its key path."""

    workflow_error = "InvalidConfiguration"


class StagePolicy(BaseModel):
    """The limits one stage puts on every run. Defaults are safe for a first deployment (docs/policy.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    allowed_models: tuple[facts.ModelName, ...] = facts.MODEL_NAMES
    allowed_methods: tuple[facts.Method, ...] = facts.METHODS
    allowed_peft: tuple[facts.Peft, ...] = ("lora",)
    # None: any instance type the recipe catalog offers for the model, method and PEFT.
    allowed_instance_types: tuple[Annotated[str, Strict()], ...] | None = None
    max_instance_count: _Count = 4
    # When cdk.json leaves it out, from_mapping lowers it to the stage's max_training_hours if that is shorter.
    max_runtime_hours: _Hours = 24
    max_run_usd: _UsdCap | None = 6000
    approval_above_usd: _Usd | None = 500
    budget_usd: _Usd | None = None
    approval_timeout_hours: Annotated[
        float, Strict(), Field(gt=0, le=MAX_APPROVAL_TIMEOUT_HOURS, allow_inf_nan=False)
    ] = 72
    max_concurrent_jobs: _Count = 2
    allowed_tag_keys: tuple[Annotated[str, Strict()], ...] = ()
    require_network_isolation: _Switch = False
    allow_base_checkpoint_uri: _Switch = False
    # Provisioned throughput bills by the hour while it exists, so a stage must opt in (docs/deployment.md).
    allow_provisioned_throughput: _Switch = False
    max_model_units: _Count = 1

    @classmethod
    def from_mapping(cls, data: Any, *, max_training_hours: float, source: str = "stage policy") -> StagePolicy:
        """Check the ``policy`` object of one cdk.json stage; ``PolicyConfigError`` names every wrong key."""
        if not isinstance(data, Mapping):
            problem = Problem("policy", data, "a mapping of the policy keys", "not a mapping")
            raise PolicyConfigError([problem], source=source)
        # The CDK drops null values from cdk.json context before the app sees them, so null must mean what leaving the
        # key out means everywhere (the app, `novaft plan --stage`, the functions); false turns a limit off.
        values = {key: value for key, value in data.items() if value is not None}
        if "max_runtime_hours" not in values:
            default = cls.model_fields["max_runtime_hours"].default
            values["max_runtime_hours"] = min(default, max_training_hours)
        try:
            return cls.model_validate(values, context={_MAX_TRAINING_HOURS: max_training_hours})
        except ValidationError as exc:
            problems = [_problem_from_pydantic(error, max_training_hours) for error in exc.errors()]
            raise PolicyConfigError(problems, source=source) from None

    def to_dict(self) -> dict[str, Any]:
        """The policy as JSON-ready data; ``from_mapping`` reads it back unchanged (a limit turned off is false)."""
        data = self.model_dump(mode="json")
        for name, field in type(self).model_fields.items():
            if data[name] is None and field.default is not None:
                data[name] = False
        return data

    @field_validator(*_SWITCHED_OFF_BY_FALSE, mode="before")
    @classmethod
    def _false_turns_a_limit_off(cls, value: Any) -> Any:
        return None if value is False else value

    @field_validator("allowed_models", "allowed_methods", "allowed_peft", "allowed_instance_types")
    @classmethod
    def _allowed_list_is_not_empty(cls, choices: tuple[str, ...] | None) -> tuple[str, ...] | None:
        # An empty list would refuse every run; a stage that must not train is better not deployed.
        if choices is not None and not choices:
            raise PydanticCustomError(_CUSTOM_ERROR, "must not be empty")
        return choices

    @field_validator("allowed_instance_types")
    @classmethod
    def _instance_types_are_in_the_catalog(cls, types: tuple[str, ...] | None) -> tuple[str, ...] | None:
        known = _catalog_instance_types()
        unknown = [name for name in types or () if name not in known]
        if unknown:
            raise PydanticCustomError(
                _CUSTOM_ERROR, "no Nova recipe runs on {unknown}", {"unknown": ", ".join(unknown)}
            )
        return types

    @field_validator("allowed_tag_keys")
    @classmethod
    def _tag_keys_are_not_reserved(cls, keys: tuple[str, ...]) -> tuple[str, ...]:
        if any(not key.strip() for key in keys):
            raise PydanticCustomError(_CUSTOM_ERROR, "a tag key must not be empty")
        reserved = [key for key in keys if _is_reserved_tag(key)]
        if reserved:
            raise PydanticCustomError(
                _CUSTOM_ERROR,
                "{reserved}: the '{prefix}' prefix is reserved for the platform's own tags",
                {"reserved": ", ".join(reserved), "prefix": facts.RESERVED_TAG_PREFIX},
            )
        return keys

    @field_validator("max_runtime_hours")
    @classmethod
    def _runtime_fits_the_stage(cls, hours: float, info: ValidationInfo) -> float:
        # The workflow stops waiting for a job after the stage's max_training_hours; a longer job would outlive it.
        stage_hours = (info.context or {}).get(_MAX_TRAINING_HOURS)
        if stage_hours is not None and hours > stage_hours:
            raise PydanticCustomError(
                _CUSTOM_ERROR,
                "longer than the stage's max_training_hours ({stage_hours}), after which the workflow stops the job",
                {"stage_hours": f"{stage_hours:g}"},
            )
        return hours

    @model_validator(mode="after")
    def _approval_is_reachable(self) -> StagePolicy:
        if (
            self.max_run_usd is not None
            and self.approval_above_usd is not None
            and self.approval_above_usd > self.max_run_usd
        ):
            raise PydanticCustomError(
                _CUSTOM_ERROR,
                "above max_run_usd ({max_run_usd}), so no allowed run could ever need approval",
                {"key": "approval_above_usd", "given": self.approval_above_usd, "max_run_usd": f"{self.max_run_usd:g}"},
            )
        return self


def _catalog_instance_types() -> tuple[str, ...]:
    catalog = load_catalog()
    return tuple(dict.fromkeys(name for variant in catalog.variants for name in variant.instance_types))


def _is_reserved_tag(key: str) -> bool:
    return key.strip().lower().startswith(facts.RESERVED_TAG_PREFIX)


def _allowed(key: str, max_training_hours: float) -> str:
    """What each policy key accepts, in cdk.json terms."""
    descriptions = {
        "allowed_models": "a non-empty list of " + ", ".join(facts.MODEL_NAMES),
        "allowed_methods": "a non-empty list of " + ", ".join(facts.METHODS),
        "allowed_peft": "a non-empty list of " + ", ".join(facts.PEFT_CHOICES),
        "allowed_instance_types": "false (any the recipe catalog offers) or a non-empty list of "
        + ", ".join(_catalog_instance_types()),
        "max_instance_count": "an integer, 1 or more",
        "max_runtime_hours": f"a number above 0, at most the stage's max_training_hours ({max_training_hours:g})",
        "max_run_usd": "false (no cap) or US dollars above 0",
        "approval_above_usd": "false (never ask) or US dollars, 0 or more and at most max_run_usd",
        "budget_usd": "false (no budget) or US dollars, 0 or more",
        "approval_timeout_hours": f"a number above 0, at most {MAX_APPROVAL_TIMEOUT_HOURS}",
        "max_concurrent_jobs": "an integer, 1 or more",
        "allowed_tag_keys": f"a list of tag keys not starting with '{facts.RESERVED_TAG_PREFIX}'",
        "require_network_isolation": "true or false",
        "allow_base_checkpoint_uri": "true or false",
        "allow_provisioned_throughput": "true or false",
        "max_model_units": "an integer, 1 or more",
    }
    return descriptions.get(key, "one of the policy keys: " + ", ".join(StagePolicy.model_fields))


def _problem_from_pydantic(error: Mapping[str, Any], max_training_hours: float) -> Problem:
    loc = tuple(error.get("loc", ()))
    ctx = error.get("ctx") or {}
    # A model-level check has no location; it names its key in its context instead.
    field = str(loc[0]) if loc else str(ctx.get("key", ""))
    key = "policy." + field + "".join(f"[{part}]" for part in loc[1:])
    given = ctx["given"] if "given" in ctx else error.get("input")
    kind = str(error.get("type", ""))
    if kind == "extra_forbidden":
        return Problem(key, given, _allowed("", max_training_hours), "unknown key")
    if kind == _CUSTOM_ERROR:
        reason = str(error.get("msg", "not allowed"))
    elif kind == "literal_error":
        reason = "not a valid choice"
    elif kind.endswith("_type"):
        reason = "wrong type"
    else:
        reason = "out of range"
    return Problem(key, given, _allowed(field, max_training_hours), reason)


# --- One run against the policy --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunChoices:
    """What one run chooses and how big it is: what the policy judges first, and what an approver is shown."""

    model: str
    method: str
    peft: str
    instance_type: str
    instance_count: int
    max_runtime_hours: float


@dataclass(frozen=True)
class PolicyRequest(RunChoices):
    """What one run would start, with the figures the caller could find (None where unknown)."""

    price_per_instance_hour: float | None
    estimated_cost_usd: float | None
    tag_keys: tuple[str, ...] = ()
    base_checkpoint_uri_given: bool = False
    spent_last_30_days_usd: float | None = None
    # Jobs of this stage training now, not counting this run.
    active_jobs: int | None = None
    region: str | None = None
    deploy_target: str = facts.DEPLOY_NONE
    model_units: int | None = None
    # The evaluation jobs after training (job.yaml evaluation:): their own hard bound, added to the run's ceiling.
    evaluation_ceiling_usd: float = 0.0


@dataclass(frozen=True)
class PolicyFinding:
    """One rule a run breaks: the policy key, the run's value, the stage's limit and what it means."""

    rule: str
    value: str
    limit: str
    message: str

    def describe(self) -> str:
        return f"{self.rule}: {self.message} (given: {self.value}; limit: {self.limit})"


@dataclass(frozen=True)
class PolicyDecision:
    violations: tuple[PolicyFinding, ...]
    approval_reasons: tuple[str, ...]
    # The most one job can bill (see evaluate); None when the instance type has no price.
    cost_ceiling_usd: float | None

    @property
    def allowed(self) -> bool:
        return not self.violations

    @property
    def needs_approval(self) -> bool:
        """An allowed run that waits for someone's approval; a refused run never gets that far."""
        return self.allowed and bool(self.approval_reasons)

    def raise_for_violations(self) -> None:
        if self.violations:
            raise PolicyViolation(self.violations)

    def raise_unless_cleared_to_start(self) -> None:
        """Refuse a run that breaks a rule, or that needs an approval nobody can give yet (``ApprovalRequired``)."""
        self.raise_for_violations()
        if self.approval_reasons:
            raise ApprovalRequired(self.approval_reasons)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "allowed": self.allowed, "needs_approval": self.needs_approval}


def cost_ceiling_usd(request: PolicyRequest) -> float | None:
    """instance count x max runtime x price per instance-hour, plus the evaluation jobs' own ceiling, in cents; None
    without a price.

    SageMaker stops a training job when it reaches MaxRuntimeInSeconds, so this is the hard bound of what one job can
    bill, whatever the estimate says.
    """
    if request.price_per_instance_hour is None:
        return None
    training = request.instance_count * request.max_runtime_hours * request.price_per_instance_hour
    return round(training + request.evaluation_ceiling_usd, 2)


def evaluate(policy: StagePolicy, request: PolicyRequest) -> PolicyDecision:
    """Every rule the run breaks, and why an allowed run needs approval.

    ``max_run_usd`` applies to the cost ceiling, the only figure that truly bounds spend. ``approval_above_usd``
    applies to the estimate when there is one (capped at the ceiling, which the job cannot bill past), else to the
    ceiling. The rolling ``budget_usd`` asks for approval when the last 30 days' spend plus the ceiling would pass it.
    """
    ceiling = cost_ceiling_usd(request)
    violations = [
        *_choice_findings(policy, request),
        *_size_findings(policy, request),
        *_cost_findings(policy, request, ceiling),
        *_tag_findings(policy, request),
        *_deploy_findings(policy, request),
    ]
    if request.base_checkpoint_uri_given and not policy.allow_base_checkpoint_uri:
        violations.append(
            PolicyFinding(
                "allow_base_checkpoint_uri",
                "an s3:// base checkpoint URI",
                "only an earlier run's id",
                "this stage starts from a base checkpoint only by naming an earlier run",
            )
        )
    if request.active_jobs is not None and request.active_jobs >= policy.max_concurrent_jobs:
        violations.append(
            PolicyFinding(
                "max_concurrent_jobs",
                f"{request.active_jobs} jobs already training",
                f"{policy.max_concurrent_jobs} at once",
                "this stage already runs as many jobs as it allows at once",
            )
        )
    return PolicyDecision(
        violations=tuple(violations),
        approval_reasons=tuple(_approval_reasons(policy, request, ceiling)),
        cost_ceiling_usd=ceiling,
    )


def _choice_findings(policy: StagePolicy, request: PolicyRequest) -> list[PolicyFinding]:
    checks: list[tuple[str, str, str, Sequence[str] | None]] = [
        ("allowed_models", "model", request.model, policy.allowed_models),
        ("allowed_methods", "method", request.method, policy.allowed_methods),
        ("allowed_peft", "peft", request.peft, policy.allowed_peft),
        ("allowed_instance_types", "instance type", request.instance_type, policy.allowed_instance_types),
    ]
    return [
        PolicyFinding(rule, repr(value), ", ".join(allowed), f"this stage does not allow {what} {value!r}")
        for rule, what, value, allowed in checks
        if allowed is not None and value not in allowed
    ]


def _size_findings(policy: StagePolicy, request: PolicyRequest) -> list[PolicyFinding]:
    findings = []
    if request.instance_count > policy.max_instance_count:
        findings.append(
            PolicyFinding(
                "max_instance_count",
                f"{request.instance_count} x {request.instance_type}",
                f"{policy.max_instance_count} instances",
                "more instances than this stage allows for one job",
            )
        )
    if request.max_runtime_hours > policy.max_runtime_hours:
        seconds = round(request.max_runtime_hours * 3600)
        findings.append(
            PolicyFinding(
                "max_runtime_hours",
                f"{_hours(request.max_runtime_hours)} (max_runtime_seconds {seconds})",
                _hours(policy.max_runtime_hours),
                "the job may run longer than this stage allows",
            )
        )
    return findings


def _cost_findings(policy: StagePolicy, request: PolicyRequest, ceiling: float | None) -> list[PolicyFinding]:
    if policy.max_run_usd is None:
        return []
    limit = f"{_usd(policy.max_run_usd)} per run"
    if ceiling is None:
        return [
            PolicyFinding(
                "max_run_usd",
                f"no price for {request.instance_type}{_in_region(request)} in the price table",
                limit,
                "the run's cost cannot be bounded; add the instance type's price to the price table",
            )
        ]
    if ceiling > policy.max_run_usd:
        return [
            PolicyFinding(
                "max_run_usd",
                f"cost ceiling {_usd(ceiling)} ({_ceiling_terms(request)})",
                limit,
                "the job could bill more than this stage allows for one run",
            )
        ]
    return []


def evaluate_deployment(policy: StagePolicy, *, target: str, model_units: int | None) -> list[PolicyFinding]:
    """The rules a later deployment (``novaft deploy``) breaks: provisioned throughput and its model units."""
    probe = PolicyRequest("", "", "", "", 1, 1.0, None, None, deploy_target=target, model_units=model_units)
    return _deploy_findings(policy, probe)


def _deploy_findings(policy: StagePolicy, request: PolicyRequest) -> list[PolicyFinding]:
    if request.deploy_target != facts.DEPLOY_PROVISIONED:
        return []
    if not policy.allow_provisioned_throughput:
        return [
            PolicyFinding(
                "allow_provisioned_throughput",
                f"deploy.target {facts.DEPLOY_PROVISIONED}",
                f"{facts.DEPLOY_ON_DEMAND} or {facts.DEPLOY_NONE}",
                "this stage does not buy provisioned throughput, which bills by the hour while it exists",
            )
        ]
    units = request.model_units or 1
    if units > policy.max_model_units:
        return [
            PolicyFinding(
                "max_model_units",
                f"{units} model units",
                f"{policy.max_model_units} model units",
                "more provisioned throughput than this stage allows for one model",
            )
        ]
    return []


def _tag_findings(policy: StagePolicy, request: PolicyRequest) -> list[PolicyFinding]:
    allowed = ", ".join(policy.allowed_tag_keys) or "no tag keys"
    findings = []
    for key in request.tag_keys:
        if _is_reserved_tag(key):
            message = f"the '{facts.RESERVED_TAG_PREFIX}' prefix is reserved for the platform's own tags"
            findings.append(PolicyFinding("allowed_tag_keys", repr(key), allowed, message))
        elif key not in policy.allowed_tag_keys:
            message = "this stage does not allow this tag key in job.yaml"
            findings.append(PolicyFinding("allowed_tag_keys", repr(key), allowed, message))
    return findings


def _approval_reasons(policy: StagePolicy, request: PolicyRequest, ceiling: float | None) -> list[str]:
    reasons = []
    unbounded = f"no price for {request.instance_type}{_in_region(request)} in the price table"
    if policy.approval_above_usd is not None:
        threshold = _usd(policy.approval_above_usd)
        if request.estimated_cost_usd is not None:
            cost = request.estimated_cost_usd if ceiling is None else min(request.estimated_cost_usd, ceiling)
            if cost > policy.approval_above_usd:
                reasons.append(f"estimated cost {_usd(cost)} is above approval_above_usd {threshold}")
        elif ceiling is None:
            reasons.append(f"the cost cannot be compared with approval_above_usd {threshold}: {unbounded}")
        elif ceiling > policy.approval_above_usd:
            reasons.append(
                f"cost ceiling {_usd(ceiling)} ({_ceiling_terms(request)}; no estimate) is above approval_above_usd "
                f"{threshold}"
            )
    if policy.budget_usd is not None:
        budget = _usd(policy.budget_usd)
        spent = request.spent_last_30_days_usd
        if ceiling is None:
            reasons.append(f"the run cannot be counted against budget_usd {budget}: {unbounded}")
        elif spent is None:
            reasons.append(f"the last 30 days' spend is unknown, so budget_usd {budget} cannot be checked")
        elif spent + ceiling > policy.budget_usd:
            reasons.append(
                f"spend of the last 30 days {_usd(spent)} plus this run's cost ceiling {_usd(ceiling)} would pass "
                f"budget_usd {budget}"
            )
    return reasons


def _ceiling_terms(request: PolicyRequest) -> str:
    evaluation = f" + evaluation jobs {_usd(request.evaluation_ceiling_usd)}" if request.evaluation_ceiling_usd else ""
    return (
        f"{request.instance_count} x {request.instance_type} x {_hours(request.max_runtime_hours)}"
        f" x {_usd(request.price_per_instance_hour or 0)}/h{evaluation}"
    )


def _in_region(request: PolicyRequest) -> str:
    return f" in {request.region}" if request.region else ""


def _usd(amount: float) -> str:
    return f"${amount:,.2f}"


def _hours(hours: float) -> str:
    return f"{hours:g} h"


# --- Building a request from a planned run ---------------------------------------------------------------------------


def policy_request_from(
    spec: JobSpec,
    estimate: Estimate,
    *,
    spent_last_30_days_usd: float | None = None,
    active_jobs: int | None = None,
) -> PolicyRequest:
    """The request of a planned run: choices from the spec, the resolved instances, price and cost from its estimate."""
    return PolicyRequest(
        model=spec.model,
        method=spec.method,
        peft=spec.peft,
        instance_type=estimate.instance_type,
        instance_count=estimate.instance_count,
        max_runtime_hours=spec.max_runtime_seconds / 3600,
        price_per_instance_hour=estimate.price_per_instance_hour,
        estimated_cost_usd=estimate.cost,
        tag_keys=tuple(spec.tags),
        base_checkpoint_uri_given=spec.base_checkpoint_s3_uri is not None,
        spent_last_30_days_usd=spent_last_30_days_usd,
        active_jobs=active_jobs,
        region=estimate.region,
        deploy_target=spec.deploy.target,
        model_units=spec.deploy.model_units,
    )


# --- job.yaml keys the stage owns ------------------------------------------------------------------------------------

# The job spec refuses these keys itself (novaft.recipes.job_spec), naming where the stage sets each.
JOB_SPEC_STAGE_OWNED_FIELDS: Final[Mapping[str, str]] = STAGE_OWNED_FIELDS


def stage_owned_field_problems(job_yaml: Mapping[str, Any]) -> list[str]:
    """One message per job.yaml key that belongs to the stage (present at all, even if null)."""
    return [
        f"job.yaml key {key!r} is not allowed here: {where}"
        for key, where in JOB_SPEC_STAGE_OWNED_FIELDS.items()
        if key in job_yaml
    ]


# --- The CreateTrainingJob request against the policy (StartTraining's second check) ----------------------------------


@dataclass(frozen=True)
class StageJobSettings:
    """What the stage sets on every job it starts; a request that differs was not built by this stage."""

    output_kms_key: str | None
    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()


def allowed_instance_types(policy: StagePolicy) -> tuple[str, ...]:
    """Instance types a job of this stage may use: the policy's list, else every type the recipe catalog offers for
    the allowed models, methods and PEFT choices (sorted, so the IAM condition built from it never changes)."""
    if policy.allowed_instance_types is not None:
        return tuple(sorted(policy.allowed_instance_types))
    types = {
        name
        for variant in load_catalog().variants
        if variant.model in policy.allowed_models
        and variant.method in policy.allowed_methods
        and variant.peft in policy.allowed_peft
        for name in variant.instance_types
    }
    return tuple(sorted(types))


def training_request_findings(
    policy: StagePolicy, request: Mapping[str, Any], stage: StageJobSettings
) -> list[PolicyFinding]:
    """Every way a CreateTrainingJob request breaks the policy or leaves the stage's settings.

    RenderRecipe built the request from an allowed run; this second look, just before the job starts, catches a
    request that was changed on the way (the workflow input is data anyone who can start an execution controls).
    """
    resources = request.get("ResourceConfig") or {}
    instance_type = str(resources.get("InstanceType"))
    count = resources.get("InstanceCount")
    runtime = (request.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
    findings = []
    allowed_types = allowed_instance_types(policy)
    if instance_type not in allowed_types:
        findings.append(
            PolicyFinding(
                "allowed_instance_types",
                repr(instance_type),
                ", ".join(allowed_types),
                f"this stage does not allow instance type {instance_type!r}",
            )
        )
    if not isinstance(count, int) or count > policy.max_instance_count:
        findings.append(
            PolicyFinding(
                "max_instance_count",
                f"{count!r} x {instance_type}",
                f"{policy.max_instance_count} instances",
                "more instances than this stage allows for one job",
            )
        )
    if not isinstance(runtime, int) or runtime > policy.max_runtime_hours * 3600:
        findings.append(
            PolicyFinding(
                "max_runtime_hours",
                f"MaxRuntimeInSeconds {runtime!r}",
                _hours(policy.max_runtime_hours),
                "the job may run longer than this stage allows",
            )
        )
    findings += _stage_setting_findings(policy, request, stage)
    tag_keys = [str(tag.get("Key")) for tag in request.get("Tags") or []]
    own_tags = set(facts.PLATFORM_JOB_TAGS)
    for key in tag_keys:
        if key not in own_tags and key not in policy.allowed_tag_keys:
            findings.append(
                PolicyFinding(
                    "allowed_tag_keys",
                    repr(key),
                    ", ".join((*sorted(own_tags), *policy.allowed_tag_keys)),
                    "the request carries a tag key this stage does not allow",
                )
            )
    return findings


def _stage_setting_findings(
    policy: StagePolicy, request: Mapping[str, Any], stage: StageJobSettings
) -> list[PolicyFinding]:
    """The settings the stage owns (docs/policy.md, "What job.yaml may and may not set") must be the stage's."""
    vpc = request.get("VpcConfig") or {}
    given: dict[str, Any] = {
        "output KMS key": (request.get("OutputDataConfig") or {}).get("KmsKeyId"),
        "VPC subnets": tuple(vpc.get("Subnets") or ()),
        "VPC security groups": tuple(vpc.get("SecurityGroupIds") or ()),
        "network isolation": bool(request.get("EnableNetworkIsolation")),
    }
    wanted: dict[str, Any] = {
        "output KMS key": stage.output_kms_key,
        "VPC subnets": stage.subnet_ids,
        "VPC security groups": stage.security_group_ids,
        "network isolation": policy.require_network_isolation,
    }
    findings = [
        PolicyFinding(
            "require_network_isolation" if setting == "network isolation" else "stage settings",
            repr(given[setting]),
            repr(wanted[setting]),
            f"the request's {setting} is not the stage's",
        )
        for setting in given
        if given[setting] != wanted[setting]
    ]
    volume_key = (request.get("ResourceConfig") or {}).get("VolumeKmsKeyId")
    if volume_key is not None:
        findings.append(
            PolicyFinding(
                "stage settings",
                repr(volume_key),
                "none (the instance types of Nova recipes have local storage)",
                "the request names a volume KMS key the stage does not set",
            )
        )
    if request.get("EnableInterContainerTrafficEncryption") is not True:
        findings.append(
            PolicyFinding(
                "stage settings",
                repr(request.get("EnableInterContainerTrafficEncryption")),
                "True",
                "the stage encrypts inter-container traffic of every job",
            )
        )
    return findings
