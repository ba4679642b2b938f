"""Nova evaluation recipes on SageMaker training jobs: the catalog, the renderer and the CreateTrainingJob request.

The data lives in ``recipes/evaluation/``: one template per official evaluation recipe (``templates/<id>.yaml``) and
``catalog.yaml`` (tasks, the keys ``--set`` may change and their bounds, instance types, the image). Rendered with no
settings, a recipe equals the official one key by key; a TASK other than the template's own (``bbh`` on the text
benchmark recipe) changes only ``evaluation.task``, ``strategy`` and ``metric``.

The request is the one the SageMaker Python SDK 2.x sends for ``PyTorch(training_recipe=<eval recipe>)``: the SDK
treats a recipe with an ``evaluation`` section like a Nova training recipe (recipe channel, ``model_type`` and
``base_model``/``base_model_location`` hyperparameters) and adds ``eval_lambda_arn`` when ``processor.lambda_arn`` is
set. A task that reads data (``gen_qa``, ``llm_judge``, ``rubric_llm_judge``) gets it as the ``train`` channel
(``S3Prefix``, ``FullyReplicated``: what ``TrainingInput`` defaults to), as the AWS examples pass ``gen_qa.jsonl``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypedDict, cast

from pydantic import BaseModel, ConfigDict, Field, model_validator

from novaft.errors import Problem
from novaft.pipeline.facts import EVAL_TASKS, EvalTask, ModelName
from novaft.recipes.catalog import DEFAULT_RECIPES_DIR, read_catalog, read_template
from novaft.recipes.errors import CatalogError, JobSpecError
from novaft.recipes.render import HYPERPOD_ONLY_KEYS, RECIPE_FILE_NAME
from novaft.recipes.training_request import (
    S3_PREFIX,
    JobInputs,
    NovaJob,
    data_channel,
    job_input_problems,
    nova_job_request,
)
from novaft.recipes.yaml_io import dump_recipe, get_path, has_path, load_yaml_text, set_path

if TYPE_CHECKING:
    from typing_extensions import Unpack

EVALUATION_DIR_NAME = "evaluation"
# The SDK's defaults for a job: 1 day, 30 GB (the same as a training job spec's).
DEFAULT_MAX_RUNTIME_SECONDS = 86400
DEFAULT_VOLUME_SIZE_GB = 30
MAX_RUNTIME_SECONDS = 2419200  # 28 days, the documented maximum
MAX_VOLUME_SIZE_GB = 16384
MAX_CHECKPOINT_URI_CHARS = 1024
# Keys the TASK decides; `--set` may not change them.
TASK_KEYS = ("evaluation.task", "evaluation.strategy", "evaluation.metric")
MODEL_PATH_KEY = "run.model_name_or_path"
REPLICAS_KEY = "run.replicas"
TEMPLATE_KIND = "evaluation recipe template"

Kind = Literal[
    "general_text_benchmark", "general_multi_modal_benchmark", "bring_your_own_dataset", "llm_judge", "rubric_llm_judge"
]
SettingType = Literal["string", "integer", "number", "boolean", "choice"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TaskInfo(_Frozen):
    kind: Kind
    strategy: str
    metric: str
    subtask: bool = False  # the benchmark has subtasks: evaluation.subtask may be set
    data: bool = False  # the task reads a data file from the `train` channel


class Setting(_Frozen):
    """What one recipe key accepts from ``--set``."""

    type: SettingType
    min: float | None = None
    max: float | None = None
    allowed: tuple[str | None, ...] | None = None
    pattern: str | None = None

    def problem(self, key: str, value: Any) -> Problem | None:
        """Why ``value`` is not accepted for ``key`` (None when it is)."""
        field_name = f"--set {key}"
        if self.type == "choice":
            allowed = self.allowed or ()
            if value not in allowed:
                return Problem(field_name, value, ", ".join("null" if a is None else a for a in allowed))
            return None
        if self.type == "boolean":
            return None if isinstance(value, bool) else Problem(field_name, value, "true or false", "not a boolean")
        if self.type == "string":
            if not isinstance(value, str):
                return Problem(field_name, value, "a string", "not a string")
            if self.pattern is not None and not re.match(self.pattern, value):
                return Problem(field_name, value, f"text matching {self.pattern}", "not allowed")
            return None
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if self.type == "integer" and not (numeric and isinstance(value, int)):
            return Problem(field_name, value, "an integer", "not an integer")
        if not numeric:
            return Problem(field_name, value, "a number", "not a number")
        if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
            return Problem(field_name, value, self.describe_range(), "out of range")
        return None

    def describe_range(self) -> str:
        low = "-inf" if self.min is None else f"{self.min:g}"
        high = "inf" if self.max is None else f"{self.max:g}"
        return f"[{low}, {high}]"


class EvaluationRecipe(_Frozen):
    """One official evaluation recipe that runs on SageMaker training jobs."""

    id: str
    model: ModelName
    kind: Kind
    instance_types: tuple[str, ...]
    limits: dict[str, Setting] = Field(default_factory=dict)

    @property
    def default_instance_type(self) -> str:
        return self.instance_types[0]


class EvaluationCatalog(_Frozen):
    """``recipes/evaluation/catalog.yaml`` as loaded; templates are read from ``templates_dir``."""

    image: str
    image_accounts: dict[str, str]
    tasks: dict[EvalTask, TaskInfo]
    settings: dict[str, Setting]
    recipes: tuple[EvaluationRecipe, ...]
    templates_dir: Path

    @model_validator(mode="after")
    def _check_consistency(self) -> EvaluationCatalog:
        if set(self.tasks) != set(EVAL_TASKS):
            raise ValueError(f"tasks must be exactly {', '.join(EVAL_TASKS)}")
        seen: set[tuple[str, str]] = set()
        for recipe in self.recipes:
            if (recipe.model, recipe.kind) in seen:
                raise ValueError(f"two recipes for model {recipe.model}, kind {recipe.kind}")
            seen.add((recipe.model, recipe.kind))
            for key in recipe.limits:
                if key not in self.settings:
                    raise ValueError(f"recipe {recipe.id}: limit on {key}, which is not a setting")
        return self

    def image_uri(self, region: str) -> str:
        return f"{self.image_accounts[region]}.dkr.ecr.{region}.amazonaws.com/{self.image}"

    def task_info(self, task: str) -> TaskInfo:
        return self.tasks[cast(EvalTask, task)]

    def tasks_for(self, model: str) -> tuple[EvalTask, ...]:
        kinds = {recipe.kind for recipe in self.recipes if recipe.model == model}
        return tuple(task for task in EVAL_TASKS if self.tasks[task].kind in kinds)

    def recipe_for(self, model: str, task: str) -> EvaluationRecipe:
        """The recipe that runs ``task`` for ``model``; a ``JobSpecError`` naming the tasks the model has otherwise."""
        if task not in self.tasks:
            raise JobSpecError(
                [Problem("eval", task, ", ".join(EVAL_TASKS), "unknown evaluation task")], source="--eval"
            )
        kind = self.task_info(task).kind
        for recipe in self.recipes:
            if recipe.model == model and recipe.kind == kind:
                return recipe
        available = ", ".join(self.tasks_for(model)) or "none"
        problem = Problem("eval", task, available, f"model {model!r} has no {task} evaluation recipe")
        raise JobSpecError([problem], source="--eval")

    def template_values(self, recipe: EvaluationRecipe) -> dict[str, Any]:
        """A fresh deep copy of the recipe's template (safe to modify)."""
        return copy.deepcopy(read_template(self.templates_dir / f"{recipe.id}.yaml", TEMPLATE_KIND))

    def settings_of(self, recipe: EvaluationRecipe, task: str) -> dict[str, Setting]:
        """The keys ``--set`` may change in this recipe for this task, with the recipe's own bounds applied."""
        template = read_template(self.templates_dir / f"{recipe.id}.yaml", TEMPLATE_KIND)
        keys = {key: recipe.limits.get(key, setting) for key, setting in self.settings.items()}
        info = self.task_info(task)
        return {
            key: setting
            for key, setting in keys.items()
            if has_path(template, key) and (key != "evaluation.subtask" or info.subtask)
        }


