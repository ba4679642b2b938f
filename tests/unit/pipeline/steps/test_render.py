from __future__ import annotations

from typing import Any

import pytest

from novaft.pipeline.contracts import RenderRecipeInput, ValidationOutcome
from novaft.pipeline.errors import JobSpecInvalid, SettingsInvalid
from novaft.pipeline.facts import (
    JOB_FILE,
    PLAN_FILE,
    RUN_ID_TAG,
    SNAPSHOT_DIR,
    STAGE_TAG,
    STATUS_REGISTERED,
    STATUS_VALIDATING,
    TRAIN_FILE,
    TRAINING_OUTPUT_DIR,
    VALIDATION_FILE,
    VALIDATION_REPORT_FILE,
)
from novaft.pipeline.job_spec_source import job_spec_from
from novaft.pipeline.steps.job_spec import job_spec_document
from novaft.pipeline.steps.render import render_run_recipe
from novaft.pipeline.steps.validate import validate_run_dataset
from novaft.recipes import JobSpec, load_price_table
from tests.unit.pipeline.fakes import (
    ARTIFACTS_BUCKET,
    DATASETS_BUCKET,
    DEFAULT_JOB,
    LATER,
    NOW,
    REGION,
    ROLE_ARN,
    FakeObjectStore,
    FakeRunStore,
    pinned,
    run_context,
    settings,
    valid_sft,
)

RUN = run_context(validation=pinned(f"incoming/demo/{VALIDATION_FILE}"), job=pinned(f"incoming/demo/{JOB_FILE}"))
PLAN_KEY = f"{RUN.artifacts_prefix}{PLAN_FILE}"


def _spec(**fields: Any) -> JobSpec:
    return job_spec_from(None, source="default job profile", default_job={**DEFAULT_JOB, **fields})


@pytest.fixture
def stores() -> tuple[FakeObjectStore, FakeRunStore, ValidationOutcome]:
    objects = FakeObjectStore()
    objects.add(DATASETS_BUCKET, RUN.dataset.train_key, valid_sft())
    objects.add(DATASETS_BUCKET, f"incoming/demo/{VALIDATION_FILE}", valid_sft(2))
    objects.add(DATASETS_BUCKET, f"incoming/demo/{JOB_FILE}", "model: micro\nmethod: sft\npeft: lora\n")
    runs = FakeRunStore({RUN.run_id: {"run_id": RUN.run_id, "status": STATUS_REGISTERED}})
    validation = validate_run_dataset(RUN, settings=settings(), objects=objects, runs=runs, now=NOW)
    return objects, runs, validation


def _render(
    stores: tuple[FakeObjectStore, FakeRunStore, ValidationOutcome], spec: JobSpec, **setting_overrides: Any
) -> Any:
    objects, runs, validation = stores
    # The spec arrives in the workflow state, as ValidateDataset carries it.
    carried = validation.model_copy(update={"job_spec": job_spec_document(spec)})
    return render_run_recipe(
        RenderRecipeInput(run=RUN, validation=carried),
        prices=load_price_table(),
        settings=settings(**setting_overrides),
        objects=objects,
        runs=runs,
        now=LATER,
    )


def test_the_recipe_and_plan_are_written_before_anything_runs(
    stores: tuple[FakeObjectStore, FakeRunStore, ValidationOutcome],
) -> None:
    objects, runs, _ = stores
    plan = _render(stores, _spec())
    artifacts = f"s3://{ARTIFACTS_BUCKET}/{RUN.artifacts_prefix}"
    assert plan.training_job_name == RUN.training_job_name
    assert plan.plan_s3_uri == f"s3://{ARTIFACTS_BUCKET}/{PLAN_KEY}"
    assert plan.recipe_s3_uri.startswith(f"{artifacts}recipe/") and plan.recipe_s3_uri.endswith(".yaml")
    recipe_key = plan.recipe_s3_uri.removeprefix(f"s3://{ARTIFACTS_BUCKET}/")
    assert "run:" in objects.text(ARTIFACTS_BUCKET, recipe_key)
    request = plan.request
    assert request["TrainingJobName"] == RUN.training_job_name and request["RoleArn"] == ROLE_ARN
    assert request["OutputDataConfig"]["S3OutputPath"] == f"{artifacts}{TRAINING_OUTPUT_DIR}/"
    channels = {channel["ChannelName"]: channel for channel in request["InputDataConfig"]}
    snapshot = f"{artifacts}{SNAPSHOT_DIR}/"
    assert channels["train"]["DataSource"]["S3DataSource"]["S3Uri"] == f"{snapshot}{TRAIN_FILE}"
    assert channels["validation"]["DataSource"]["S3DataSource"]["S3Uri"] == f"{snapshot}{VALIDATION_FILE}"
    assert {"Key": RUN_ID_TAG, "Value": RUN.run_id} in request["Tags"]
    assert {"Key": STAGE_TAG, "Value": "dev"} in request["Tags"]
    document = objects.json(ARTIFACTS_BUCKET, PLAN_KEY)
    assert document["request"] == request and document["estimate"] == plan.estimate
    assert document["validation_report_s3_uri"].endswith(VALIDATION_REPORT_FILE)
    assert runs.updates[-1] == (
        RUN.run_id,
        {
            "status": STATUS_VALIDATING,
            "recipe_s3_uri": plan.recipe_s3_uri,
            "plan_s3_uri": plan.plan_s3_uri,
            "updated_at": LATER,
        },
    )


