from __future__ import annotations

import pytest
import yaml
from botocore.model import OperationModel
from botocore.validate import validate_parameters

from lambdas.handlers import render_recipe
from novaft.pipeline.errors import JobSpecInvalid
from novaft.pipeline.facts import PLAN_FILE, RECORD_TYPE_RUN, STATUS_VALIDATING
from tests.handlers.conftest import ARTIFACTS_BUCKET, ROLE_ARN, Aws, FakeLambdaContext, load_event

PREFIX = "runs/demo-dbad16161acb/"


def _given(aws: Aws, *, job_yaml: str | None = None, validation: bool = False) -> dict:
    event = load_event("render_recipe.json")
    if job_yaml is not None:
        # ValidateDataset parsed the run's job.yaml and carries the spec; RenderRecipe never reads job.yaml.
        event["validation"]["job_spec"] = yaml.safe_load(job_yaml)
    if validation:
        event["validation"]["inputs"]["validation_s3_uri"] = f"s3://{ARTIFACTS_BUCKET}/{PREFIX}input/validation.jsonl"
    aws.put_item(
        {
            "run_id": event["run"]["run_id"],
            "record_type": RECORD_TYPE_RUN,
            "status": STATUS_VALIDATING,
            "execution_arn": "a",
        }
    )
    return event


def _input_shape(aws: Aws) -> OperationModel:
    return aws.sagemaker.meta.service_model.operation_model("CreateTrainingJob")


@pytest.mark.parametrize(
    ("job_yaml", "validation", "instance_type", "channels"),
    [
        (None, False, "ml.p5.48xlarge", ["train", "recipe"]),
        (None, True, "ml.p5.48xlarge", ["train", "validation", "recipe"]),
        (
            "model: micro\nmethod: sft\npeft: lora\ninstance_type: ml.g5.12xlarge\ninstance_count: 1\n",
            False,
            "ml.g5.12xlarge",
            ["train", "recipe"],
        ),
    ],
)
def test_render_recipe_writes_recipe_plan_and_a_valid_request(
    aws: Aws,
    lambda_context: FakeLambdaContext,
    job_yaml: str | None,
    validation: bool,
    instance_type: str,
    channels: list[str],
) -> None:
    event = _given(aws, job_yaml=job_yaml, validation=validation)

    plan = render_recipe.lambda_handler(event, lambda_context)

    request = plan["request"]
    validate_parameters(request, _input_shape(aws).input_shape)  # raises on any shape error
    assert plan["training_job_name"] == request["TrainingJobName"] == event["run"]["training_job_name"]
    assert plan["recipe_s3_uri"] == f"s3://{ARTIFACTS_BUCKET}/{PREFIX}recipe/recipe.yaml"
    assert plan["plan_s3_uri"] == f"s3://{ARTIFACTS_BUCKET}/{PREFIX}{PLAN_FILE}"
    assert request["RoleArn"] == ROLE_ARN
    assert request["ResourceConfig"]["InstanceType"] == instance_type
    assert [channel["ChannelName"] for channel in request["InputDataConfig"]] == channels
    # The training channels read the run's snapshot, never incoming/.
    uris = {
        channel["ChannelName"]: channel["DataSource"]["S3DataSource"]["S3Uri"] for channel in request["InputDataConfig"]
    }
    assert uris["train"] == event["validation"]["inputs"]["train_s3_uri"]
    assert all(uri.startswith(f"s3://{ARTIFACTS_BUCKET}/{PREFIX}") for uri in uris.values())
    assert request["OutputDataConfig"]["S3OutputPath"] == f"s3://{ARTIFACTS_BUCKET}/{PREFIX}output/"
    assert {"Key": "novaft:run-id", "Value": "demo-dbad16161acb"} in request["Tags"]
    assert {"Key": "novaft:stage", "Value": "dev"} in request["Tags"]
    recipe = yaml.safe_load(
        aws.s3.get_object(Bucket=ARTIFACTS_BUCKET, Key=f"{PREFIX}recipe/recipe.yaml")["Body"].read()
    )
    assert recipe["run"]["replicas"] == request["ResourceConfig"]["InstanceCount"]
    saved = aws.read_json(ARTIFACTS_BUCKET, f"{PREFIX}{PLAN_FILE}")
    assert saved["request"] == request
    assert saved["estimate"] == plan["estimate"]
    assert aws.item(event["run"]["run_id"])["plan_s3_uri"] == plan["plan_s3_uri"]


def test_render_recipe_uses_settings_for_kms_and_vpc(
    aws: Aws, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lambdas.handlers import runtime

    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    monkeypatch.setenv("NOVAFT_KMS_KEY_ARN", key)
    monkeypatch.setenv("NOVAFT_SUBNET_IDS", "subnet-1,subnet-2")
    monkeypatch.setenv("NOVAFT_SECURITY_GROUP_IDS", "sg-1")
    runtime.reset()

    request = render_recipe.lambda_handler(_given(aws), lambda_context)["request"]

    assert request["OutputDataConfig"]["KmsKeyId"] == key
    assert "VolumeKmsKeyId" not in request["ResourceConfig"]  # p5/p4d/g5/g6 have instance storage
    assert request["VpcConfig"] == {"Subnets": ["subnet-1", "subnet-2"], "SecurityGroupIds": ["sg-1"]}


@pytest.mark.parametrize(
    ("job_yaml", "message_part"),
    [
        ("model: micro\nmethod: sft\npeft: lora\ninstance_count: 3\n", "instance_count"),
        ("model: micro\nmethod: sft\npeft: lora\nregion: us-west-2\n", "region"),
        ("model: micro\nmethod: dpo\npeft: lora\nhyperparameters: {lr: 5}\n", "lr"),
        # longer than the deployment waits (120 h): the workflow would stop it as timed out
        ("model: micro\nmethod: sft\npeft: lora\nmax_runtime_seconds: 432001\n", "max_runtime_seconds: 432001"),
    ],
)
def test_render_recipe_bad_spec_is_job_spec_invalid(
    aws: Aws, lambda_context: FakeLambdaContext, job_yaml: str, message_part: str
) -> None:
    with pytest.raises(JobSpecInvalid, match=message_part):
        render_recipe.lambda_handler(_given(aws, job_yaml=job_yaml), lambda_context)
    listed = aws.s3.list_objects_v2(Bucket=ARTIFACTS_BUCKET, Prefix=PREFIX).get("KeyCount", 0)
    assert listed == 0  # nothing half-written
