"""Nova recipe catalog, job spec, recipe renderer, CreateTrainingJob request builder and run estimate (pure code).

Data lives in the repository's ``recipes/`` folder: one template per official recipe variant, ``catalog.yaml``
(allowed values), ``throughput.yaml`` (the source document's 5-day dataset-size table) and ``prices.yaml``.
"""

# Submodules load on first use: a Lambda that needs the catalog alone does not pay for the renderer, the
# request builders and the evaluation catalog (handler import time is bounded, see docs/benchmarks.md).
from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from novaft.errors import Problem
    from novaft.recipes.catalog import Catalog, Variant, load_catalog
    from novaft.recipes.errors import CatalogError, JobSpecError
    from novaft.recipes.estimate import Estimate, PriceTable, estimate_run, load_price_table
    from novaft.recipes.evaluation import (
        EvaluationCatalog,
        EvaluationJobInputs,
        RenderedEvaluation,
        build_evaluation_job_request,
        evaluation_overrides,
        load_evaluation_catalog,
        render_evaluation_recipe,
    )
    from novaft.recipes.job_name import training_job_name
    from novaft.recipes.job_spec import Hyperparameters, JobSpec, ResolvedJob
    from novaft.recipes.render import RenderedRecipe, hyperparameters_from_recipe_keys, recipe_overrides, render_recipe
    from novaft.recipes.training_request import TrainingJobInputs, build_training_job_request

_MODULE_OF: dict[str, str] = {
    "Catalog": "novaft.recipes.catalog",
    "CatalogError": "novaft.recipes.errors",
    "Estimate": "novaft.recipes.estimate",
    "EvaluationCatalog": "novaft.recipes.evaluation",
    "EvaluationJobInputs": "novaft.recipes.evaluation",
    "Hyperparameters": "novaft.recipes.job_spec",
    "JobSpec": "novaft.recipes.job_spec",
    "JobSpecError": "novaft.recipes.errors",
    "PriceTable": "novaft.recipes.estimate",
    "Problem": "novaft.errors",
    "RenderedEvaluation": "novaft.recipes.evaluation",
    "RenderedRecipe": "novaft.recipes.render",
    "ResolvedJob": "novaft.recipes.job_spec",
    "TrainingJobInputs": "novaft.recipes.training_request",
    "Variant": "novaft.recipes.catalog",
    "build_evaluation_job_request": "novaft.recipes.evaluation",
    "build_training_job_request": "novaft.recipes.training_request",
    "estimate_run": "novaft.recipes.estimate",
    "evaluation_overrides": "novaft.recipes.evaluation",
    "hyperparameters_from_recipe_keys": "novaft.recipes.render",
    "load_catalog": "novaft.recipes.catalog",
    "load_evaluation_catalog": "novaft.recipes.evaluation",
    "load_price_table": "novaft.recipes.estimate",
    "recipe_overrides": "novaft.recipes.render",
    "render_evaluation_recipe": "novaft.recipes.evaluation",
    "render_recipe": "novaft.recipes.render",
    "training_job_name": "novaft.recipes.job_name",
}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "Catalog",
    "CatalogError",
    "Estimate",
    "EvaluationCatalog",
    "EvaluationJobInputs",
    "Hyperparameters",
    "JobSpec",
    "JobSpecError",
    "PriceTable",
    "Problem",
    "RenderedEvaluation",
    "RenderedRecipe",
    "ResolvedJob",
    "TrainingJobInputs",
    "Variant",
    "build_evaluation_job_request",
    "build_training_job_request",
    "estimate_run",
    "evaluation_overrides",
    "hyperparameters_from_recipe_keys",
    "load_catalog",
    "load_evaluation_catalog",
    "load_price_table",
    "recipe_overrides",
    "render_evaluation_recipe",
    "render_recipe",
    "training_job_name",
]
