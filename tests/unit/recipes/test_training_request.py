from __future__ import annotations

from dataclasses import replace
from typing import Any

import botocore.session
import pytest
from botocore.validate import validate_parameters

from novaft.recipes import JobSpec, JobSpecError, TrainingJobInputs, build_training_job_request, render_recipe

SHAPE = botocore.session.get_session().get_service_model("sagemaker").operation_model("CreateTrainingJob").input_shape
INPUTS = TrainingJobInputs(
    job_name="novaft-run-1",
    role_arn="arn:aws:iam::111122223333:role/Training",
    region="us-west-2",
    train_s3_uri="s3://datasets/incoming/run-1/train.jsonl",
    validation_s3_uri="s3://datasets/incoming/run-1/validation.jsonl",
    recipe_s3_uri="s3://artifacts/runs/run-1/recipe/recipe.yaml",
    output_s3_uri="s3://artifacts/runs/run-1/output/",
    tensorboard_s3_uri="s3://artifacts/runs/run-1/tensorboard/",
)
TAGGED = {"tags": {"team": "spec", "cost": "spec"}}


def _request(spec: dict[str, Any], inputs: TrainingJobInputs = INPUTS) -> dict[str, Any]:
    job = JobSpec.model_validate(spec)
    request = build_training_job_request(job, render_recipe(job), inputs)
    validate_parameters(request, SHAPE)
    return request


def test_sdk_shape_channels_and_hyperparameters() -> None:
    request = _request({"model": "micro", "method": "dpo", "peft": "lora"})
    channels = {c["ChannelName"]: c for c in request["InputDataConfig"]}
    assert [c["DataSource"]["S3DataSource"]["S3DataType"] for c in channels.values()] == [
        "Converse",
        "Converse",
        "S3Prefix",
    ]
    assert channels["recipe"]["DataSource"]["S3DataSource"]["S3Uri"] == "s3://artifacts/runs/run-1/recipe"
    assert channels["recipe"]["InputMode"] == "File"
    assert request["HyperParameters"] == {
        "model_type": "amazon.nova-micro-v1:0:128k",
        "base_model": "nova-micro/prod",
        "sagemaker_recipe_local_path": "/opt/ml/input/data/recipe/recipe.yaml",
    }
    assert request["AlgorithmSpecification"]["TrainingImage"].endswith(
        "us-west-2.amazonaws.com/nova-fine-tune-repo:SM-TJ-DPO-latest"
    )


def test_without_stage_security_settings_the_request_has_none() -> None:
    request = _request({"model": "micro", "method": "sft", "peft": "lora"})
    assert "KmsKeyId" not in request["OutputDataConfig"]
    assert "VolumeKmsKeyId" not in request["ResourceConfig"]
    assert "VpcConfig" not in request


def test_the_stage_security_settings_and_tags_of_the_inputs_are_used() -> None:
    inputs = replace(
        INPUTS,
        output_kms_key="in-out",
        volume_kms_key="in-vol",
        subnets=["subnet-in"],
        security_group_ids=["sg-in"],
        tags={"cost": "inputs", "run": "run-1"},
    )
    request = _request({"model": "micro", "method": "sft", "peft": "lora", **TAGGED}, inputs)
    assert request["OutputDataConfig"]["KmsKeyId"] == "in-out"
    assert request["ResourceConfig"]["VolumeKmsKeyId"] == "in-vol"
    assert request["VpcConfig"] == {"SecurityGroupIds": ["sg-in"], "Subnets": ["subnet-in"]}
    assert request["Tags"] == [
        {"Key": "team", "Value": "spec"},
        {"Key": "cost", "Value": "inputs"},
        {"Key": "run", "Value": "run-1"},
    ]


@pytest.mark.parametrize(
    ("spec", "encrypted"),
    [
        ({"model": "micro", "method": "sft", "peft": "lora"}, True),
        ({"model": "micro", "method": "sft", "peft": "lora", "instance_type": "ml.g5.12xlarge"}, False),
    ],
)
def test_inter_container_encryption_only_with_several_instances(spec: dict[str, Any], encrypted: bool) -> None:
    assert ("EnableInterContainerTrafficEncryption" in _request(spec)) == encrypted


def test_the_stage_can_encrypt_inter_container_traffic_of_a_single_instance() -> None:
    spec = {"model": "micro", "method": "sft", "peft": "lora", "instance_type": "ml.g5.12xlarge"}
    request = _request(spec, replace(INPUTS, encrypt_inter_container_traffic=True))
    assert request["EnableInterContainerTrafficEncryption"] is True


def test_network_isolation_is_opt_in_by_the_stage() -> None:
    spec = {"model": "micro", "method": "sft", "peft": "lora"}
    assert "EnableNetworkIsolation" not in _request(spec)
    assert _request(spec, replace(INPUTS, enable_network_isolation=True))["EnableNetworkIsolation"] is True


def test_nova_2_gets_no_validation_channel() -> None:
    request = _request({"model": "lite-2", "method": "sft", "peft": "lora"})
    assert [c["ChannelName"] for c in request["InputDataConfig"]] == ["train", "recipe"]


def test_optional_outputs_are_left_out() -> None:
    inputs = replace(INPUTS, validation_s3_uri=None, tensorboard_s3_uri=None)
    request = _request({"model": "micro", "method": "sft", "peft": "lora"}, inputs)
    assert "TensorBoardOutputConfig" not in request
    assert [c["ChannelName"] for c in request["InputDataConfig"]] == ["train", "recipe"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"region": "eu-west-1"}, "region"),
        ({"job_name": "bad_name"}, "job_name"),
        ({"train_s3_uri": "train.jsonl"}, "train_s3_uri"),
        ({"recipe_s3_uri": "s3://artifacts/runs/run-1/recipe/"}, "recipe_s3_uri"),
    ],
)
def test_bad_inputs_are_named(change: dict[str, Any], field: str) -> None:
    with pytest.raises(JobSpecError) as info:
        _request({"model": "micro", "method": "sft", "peft": "lora"}, replace(INPUTS, **change))
    assert field in {p.field for p in info.value.problems}
