"""RenderRecipe: render the run's recipe, upload it, build the exact CreateTrainingJob request and estimate the run.

Everything the training job will see is written to the run's folder first (``recipe/recipe.yaml``, ``plan.json``),
so a person can read what is about to run, and a failed run still shows what it would have done.
"""

from __future__ import annotations

from novaft.pipeline.contracts import RenderRecipeInput, TrainingPlan
from novaft.pipeline.errors import JobSpecInvalid
from novaft.pipeline.facts import PLAN_FILE, RUN_ID_TAG, STAGE_TAG, STATUS_VALIDATING, TRAINING_OUTPUT_DIR
from novaft.pipeline.settings import Settings
from novaft.pipeline.steps.ports import ObjectStore, RunStore
from novaft.recipes import (
    JobSpec,
    JobSpecError,
    PriceTable,
    TrainingJobInputs,
    build_training_job_request,
    estimate_run,
    render_recipe,
)

RECIPE_FOLDER = "recipe/"


def render_run_recipe(
    payload: RenderRecipeInput,
    *,
    spec: JobSpec,
    prices: PriceTable | None,
    settings: Settings,
    objects: ObjectStore,
    runs: RunStore,
    now: str,
) -> TrainingPlan:
    run = payload.run
    if spec.region is not None and spec.region != settings.region:
        raise JobSpecInvalid(
            f"job spec: region: the pipeline runs jobs in its own region (given: {spec.region!r}; "
            f"allowed: {settings.region!r} or leave it out)"
        )
    limit = settings.max_training_seconds
    if limit is not None and spec.max_runtime_seconds > limit:
        raise JobSpecInvalid(
            f"job spec: max_runtime_seconds: {spec.max_runtime_seconds} is longer than this deployment waits for a "
            f"training job ({limit} s, the stage's max_training_hours); allowed: at most {limit}, or raise "
            "max_training_hours in cdk.json"
        )
    prefix = run.artifacts_prefix
    artifacts = f"s3://{run.artifacts_bucket}/{prefix}"
    try:
        rendered = render_recipe(spec)
        recipe_key = f"{prefix}{RECIPE_FOLDER}{rendered.file_name}"
        inputs = TrainingJobInputs(
            job_name=run.training_job_name,
            role_arn=settings.require("training_role_arn"),
            region=settings.region,
            train_s3_uri=f"s3://{run.dataset.bucket}/{run.dataset.train_key}",
            validation_s3_uri=(
                f"s3://{run.dataset.bucket}/{run.dataset.validation_key}" if run.dataset.validation_key else None
            ),
            recipe_s3_uri=f"s3://{run.artifacts_bucket}/{recipe_key}",
            output_s3_uri=f"{artifacts}{TRAINING_OUTPUT_DIR}/",
            tensorboard_s3_uri=f"{artifacts}tensorboard/",
            # Only the output key: p4d/p5/g5/g6 have instance storage, and SageMaker rejects a VolumeKmsKeyId for
            # instance types with local storage (CreateTrainingJob API reference, ResourceConfig.VolumeKmsKeyId).
            output_kms_key=settings.kms_key_arn,
            subnets=settings.subnet_ids,
            security_group_ids=settings.security_group_ids,
            tags={RUN_ID_TAG: run.run_id, STAGE_TAG: settings.stage},
        )
        request = build_training_job_request(spec, rendered, inputs)
        estimate = estimate_run(spec, payload.validation.stats, prices, region=settings.region).to_dict()
    except JobSpecError as error:
        raise JobSpecInvalid(str(error)) from None
    recipe_uri = objects.put_text(run.artifacts_bucket, recipe_key, rendered.yaml_text)
    plan_uri = objects.put_json(
        run.artifacts_bucket,
        f"{prefix}{PLAN_FILE}",
        {
            "run_id": run.run_id,
            "job_spec": spec.model_dump(mode="json", exclude_defaults=True),
            "variant": rendered.variant.id,
            "recipe_s3_uri": recipe_uri,
            "request": request,
            "estimate": estimate,
            "validation_report_s3_uri": payload.validation.report_s3_uri,
        },
    )
    runs.update(
        run.run_id,
        {"status": STATUS_VALIDATING, "recipe_s3_uri": recipe_uri, "plan_s3_uri": plan_uri, "updated_at": now},
    )
    return TrainingPlan(
        training_job_name=run.training_job_name,
        recipe_s3_uri=recipe_uri,
        plan_s3_uri=plan_uri,
        request=request,
        estimate=estimate,
    )