@dataclass(frozen=True)
class RenderedEvaluation:
    recipe: EvaluationRecipe
    task: EvalTask
    yaml_text: str
    values: dict[str, Any]
    file_name: str
    instance_type: str
    instance_count: int


def evaluation_overrides(
    model: str,
    task: str,
    settings: Mapping[str, Any] | None = None,
    *,
    model_path: str | None = None,
    instance_type: str | None = None,
    instance_count: int | None = None,
    catalog: EvaluationCatalog | None = None,
) -> dict[str, Any]:
    """The recipe keys (dotted) that differ from the template for this evaluation, with their values.

    Checks every choice and reports all problems at once (``JobSpecError``). ``model_path`` is the model to evaluate:
    the base model's path (the template's) or the s3:// escrow checkpoint of a training job.
    """
    catalog = catalog or load_evaluation_catalog()
    recipe = catalog.recipe_for(model, task)
    info = catalog.task_info(task)
    allowed = catalog.settings_of(recipe, task)
    template = catalog.template_values(recipe)
    problems: list[Problem] = []
    overrides: dict[str, Any] = {}
    for key, value in (settings or {}).items():
        if key in TASK_KEYS:
            problems.append(Problem(f"--set {key}", value, "choose the task with --eval", "set by the task"))
        elif key == REPLICAS_KEY:
            problems.append(Problem(f"--set {key}", value, "use --instance-count", "set by the instance count"))
        elif key not in allowed:
            problems.append(Problem(f"--set {key}", value, ", ".join(sorted(allowed)), f"not a key of {recipe.id}"))
        elif (problem := allowed[key].problem(key, value)) is not None:
            problems.append(problem)
        else:
            overrides[key] = value
    if model_path is not None:
        overrides[MODEL_PATH_KEY] = model_path
    path = overrides.get(MODEL_PATH_KEY)
    base = get_path(template, MODEL_PATH_KEY)
    if path is not None and path != base and not _is_checkpoint_uri(path):
        allowed_paths = (
            f"{base} (the base model) or an s3:// escrow checkpoint, at most {MAX_CHECKPOINT_URI_CHARS} characters"
        )
        problems.append(Problem("model_name_or_path", path, allowed_paths, "not a model to evaluate"))
    chosen_type = instance_type or recipe.default_instance_type
    if chosen_type not in recipe.instance_types:
        problems.append(Problem("instance_type", chosen_type, ", ".join(recipe.instance_types), "not for this recipe"))
    count = 1 if instance_count is None else instance_count
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        problems.append(Problem("instance_count", count, "an integer, at least 1", "not an instance count"))
    if problems:
        raise JobSpecError(problems, source=f"evaluation {task} for model {model}")
    overrides[REPLICAS_KEY] = count
    overrides.update(zip(TASK_KEYS, (task, info.strategy, info.metric), strict=True))
    return {key: value for key, value in overrides.items() if get_path(template, key) != value}


