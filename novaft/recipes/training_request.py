"""Build the CreateTrainingJob request for a rendered recipe, the way the SageMaker Python SDK sends it for Nova.

The SDK-equivalent part (as SageMaker Python SDK 2.257.7 sends it): the Nova image for the model, method and
region; ``train`` and ``validation`` channels of type ``Converse`` (``FullyReplicated``); the reserved ``recipe``
channel (``S3Prefix``, ``File``) pointing at the folder of the uploaded recipe; raw-string hyperparameters
``model_type``, ``base_model`` (or ``base_model_location`` for an ``s3://`` checkpoint) and
``sagemaker_recipe_local_path``; TensorBoard output; profiler and remote debugging off. On top, what production
needs: KMS keys for output and volume, VPC, network isolation, inter-container encryption whenever more than one
instance runs, and tags.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from novaft.recipes.catalog import Catalog, load_catalog
from novaft.recipes.errors import JobSpecError, Problem
from novaft.recipes.job_name import JOB_NAME_PATTERN
from novaft.recipes.job_spec import JobSpec
from novaft.recipes.render import RenderedRecipe

# Where SageMaker mounts the `recipe` channel inside the container (File mode).
RECIPE_CHANNEL_DIR = "/opt/ml/input/data/recipe"


@dataclass(frozen=True)
class TrainingJobInputs:
    """Everything the request needs that is not in the job spec: names, the role and the run's S3 locations."""

    job_name: str
    role_arn: str
    region: str
    train_s3_uri: str
    recipe_s3_uri: str  # the uploaded recipe's full URI, ending in .yaml
    output_s3_uri: str
    validation_s3_uri: str | None = None
    tensorboard_s3_uri: str | None = None
    output_kms_key: str | None = None
    volume_kms_key: str | None = None
    subnets: Sequence[str] = ()
    security_group_ids: Sequence[str] = ()
    tags: Mapping[str, str] = field(default_factory=dict)


def build_training_job_request(
    spec: JobSpec, rendered: RenderedRecipe, inputs: TrainingJobInputs, catalog: Catalog | None = None
) -> dict[str, Any]:
    """The keyword arguments of ``sagemaker.create_training_job`` for this run.

    Precedence: explicit ``inputs`` win over the spec. KMS keys and the VPC come from ``inputs`` when given there,
    otherwise from the spec (``output_kms_key``, ``volume_kms_key``, ``vpc``), otherwise they are left out. Tags are
    merged: the spec's tags first, then ``inputs.tags`` (which win on the same key). A variant without a validation
    channel (Nova 2.0, which ignores validation data) gets none even if ``validation_s3_uri`` is given.
    """
    catalog = catalog or load_catalog()
    _check_inputs(inputs, catalog)
    variant = rendered.variant
    run = rendered.values["run"]
    base = str(run["model_name_or_path"])
    hyperparameters = {
        "model_type": str(run["model_type"]),
        ("base_model_location" if base.startswith("s3://") else "base_model"): base,
        "sagemaker_recipe_local_path": f"{RECIPE_CHANNEL_DIR}/{posixpath.basename(inputs.recipe_s3_uri)}",
    }
    channels = [_converse_channel("train", inputs.train_s3_uri)]
    if inputs.validation_s3_uri and variant.validation_channel:
        channels.append(_converse_channel("validation", inputs.validation_s3_uri))
    channels.append(
        {
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": posixpath.dirname(inputs.recipe_s3_uri),
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
            "InputMode": "File",
            "ChannelName": "recipe",
        }
    )
    output_config: dict[str, Any] = {"S3OutputPath": inputs.output_s3_uri}
    resource_config: dict[str, Any] = {
        "VolumeSizeInGB": spec.volume_size_gb,
        "InstanceCount": rendered.instance_count,
        "InstanceType": rendered.instance_type,
    }
    request: dict[str, Any] = {
        "AlgorithmSpecification": {
            "TrainingInputMode": "File",
            "TrainingImage": catalog.image_uri(variant, inputs.region),
        },
        "OutputDataConfig": output_config,
        "TrainingJobName": inputs.job_name,
        "StoppingCondition": {"MaxRuntimeInSeconds": spec.max_runtime_seconds},
        "ResourceConfig": resource_config,
        "RoleArn": inputs.role_arn,
        "InputDataConfig": channels,
        "HyperParameters": hyperparameters,
        "ProfilerConfig": {"DisableProfiler": True},
        "RemoteDebugConfig": {"EnableRemoteDebug": False},
    }
    if inputs.tensorboard_s3_uri:
        request["TensorBoardOutputConfig"] = {"S3OutputPath": inputs.tensorboard_s3_uri}
    if output_kms := inputs.output_kms_key or spec.output_kms_key:
        output_config["KmsKeyId"] = output_kms
    if volume_kms := inputs.volume_kms_key or spec.volume_kms_key:
        resource_config["VolumeKmsKeyId"] = volume_kms
    subnets = list(inputs.subnets) or (list(spec.vpc.subnets) if spec.vpc else [])
    security_groups = list(inputs.security_group_ids) or (list(spec.vpc.security_group_ids) if spec.vpc else [])
    if subnets or security_groups:
        request["VpcConfig"] = {"SecurityGroupIds": security_groups, "Subnets": subnets}
    if spec.enable_network_isolation:
        request["EnableNetworkIsolation"] = True
    if rendered.instance_count > 1:
        # Nodes exchange gradients; encrypt that traffic whenever there is more than one.
        request["EnableInterContainerTrafficEncryption"] = True
    tags = {**spec.tags, **inputs.tags}
    if tags:
        request["Tags"] = [{"Key": key, "Value": value} for key, value in tags.items()]
    return request


def _converse_channel(name: str, s3_uri: str) -> dict[str, Any]:
    # Channel names `train`/`validation` with type Converse: what the Nova containers expect (Nova user guide notebook).
    return {
        "DataSource": {
            "S3DataSource": {"S3DataType": "Converse", "S3Uri": s3_uri, "S3DataDistributionType": "FullyReplicated"}
        },
        "ChannelName": name,
    }


def _check_inputs(inputs: TrainingJobInputs, catalog: Catalog) -> None:
    problems = []
    regions = sorted(catalog.regions_with_training_images())
    if inputs.region not in regions:
        problems.append(Problem("region", inputs.region, ", ".join(regions), "no Nova training images in this region"))
    if not JOB_NAME_PATTERN.match(inputs.job_name):
        allowed = "1-63 letters, digits and dashes, starting and ending with a letter or digit"
        problems.append(Problem("job_name", inputs.job_name, allowed, "not a valid training job name"))
    uris = {
        "train_s3_uri": inputs.train_s3_uri,
        "recipe_s3_uri": inputs.recipe_s3_uri,
        "output_s3_uri": inputs.output_s3_uri,
        "validation_s3_uri": inputs.validation_s3_uri,
        "tensorboard_s3_uri": inputs.tensorboard_s3_uri,
    }
    for name, uri in uris.items():
        if uri is not None and (not uri.startswith("s3://") or len(uri) <= len("s3://")):
            problems.append(Problem(name, uri, "an s3://bucket/key URI", "not an S3 URI"))
    if not inputs.recipe_s3_uri.endswith(".yaml"):
        problems.append(Problem("recipe_s3_uri", inputs.recipe_s3_uri, "a key ending in .yaml", "not a recipe file"))
    if problems:
        raise JobSpecError(problems, source="training job inputs")