def test_vpc_and_encryption_settings_reach_the_request(
    stores: tuple[FakeObjectStore, FakeRunStore, ValidationOutcome],
) -> None:
    key = f"arn:aws:kms:{REGION}:123456789012:key/1"
    plan = _render(stores, _spec(), kms_key_arn=key, subnet_ids=("subnet-1",), security_group_ids=("sg-1",))
    assert plan.request["OutputDataConfig"]["KmsKeyId"] == key
    assert plan.request["VpcConfig"] == {"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]}
    assert "VolumeKmsKeyId" not in plan.request["ResourceConfig"]


def test_a_job_for_another_region_is_refused_naming_the_allowed_one(
    stores: tuple[FakeObjectStore, FakeRunStore, ValidationOutcome],
) -> None:
    objects, runs, _ = stores
    with pytest.raises(JobSpecInvalid, match=rf"region: .*given: 'us-east-1'.*allowed: '{REGION}'"):
        _render(stores, _spec(region="us-east-1"))
    assert (ARTIFACTS_BUCKET, PLAN_KEY) not in objects.objects
    assert "plan_s3_uri" not in runs.items[RUN.run_id]


def test_a_pipeline_region_without_nova_training_images_is_refused(
    stores: tuple[FakeObjectStore, FakeRunStore, ValidationOutcome],
) -> None:
    # The recipes library raises JobSpecError while building the request; the step names it JobSpecInvalid.
    objects, _, _ = stores
    with pytest.raises(JobSpecInvalid, match="region: no Nova training images in this region"):
        _render(stores, _spec(), region="eu-west-1")
    assert (ARTIFACTS_BUCKET, PLAN_KEY) not in objects.objects


def test_a_job_may_name_the_pipeline_region(stores: tuple[FakeObjectStore, FakeRunStore, ValidationOutcome]) -> None:
    assert _render(stores, _spec(region=REGION)).training_job_name == RUN.training_job_name


def test_a_job_longer_than_the_deployment_waits_is_refused(
    stores: tuple[FakeObjectStore, FakeRunStore, ValidationOutcome],
) -> None:
    with pytest.raises(JobSpecInvalid, match=r"max_runtime_seconds: 7200 .*allowed: at most 3600"):
        _render(stores, _spec(max_runtime_seconds=7200), max_training_seconds=3600)
    assert _render(stores, _spec(max_runtime_seconds=3600), max_training_seconds=3600).request


def test_without_a_training_role_nothing_is_written(
    stores: tuple[FakeObjectStore, FakeRunStore, ValidationOutcome],
) -> None:
    objects, _, _ = stores
    with pytest.raises(SettingsInvalid, match="NOVAFT_TRAINING_ROLE_ARN"):
        _render(stores, _spec(), training_role_arn=None)
    assert (ARTIFACTS_BUCKET, PLAN_KEY) not in objects.objects


def test_the_carried_spec_is_used_and_job_yaml_is_not_read_again(
    stores: tuple[FakeObjectStore, FakeRunStore, ValidationOutcome],
) -> None:
    objects, _, _ = stores
    objects.add(DATASETS_BUCKET, f"incoming/demo/{JOB_FILE}", "model: pro\nmethod: dpo\npeft: full\n")
    reads_before = len(objects.reads)
    _render(stores, _spec())
    assert objects.reads[reads_before:] == []
    assert objects.json(ARTIFACTS_BUCKET, PLAN_KEY)["job_spec"]["model"] == "micro"