class EvaluationChoices(TypedDict, total=False):
    """The keyword arguments of ``evaluation_overrides`` besides the model, the task and the settings."""

    model_path: str | None
    instance_type: str | None
    instance_count: int | None
    catalog: EvaluationCatalog | None


def render_evaluation_recipe(
    model: str, task: str, settings: Mapping[str, Any] | None = None, **choices: Unpack[EvaluationChoices]
) -> RenderedEvaluation:
    """The evaluation recipe YAML for ``model`` and ``task``; see ``evaluation_overrides`` for the arguments."""
    catalog = choices.get("catalog") or load_evaluation_catalog()
    recipe = catalog.recipe_for(model, task)
    overrides = evaluation_overrides(model, task, settings, **choices)
    values = catalog.template_values(recipe)
    for dotted in HYPERPOD_ONLY_KEYS:
        if has_path(values, dotted):
            set_path(values, dotted, "")
    for dotted, value in overrides.items():
        set_path(values, dotted, value)
    yaml_text = dump_recipe(values)
    # Guard the round trip the container depends on: what we write must read back to exactly these values.
    if load_yaml_text(yaml_text, source=RECIPE_FILE_NAME) != values:
        raise AssertionError("rendered evaluation recipe does not load back to the same values")
    return RenderedEvaluation(
        recipe=recipe,
        task=cast(EvalTask, task),  # recipe_for refused any other name
        yaml_text=yaml_text,
        values=values,
        file_name=RECIPE_FILE_NAME,
        instance_type=choices.get("instance_type") or recipe.default_instance_type,
        instance_count=int(values["run"]["replicas"]),
    )


