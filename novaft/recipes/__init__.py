"""Nova recipe catalog, job spec, recipe renderer, CreateTrainingJob request builder and run estimate (pure code).

Data lives in the repository's ``recipes/`` folder: one template per official recipe variant, ``catalog.yaml``
(allowed values), ``throughput.yaml`` (the source document's 5-day dataset-size table) and ``prices.yaml``.
"""

from novaft.recipes.catalog import Catalog, Variant, load_catalog
from novaft.recipes.errors import CatalogError, JobSpecError, Problem
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
