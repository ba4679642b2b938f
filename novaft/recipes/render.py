"""Render a job spec into the recipe YAML the training container reads.

The output loads back to the same values with PyYAML and with OmegaConf (floats are written ``1.0e-05``),
``run.replicas`` always equals the job's instance count (the SDK only warns when they differ), and the HyperPod-only
keys (``data_s3_path``, ``output_s3_path``) stay empty: training jobs take data from channels and write to
``OutputDataConfig``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from novaft.errors import Problem
from novaft.recipes.catalog import Catalog, Variant, load_catalog
from novaft.recipes.errors import JobSpecError
from novaft.recipes.job_spec import JobSpec
from novaft.recipes.yaml_io import dump_recipe, get_path, load_yaml_text, set_path

# The file name of the rendered recipe in the run's recipe/ folder (docs/architecture.md, S3 layout of a run).
RECIPE_FILE_NAME = "recipe.yaml"
HYPERPOD_ONLY_KEYS = ("run.data_s3_path", "run.output_s3_path")


@dataclass(frozen=True)
class RenderedRecipe:
    variant: Variant
    yaml_text: str
    values: dict[str, Any]
    file_name: str
    instance_type: str
    instance_count: int


def recipe_overrides(spec: JobSpec, catalog: Catalog | None = None) -> dict[str, Any]:
    """The recipe keys (dotted paths) this spec changes relative to its variant's template, with their new values."""
    catalog = catalog or load_catalog()
    resolved = spec.resolve(catalog)
    keys = catalog.tunable_keys(resolved.variant)
    overrides: dict[str, Any] = {"run.replicas": resolved.instance_count}
    for name, value in spec.hyperparameters.given().items():
        overrides[keys[name]] = value
    if spec.base_checkpoint_s3_uri is not None:
        overrides["run.model_name_or_path"] = spec.base_checkpoint_s3_uri
    template = catalog.template_values(resolved.variant)
    if _has(template, "training_config.save_steps"):
        # Nova 2.0: the official recipe sets save_steps = max_steps through an OmegaConf resolver.
        overrides["training_config.save_steps"] = overrides.get(
            "training_config.max_steps", get_path(template, "training_config.max_steps")
        )
    return overrides


def render_recipe(spec: JobSpec, catalog: Catalog | None = None) -> RenderedRecipe:
    catalog = catalog or load_catalog()
    resolved = spec.resolve(catalog)
    values = catalog.template_values(resolved.variant)
    for dotted in HYPERPOD_ONLY_KEYS:
        if _has(values, dotted):
            set_path(values, dotted, "")
    for dotted, value in recipe_overrides(spec, catalog).items():
        set_path(values, dotted, value)
    yaml_text = dump_recipe(values)
    # Guard the round trip the container depends on: what we write must read back to exactly these values.
    if load_yaml_text(yaml_text, source=RECIPE_FILE_NAME) != values:
        raise AssertionError("rendered recipe does not load back to the same values")
    return RenderedRecipe(
        variant=resolved.variant,
        yaml_text=yaml_text,
        values=values,
        file_name=RECIPE_FILE_NAME,
        instance_type=resolved.instance_type,
        instance_count=resolved.instance_count,
    )


def hyperparameters_from_recipe_keys(
    choices: Mapping[str, Any], settings: Mapping[str, Any], catalog: Catalog | None = None
) -> dict[str, Any]:
    """Translate ``--set training_config.model.optim.lr=5e-6`` style recipe keys into job-spec hyperparameter names.

    ``choices`` holds model, method, peft and optionally instance_type. Keys the chosen recipe does not let users
    tune raise ``JobSpecError`` listing the keys it does.
    """
    catalog = catalog or load_catalog()
    variant = catalog.find_variant(
        str(choices.get("model")), str(choices.get("method")), str(choices.get("peft")), choices.get("instance_type")
    )
    if variant is None:
        return {}  # the spec's own validation reports the impossible choice
    names_by_path = {path: name for name, path in catalog.tunable_keys(variant).items()}
    problems = []
    hyperparameters: dict[str, Any] = {}
    for dotted, value in settings.items():
        name = names_by_path.get(dotted)
        if name is None:
            reason = "use --instance-count" if dotted == "run.replicas" else f"not a tunable key of {variant.id}"
            problems.append(Problem(f"--set {dotted}", value, ", ".join(sorted(names_by_path)), reason))
        else:
            hyperparameters[name] = value
    if problems:
        raise JobSpecError(problems, source="--set")
    return hyperparameters


def _has(tree: Mapping[str, Any], dotted: str) -> bool:
    try:
        get_path(tree, dotted)
    except (KeyError, TypeError):
        return False
    return True
