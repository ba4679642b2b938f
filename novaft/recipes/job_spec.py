"""The job spec: what a user asks for (model, method, PEFT, instances, hyperparameters, runtime, tags, base checkpoint).

It comes from ``job.yaml``, from the CLI flags, or from the deployed default profile. Validation checks every range and
allowed set of the recipe catalog plus the cross-field rules (``min_lr < lr``; replicas allowed for the model, method
and instance type; ``max_length`` a multiple of 1024 within the variant's range; g5/g6 only where a recipe exists; a
region with Nova training images). Unknown keys are errors. Every problem is reported at once as a ``JobSpecError``
naming the field, the value given and what is allowed.

The job spec holds training choices only. The VPC, the KMS keys and network isolation belong to the stage that runs
the job (``STAGE_OWNED_FIELDS``): a job spec that sets one is refused with a message saying where the stage sets it.

Every ``job.yaml``, wherever it comes from (the dataset bucket, ``novaft plan``/``render``/``submit``), is read by
``read_job_yaml`` (at most ``MAX_JOB_YAML_BYTES`` plus one byte) and parsed by ``job_yaml_mapping``: UTF-8, the
restricted YAML of ``load_user_yaml`` (no anchors or aliases, bounded nesting, no repeated keys), a mapping.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import MappingProxyType, UnionType
from typing import Annotated, Any, BinaryIO, ClassVar, Literal, Self, Union, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError

from novaft.errors import MISSING, InputFileError, Problem
from novaft.pipeline.deployment import deploy_problems
from novaft.pipeline.facts import DEPLOY_PROVISIONED, DeployTarget, EvalTask
from novaft.recipes.catalog import Catalog, Method, ModelName, Peft, Variant, load_catalog
from novaft.recipes.errors import JobSpecError
from novaft.recipes.yaml_io import YamlSyntaxError, get_path, load_user_yaml

# CreateTrainingJob limits (botocore service model for sagemaker): at most 50 tags, key <= 128, value <= 256.
MAX_TAGS = 50
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
# A run id as RegisterRun makes it (<name>-<hash>): letters, digits and single hyphens; the bound keeps messages short.
MAX_RUN_ID_CHARS = 128
_RUN_ID = re.compile(r"^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$")

# job.yaml keys that belong to the stage, and where the stage sets each (docs/policy.md).
STAGE_OWNED_FIELDS: Mapping[str, str] = MappingProxyType(
    {
        "vpc": "set by the stage in cdk.json: its vpc (subnet_ids, security_group_ids)",
        "output_kms_key": "set by the stage: job output is encrypted with the stage's data key (the Data stack's)",
        "volume_kms_key": "set by the stage, which owns the encryption keys of its jobs (the Data stack's data key)",
        "enable_network_isolation": "set by the stage in cdk.json: its policy.require_network_isolation",
    }
)
# The smoke test's prompt is one question, not a document.
MAX_SMOKE_PROMPT_CHARS = 2000
# A job.yaml is a few hundred bytes; the bound keeps a hostile one from costing memory or time anywhere it is read.
MAX_JOB_YAML_BYTES = 64 * 1024


def _not_a_boolean(value: Any) -> Any:
    # YAML reads yes/no/on/off as booleans and pydantic would take True as the number 1.
    if isinstance(value, bool):
        raise PydanticCustomError("bool_not_number", "true/false (or yes/no, on/off) is a boolean, not a number")
    return value


Integer = Annotated[int, BeforeValidator(_not_a_boolean)]
Number = Annotated[float, BeforeValidator(_not_a_boolean)]


class _SpecPart(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Hyperparameters(_SpecPart):
    """Overrides of the recipe's tunable keys; unset means "keep the official recipe's default".

    The recipe key each one sets is in ``recipe_keys`` of ``recipes/catalog.yaml`` (it differs between Nova 1.0 and
    Nova 2.0 recipes). A setting that the chosen recipe does not have (``dpo_beta`` for SFT, ``epochs`` for Nova 2.0,
    which counts steps) is an error.
    """

    epochs: Integer | None = None
    max_steps: Integer | None = None
    lr: Number | None = None
    min_lr: Number | None = None
    warmup_steps: Integer | None = None
    weight_decay: Number | None = None
    hidden_dropout: Number | None = None
    attention_dropout: Number | None = None
    ffn_dropout: Number | None = None
    global_batch_size: Integer | None = None
    max_length: Integer | None = None
    lora_alpha: Integer | None = None
    loraplus_lr_ratio: Number | None = None
    adapter_dropout: Number | None = None
    dpo_beta: Number | None = None
    reasoning_enabled: bool | None = None

    def given(self) -> dict[str, Any]:
        return {name: value for name, value in self.model_dump().items() if value is not None}


class DeploySpec(_SpecPart):
    """Where the trained model goes once the run completes (docs/deployment.md); ``none`` keeps it as a checkpoint."""

    target: DeployTarget = "none"
    # Provisioned throughput only: the model units to buy (the stage policy's max_model_units bounds it).
    model_units: Integer | None = None
    # The smoke test's question; without it, the first user prompt of the run's validation (else training) data.
    prompt: str | None = None


class EvaluationGate(_SpecPart):
    """The quality bar: ``metric`` (``task.metric``, or the metric alone when one task has it) at least ``min``, and
    at least ``min_delta_vs_base`` above the base model's. A failed gate is recorded; the run stays Completed."""

    metric: str
    min: Number | None = None
    min_delta_vs_base: Number | None = None