@dataclass(frozen=True, kw_only=True)
class EvaluationJobInputs(JobInputs):
    """What the evaluation request needs besides the rendered recipe: names, the role, S3 locations, the stage's
    security settings. ``data_s3_uri`` (the data file or its folder) is required for tasks that read data and refused
    for the benchmarks."""

    data_s3_uri: str | None = None
    max_runtime_seconds: int = DEFAULT_MAX_RUNTIME_SECONDS
    volume_size_gb: int = DEFAULT_VOLUME_SIZE_GB


def build_evaluation_job_request(
    rendered: RenderedEvaluation, inputs: EvaluationJobInputs, catalog: EvaluationCatalog | None = None
) -> dict[str, Any]:
    """The keyword arguments of ``sagemaker.create_training_job`` for this evaluation (see the module docstring)."""
    catalog = catalog or load_evaluation_catalog()
    _check_inputs(rendered, inputs, catalog)
    channels = []
    if inputs.data_s3_uri is not None:
        channels.append(data_channel("train", inputs.data_s3_uri, S3_PREFIX))
    return nova_job_request(NovaJob(inputs, rendered, inputs, catalog.image_uri(inputs.region), channels))


def _check_inputs(rendered: RenderedEvaluation, inputs: EvaluationJobInputs, catalog: EvaluationCatalog) -> None:
    uris = {
        "recipe_s3_uri": inputs.recipe_s3_uri,
        "output_s3_uri": inputs.output_s3_uri,
        "data_s3_uri": inputs.data_s3_uri,
        "tensorboard_s3_uri": inputs.tensorboard_s3_uri,
    }
    problems = job_input_problems(inputs, regions=catalog.image_accounts, uris=uris, images="evaluation")
    takes_data = catalog.task_info(rendered.task).data
    if takes_data and inputs.data_s3_uri is None:
        allowed = "the s3:// URI of the data file (or its folder)"
        problems.append(Problem("data_s3_uri", None, allowed, f"{rendered.task} evaluates a data file"))
    if not takes_data and inputs.data_s3_uri is not None:
        problems.append(Problem("data_s3_uri", inputs.data_s3_uri, "none", f"{rendered.task} reads no data file"))
    if not 1 <= inputs.max_runtime_seconds <= MAX_RUNTIME_SECONDS:
        problems.append(Problem("max_runtime_seconds", inputs.max_runtime_seconds, f"1 to {MAX_RUNTIME_SECONDS}"))
    if not 1 <= inputs.volume_size_gb <= MAX_VOLUME_SIZE_GB:
        problems.append(Problem("volume_size_gb", inputs.volume_size_gb, f"1 to {MAX_VOLUME_SIZE_GB}"))
    if problems:
        raise JobSpecError(problems, source="evaluation job inputs")


def _is_checkpoint_uri(value: Any) -> bool:
    return (
        isinstance(value, str)
        and value.startswith("s3://")
        and len("s3://") < len(value) <= MAX_CHECKPOINT_URI_CHARS
        and not any(character.isspace() for character in value)
    )


@cache
def _load(evaluation_dir: Path) -> EvaluationCatalog:
    catalog = read_catalog(evaluation_dir, EvaluationCatalog, "evaluation catalog")
    for recipe in catalog.recipes:
        template = catalog.template_values(recipe)  # fail at load time, not mid-run, if a template is missing
        if get_path(template, "evaluation.task") not in catalog.tasks:
            raise CatalogError(f"{TEMPLATE_KIND} {recipe.id}: unknown evaluation.task")
    return catalog


def load_evaluation_catalog(recipes_dir: Path | None = None) -> EvaluationCatalog:
    """Load (once per process) the evaluation catalog shipped in the repository's ``recipes/evaluation/`` folder."""
    return _load(((recipes_dir or DEFAULT_RECIPES_DIR) / EVALUATION_DIR_NAME).resolve())
