"""RenderRecipe: render the run's recipe, upload it, build the exact CreateTrainingJob request and estimate the run.

Everything the training job will see is written to the run's folder first (``recipe/recipe.yaml``, ``plan.json``),
so a person can read what is about to run, and a failed run still shows what it would have done. The stage policy
then decides whether the run may start (``policy`` in plan.json); a refused run is recorded and raised as
``PolicyViolation`` or ``ApprovalRequired`` (novaft.pipeline.steps.policy_gate).
"""

from __future__ import annotations

from novaft.pipeline.contracts import RenderRecipeInput, TrainingPlan
from novaft.pipeline.deployment import check_deploy
from novaft.pipeline.errors import JobSpecInvalid
from novaft.pipeline.facts import (
    PLAN_FILE,
    RUN_ID_TAG,
    STAGE_TAG,
    STATUS_VALIDATING,
    recipe_location,
    training_job_locations,
)
from novaft.pipeline.settings import Settings
from novaft.pipeline.steps.approval import approval_ask
from novaft.pipeline.steps.evaluation import estimate_evaluation, with_evaluation
from novaft.pipeline.steps.job_spec import job_spec_from_document
from novaft.pipeline.steps.policy_gate import refuse_unless_cleared, resolve_base_run, stage_job_inputs
from novaft.pipeline.steps.ports import ObjectStore, RunStore
from novaft.policy import evaluate, policy_request_from
from novaft.recipes import (
    JobSpecError,
    PriceTable,
    TrainingJobInputs,
    build_training_job_request,
    estimate_run,
    render_recipe,
)


def render_run_recipe(
    payload: RenderRecipeInput,
    *,
    prices: PriceTable | None,
    settings: Settings,
    objects: ObjectStore,
    runs: RunStore,
    now: str,
) -> TrainingPlan:
    run = payload.run
    # The spec ValidateDataset parsed from the pinned job.yaml (or the default); job.yaml is not read again.
    spec = job_spec_from_document(payload.validation.job_spec)
    if spec.region is not None and spec.region != settings.region:
        raise JobSpecInvalid(
            f"job spec: region: the pipeline runs jobs in its own region (given: {spec.region!r}; "
            f"allowed: {settings.region!r} or leave it out)"
        )
    # What the job spec alone cannot know: whether the stage's region offers the deployment it asks for.
    check_deploy(spec.deploy.target, peft=spec.peft, region=settings.region)
    limit = settings.max_training_seconds
    if limit is not None and spec.max_runtime_seconds > limit:
        raise JobSpecInvalid(
            f"job spec: max_runtime_seconds: {spec.max_runtime_seconds} is longer than this deployment waits for a "
            f"training job ({limit} s, the stage's max_training_hours); allowed: at most {limit}, or raise "
            "max_training_hours in cdk.json"
        )
    prefix = run.artifacts_prefix
    # The policy judges the spec as asked for (a base_run_id is not an s3:// URI); the recipe uses the checkpoint.
    requested = spec
    spec = resolve_base_run(requested, runs=runs)
    try:
        rendered = render_recipe(spec)
        recipe_key = recipe_location(prefix, rendered.file_name)
        inputs = TrainingJobInputs(
            job_name=run.training_job_name,
            role_arn=settings.require("training_role_arn"),
            region=settings.region,
            # The snapshot of the validated versions, never incoming/ (a later upload there must not change them).
            train_s3_uri=payload.validation.inputs.train_s3_uri,
            validation_s3_uri=payload.validation.inputs.validation_s3_uri,
            **training_job_locations(f"s3://{run.artifacts_bucket}/{prefix}", rendered.file_name),
            tags={RUN_ID_TAG: run.run_id, STAGE_TAG: settings.stage},
            **stage_job_inputs(settings),
        )
        request = build_training_job_request(spec, rendered, inputs)
        run_estimate = estimate_run(spec, payload.validation.stats, prices, region=settings.region)
        estimate = run_estimate.to_dict()
        # The evaluation jobs after training cost money too: shown in the estimate, counted by the policy.
        evaluation_estimate = estimate_evaluation(spec, prices, region=settings.region)
        if evaluation_estimate.jobs:
            estimate["evaluation"] = evaluation_estimate.to_dict()
    except JobSpecError as error:
        raise JobSpecInvalid(str(error)) from None
    request_of_run = with_evaluation(policy_request_from(requested, run_estimate), evaluation_estimate)
    decision = evaluate(settings.policy, request_of_run)
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
            "policy": decision.to_dict(),
            "validation_report_s3_uri": payload.validation.report_s3_uri,
        },
    )
    refuse_unless_cleared(decision, run=run, runs=runs, now=now, approval_gate=settings.approval_gate)
    approval = None
    if settings.approval_gate and decision.needs_approval:
        ask = approval_ask(requested, request=request, estimate=estimate, decision=decision)
        approval = ask.to_dict()
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
        approval=approval,
    )