class EvaluationSpec(_SpecPart):
    """Evaluation jobs after training (docs/evaluation.md): the tasks, whether the base model is evaluated too, and
    the gate. ``gen_qa`` evaluates the run's ``eval.jsonl``; the benchmarks need no data."""

    tasks: list[EvalTask] = Field(default_factory=list)
    compare_with_base: bool = False
    gate: EvaluationGate | None = None


# The tasks the workflow runs: the benchmarks and gen_qa (the judge tasks need data files the drop contract lacks).
WORKFLOW_EVAL_TASKS_WITH_DATA = ("gen_qa",)
GEN_QA_METRIC_NAMES = ("rouge1", "rouge2", "rougeL", "em", "qem", "f1", "bleu")


class ResolvedJob(BaseModel):
    """The spec's choices after the catalog filled in its defaults."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    variant: Variant
    instance_type: str
    instance_count: int


class JobSpec(BaseModel):
    """A validated request for one fine-tuning job. See ``recipes/README.md`` for the ``job.yaml`` schema."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: ModelName
    method: Method
    peft: Peft
    instance_type: str | None = None
    instance_count: Integer | None = None
    hyperparameters: Hyperparameters = Field(default_factory=Hyperparameters)
    # SageMaker Python SDK defaults: 1 day and 30 GB. The docs advise raising the runtime (up to 28 days by quota).
    max_runtime_seconds: Integer = 86400
    volume_size_gb: Integer = 30
    region: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    # Iterative training continues from an earlier run of the same stage, named by its run id; the pipeline resolves
    # it to that run's recorded checkpoint. An s3:// checkpoint URI is accepted only where the stage policy allows it.
    base_run_id: str | None = None
    # The escrow checkpoint of an earlier job (its manifest's checkpoint_s3_bucket) for iterative training.
    base_checkpoint_s3_uri: str | None = None
    deploy: DeploySpec = Field(default_factory=DeploySpec)
    evaluation: EvaluationSpec = Field(default_factory=EvaluationSpec)

    DEFAULT_SOURCE: ClassVar[str] = "job spec"

    # --- construction ------------------------------------------------------------------------------------------------

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> Self:
        """Validate a dict; on failure raise ``JobSpecError`` listing every problem (not pydantic's error)."""
        context = kwargs.get("context") or {}
        try:
            return super().model_validate(obj, *args, **kwargs)
        except ValidationError as exc:
            problems = [_problem_from_pydantic(error) for error in exc.errors()]
            raise JobSpecError(problems, source=context.get("source", cls.DEFAULT_SOURCE)) from None

    @classmethod
    def from_yaml_text(cls, text: str | bytes, *, source: str, catalog: Catalog | None = None) -> JobSpec:
        """Parse ``job.yaml`` (text or the bytes ``read_job_yaml`` returned); ``source`` names it in error messages."""
        return cls.model_validate(job_yaml_mapping(text, source=source), context={"source": source, "catalog": catalog})

    @model_validator(mode="after")
    def _check_against_catalog(self, info: ValidationInfo) -> JobSpec:
        context = info.context or {}
        catalog = context.get("catalog") or load_catalog()
        problems = _catalog_problems(self, catalog)
        if problems:
            raise JobSpecError(problems, source=context.get("source", self.DEFAULT_SOURCE))
        return self

    # --- resolution --------------------------------------------------------------------------------------------------

    def resolve(self, catalog: Catalog | None = None) -> ResolvedJob:
        """The variant, instance type and count this spec runs with (defaults from the catalog)."""
        catalog = catalog or load_catalog()
        variant = catalog.find_variant(self.model, self.method, self.peft, self.instance_type)
        if variant is None:  # validation makes this unreachable for specs built through model_validate
            raise JobSpecError([_variant_problem(self, catalog)])
        return ResolvedJob(
            variant=variant,
            instance_type=self.instance_type or variant.default_instance_type,
            instance_count=self.instance_count or variant.replicas.default,
        )


# --- reading job.yaml ------------------------------------------------------------------------------------------------


def read_job_yaml(stream: BinaryIO) -> bytes:
    """At most one byte more than ``MAX_JOB_YAML_BYTES``: enough to tell a file is too large without holding it."""
    chunks: list[bytes] = []
    remaining = MAX_JOB_YAML_BYTES + 1
    while remaining > 0:
        chunk = stream.read(remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


@contextmanager
def reading(path: Path) -> Iterator[None]:
    """Turn an error reading a local file into an ``InputFileError`` that names the path as given."""
    try:
        yield
    except IsADirectoryError:
        raise InputFileError(f"{path}: is a directory") from None
    except FileNotFoundError:
        raise InputFileError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise InputFileError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read ({exc.strerror or exc})") from None


def read_job_file(path: Path) -> bytes:
    """A local ``job.yaml`` through ``read_job_yaml``; ``InputFileError`` names the path as given."""
    with reading(path), path.open("rb") as stream:
        return read_job_yaml(stream)


def job_yaml_mapping(raw: str | bytes, *, source: str) -> dict[str, Any]:
    """The keys of a ``job.yaml`` (empty for an empty file), before validation; ``JobSpecError`` otherwise."""
    # A str has at most as many characters as its UTF-8 bytes: a long one is refused before it is encoded.
    too_large = len(raw) > MAX_JOB_YAML_BYTES or (isinstance(raw, str) and len(raw.encode()) > MAX_JOB_YAML_BYTES)
    if too_large:
        limit = f"{MAX_JOB_YAML_BYTES:,} bytes"
        raise JobSpecError([Problem("(file)", f"more than {limit}", f"at most {limit}", "too large")], source=source)
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            given = f"byte 0x{raw[error.start]:02x} at offset {error.start}"
            raise JobSpecError([Problem("(file)", given, "UTF-8 text", "not UTF-8 text")], source=source) from None
    try:
        data = load_user_yaml(raw, source=source)
    except YamlSyntaxError as exc:
        raise JobSpecError([Problem("(file)", MISSING, "a YAML mapping", str(exc))], source=source) from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        problem = Problem("(file)", data, "a YAML mapping of the job.yaml keys", "not a mapping")
        raise JobSpecError([problem], source=source)
    return dict(data)


# --- checks ----------------------------------------------------------------------------------------------------------


def _catalog_problems(spec: JobSpec, catalog: Catalog) -> list[Problem]:
    problems: list[Problem] = []
    regions = sorted(catalog.regions_with_training_images())
    if spec.region is not None and spec.region not in regions:
        problems.append(Problem("region", spec.region, ", ".join(regions), "no Nova training images in this region"))
    problems += _runtime_problems(spec, catalog)
    problems += _security_problems(spec)
    problems += _deploy_problems(spec)
    problems += _evaluation_problems(spec)
    if not catalog.variants_for(spec.model, spec.method, spec.peft):
        return [*problems, _variant_problem(spec, catalog)]
    variant = catalog.find_variant(spec.model, spec.method, spec.peft, spec.instance_type)
    if variant is None:
        allowed = catalog.instance_types_for(spec.model, spec.method, spec.peft)
        problems.append(
            Problem("instance_type", spec.instance_type, ", ".join(allowed), f"no {_choice(spec)} recipe for it")
        )
        return problems
    instance_type = spec.instance_type or variant.default_instance_type
    if spec.instance_count is not None and spec.instance_count not in variant.replicas.allowed:
        problems.append(
            Problem(
                "instance_count",
                spec.instance_count,
                ", ".join(str(n) for n in variant.replicas.allowed),
                f"not a supported count for {_choice(spec)} on {instance_type}",
            )
        )
    problems += _hyperparameter_problems(spec, variant, instance_type, catalog)
    return problems


def _variant_problem(spec: JobSpec, catalog: Catalog) -> Problem:
    available = sorted({f"{v.method}/{v.peft}" for v in catalog.variants if v.model == spec.model})
    return Problem(
        "method",
        f"{spec.method}/{spec.peft}",
        ", ".join(available),
        f"no SageMaker training-job recipe for {spec.model} with this method and peft",
    )


def _choice(spec: JobSpec) -> str:
    return f"{spec.model} {spec.method.upper()} {'LoRA' if spec.peft == 'lora' else 'full-rank'}"


def _hyperparameter_problems(spec: JobSpec, variant: Variant, instance_type: str, catalog: Catalog) -> list[Problem]:
    problems: list[Problem] = []
    tunable = catalog.tunable_keys(variant)
    given = spec.hyperparameters.given()
    for name, value in given.items():
        field = f"hyperparameters.{name}"
        if name not in tunable:
            problems.append(
                Problem(field, value, ", ".join(sorted(tunable)), f"the {variant.id} recipe has no such setting")
            )
        elif name == "global_batch_size" and value not in variant.global_batch_size:
            allowed = ", ".join(str(n) for n in variant.global_batch_size)
            problems.append(Problem(field, value, allowed, f"not a supported batch size for {_choice(spec)}"))
        elif name == "max_length" and not variant.max_length.contains(value, instance_type):
            allowed = variant.max_length.describe(instance_type)
            problems.append(Problem(field, value, allowed, f"out of range for {_choice(spec)} on {instance_type}"))
        elif (bounds := _limit_for(name, spec.method, catalog)) is not None and not bounds.contains(value):
            problems.append(Problem(field, value, bounds.describe(), "out of range"))
    # min_lr must stay below lr, whichever of the two comes from the recipe's defaults.
    if "lr" in tunable and "min_lr" in tunable:
        template = catalog.template_values(variant)
        lr = given.get("lr", get_path(template, tunable["lr"]))
        min_lr = given.get("min_lr", get_path(template, tunable["min_lr"]))
        if isinstance(lr, int | float) and isinstance(min_lr, int | float) and not min_lr < lr:
            problems.append(
                Problem("hyperparameters.min_lr", min_lr, f"less than lr ({lr:g})", "must be below the learning rate")
            )
    return problems


def _limit_for(name: str, method: str, catalog: Catalog) -> Any:
    if name == "epochs":
        return catalog.limits[f"epochs_{method}"]
    return catalog.limits.get(name)


def _runtime_problems(spec: JobSpec, catalog: Catalog) -> list[Problem]:
    problems = []
    for name in ("max_runtime_seconds", "volume_size_gb"):
        bounds = catalog.limits[name]
        value = getattr(spec, name)
        if not bounds.contains(value):
            problems.append(Problem(name, value, bounds.describe(), "out of range"))
    return problems


def _security_problems(spec: JobSpec) -> list[Problem]:
    problems: list[Problem] = []
    if len(spec.tags) > MAX_TAGS:
        problems.append(Problem("tags", f"{len(spec.tags)} tags", f"at most {MAX_TAGS} tags", "too many tags"))
    for key, value in spec.tags.items():
        if not 1 <= len(key) <= MAX_TAG_KEY or key.lower().startswith("aws:"):
            allowed = f"1-{MAX_TAG_KEY} characters, not starting with 'aws:'"
            problems.append(Problem("tags", key, allowed, "invalid tag key"))
        if len(value) > MAX_TAG_VALUE:
            problems.append(Problem(f"tags.{key}", value, f"at most {MAX_TAG_VALUE} characters", "tag value too long"))
    uri = spec.base_checkpoint_s3_uri
    if uri is not None and (not uri.startswith("s3://") or len(uri) <= len("s3://") or len(uri) > 1024):
        allowed = "an s3://bucket/prefix URI (the manifest's checkpoint_s3_bucket), at most 1024 characters"
        problems.append(Problem("base_checkpoint_s3_uri", uri, allowed, "not an s3:// URI"))
    run_id = spec.base_run_id
    if run_id is not None and (len(run_id) > MAX_RUN_ID_CHARS or not _RUN_ID.match(run_id)):
        allowed = f"the run id of an earlier run of this stage (letters, digits, hyphens; at most {MAX_RUN_ID_CHARS})"
        problems.append(Problem("base_run_id", run_id, allowed, "not a run id"))
    if run_id is not None and uri is not None:
        allowed = "base_run_id or base_checkpoint_s3_uri, not both"
        problems.append(Problem("base_run_id", run_id, allowed, "two base checkpoints given"))
    return problems


def _deploy_problems(spec: JobSpec) -> list[Problem]:
    # The region is checked here only when the spec names one; RenderRecipe checks the stage's region.
    problems = deploy_problems(spec.deploy.target, peft=spec.peft, region=spec.region)
    units = spec.deploy.model_units
    if units is not None and units < 1:
        problems.append(Problem("deploy.model_units", units, "an integer, 1 or more", "out of range"))
    if units is not None and spec.deploy.target != DEPLOY_PROVISIONED:
        allowed = f"leave it out, or deploy.target: {DEPLOY_PROVISIONED}"
        problems.append(Problem("deploy.model_units", units, allowed, "model units apply to provisioned throughput"))
    prompt = spec.deploy.prompt
    if prompt is not None and not 1 <= len(prompt.strip()) <= MAX_SMOKE_PROMPT_CHARS:
        allowed = f"1-{MAX_SMOKE_PROMPT_CHARS} characters"
        problems.append(Problem("deploy.prompt", prompt[:40], allowed, "not a usable smoke-test prompt"))
    return problems


def _evaluation_problems(spec: JobSpec) -> list[Problem]:
    evaluation = spec.evaluation
    if not evaluation.tasks:
        if evaluation.gate is not None or evaluation.compare_with_base:
            return [Problem("evaluation.tasks", [], "one or more evaluation tasks", "nothing to evaluate")]
        return []
    # Imported here: the evaluation module builds on the renderer, which imports this one.
    from novaft.recipes.evaluation import load_evaluation_catalog

    catalog = load_evaluation_catalog()
    problems: list[Problem] = []
    available = catalog.tasks_for(spec.model)
    runnable = [task for task in available if task in WORKFLOW_EVAL_TASKS_WITH_DATA or not catalog.task_info(task).data]
    for task in evaluation.tasks:
        if task not in runnable:
            reason = f"{spec.model} has no such evaluation" if task not in available else "needs a data file"
            problems.append(Problem("evaluation.tasks", task, ", ".join(runnable), f"{reason} the workflow can run"))
    if len(set(evaluation.tasks)) != len(evaluation.tasks):
        problems.append(Problem("evaluation.tasks", evaluation.tasks, "each task once", "a task is repeated"))
    gate = evaluation.gate
    if gate is not None:
        metrics = [
            f"{task}.{metric}"
            for task in evaluation.tasks
            if task in runnable
            for metric in (GEN_QA_METRIC_NAMES if task == "gen_qa" else (catalog.task_info(task).metric,))
        ]
        short = [name.split(".", 1)[1] for name in metrics]
        if gate.metric not in metrics and short.count(gate.metric) != 1:
            problems.append(
                Problem("evaluation.gate.metric", gate.metric, ", ".join(metrics), "not one metric of these tasks")
            )
        if gate.min is None and gate.min_delta_vs_base is None:
            allowed = "min, min_delta_vs_base, or both"
            problems.append(Problem("evaluation.gate", gate.metric, allowed, "a gate needs a bar"))
        if gate.min_delta_vs_base is not None and not evaluation.compare_with_base:
            allowed = "compare_with_base: true"
            problems.append(Problem("evaluation.gate.min_delta_vs_base", gate.min_delta_vs_base, allowed, "no base"))
    return problems


# --- pydantic errors in the user's terms -----------------------------------------------------------------------------


def _problem_from_pydantic(error: Mapping[str, Any]) -> Problem:
    loc = tuple(error.get("loc", ()))
    field = ".".join(str(part) for part in loc) or "(file)"
    given = error.get("input", MISSING)
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden" and len(loc) == 1 and str(loc[0]) in STAGE_OWNED_FIELDS:
        return Problem(field, given, "leave it out of the job spec", STAGE_OWNED_FIELDS[str(loc[0])])
    if kind == "extra_forbidden":
        return Problem(field, given, ", ".join(_known_keys(loc[:-1])), "unknown key")
    if kind == "missing":
        return Problem(field, MISSING, _allowed_for(loc), "required")
    if kind == "literal_error":
        return Problem(field, given, _allowed_for(loc) or str(ctx.get("expected", "")), "not a valid choice")
    return Problem(field, given, _allowed_for(loc), error.get("msg", "invalid").lower())


def _field_model(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] = JobSpec
    for part in loc:
        info = model.model_fields.get(str(part))
        if info is None:
            return None
        annotation = info.annotation
        candidates = get_args(annotation) if get_origin(annotation) is not None else (annotation,)
        nested = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if nested is None:
            return None
        model = nested
    return model


def _known_keys(parent: tuple[Any, ...]) -> list[str]:
    model = _field_model(parent)
    return sorted(model.model_fields) if model is not None else []


_TYPE_WORDS = {"str": "a string", "int": "an integer", "float": "a number", "bool": "true or false"}


def _allowed_for(loc: tuple[Any, ...]) -> str:
    parent = _field_model(loc[:-1]) if loc else None
    info = parent.model_fields.get(str(loc[-1])) if parent is not None else None
    if info is None:
        return "a valid value"
    return _describe_type(info.annotation)


def _describe_type(annotation: Any) -> str:
    if get_origin(annotation) is Annotated:
        return _describe_type(get_args(annotation)[0])
    if get_origin(annotation) is Literal:
        return ", ".join(repr(value) for value in get_args(annotation))
    if get_origin(annotation) in (Union, UnionType):
        return " or ".join(_describe_type(arg) for arg in get_args(annotation) if arg is not type(None))
    if get_origin(annotation) is dict:
        return "a mapping of strings"
    if get_origin(annotation) is list:
        return "a list of strings"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "a mapping with keys " + ", ".join(sorted(annotation.model_fields))
    return _TYPE_WORDS.get(getattr(annotation, "__name__", ""), str(annotation))
