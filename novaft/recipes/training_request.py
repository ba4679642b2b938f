"""Build the CreateTrainingJob request for a rendered recipe, the way the SageMaker Python SDK sends it for Nova.

The SDK-equivalent part (as SageMaker Python SDK 2.257.7 sends it): the Nova image for the model, method and
region; ``train`` and ``validation`` channels of type ``Converse`` (``FullyReplicated``); the reserved ``recipe``
channel (``S3Prefix``, ``File``) pointing at the folder of the uploaded recipe; raw-string hyperparameters
``model_type``, ``base_model`` (or ``base_model_location`` for an ``s3://`` checkpoint) and
``sagemaker_recipe_local_path``; TensorBoard output; profiler and remote debugging off. On top, what production
needs: KMS keys for output and volume, VPC, network isolation, inter-container encryption whenever more than one
instance runs (or always, when the stage asks), and tags. The keys, the VPC and network isolation are the stage's
(``TrainingJobInputs``); a job spec cannot set them. ``nova_job_request`` assembles the request from resolved parts
and is shared with the evaluation request (``novaft.recipes.evaluation``).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from novaft.errors import Problem
from novaft.recipes.catalog import Catalog, load_catalog
from novaft.recipes.errors import JobSpecError
from novaft.recipes.job_name import JOB_NAME_PATTERN
from novaft.recipes.job_spec import JobSpec
from novaft.recipes.render import RenderedRecipe

if TYPE_CHECKING:
    from novaft.recipes.evaluation import EvaluationJobInputs, RenderedEvaluation

# Where SageMaker mounts the `recipe` channel inside the container (File mode).
RECIPE_CHANNEL_DIR = "/opt/ml/input/data/recipe"
# Channel names `train`/`validation` with type Converse: what the Nova containers expect (Nova user guide notebook).
CONVERSE = "Converse"
# What the SDK sends for TrainingInput(s3_data=uri): its default type.
S3_PREFIX = "S3Prefix"


@dataclass(frozen=True, kw_only=True)
class JobInputs:
    """What a training or evaluation request needs besides the recipe: names, the role, S3 locations and the stage's
    settings (KMS keys, VPC, network isolation, tags)."""

    job_name: str
    role_arn: str
    region: str
    recipe_s3_uri: str  # the uploaded recipe's full URI, ending in .yaml
    output_s3_uri: str
    tensorboard_s3_uri: str | None = None
    output_kms_key: str | None = None
    volume_kms_key: str | None = None
    subnets: Sequence[str] = ()
    security_group_ids: Sequence[str] = ()
    enable_network_isolation: bool = False
    # Also for one instance, where there is no traffic to encrypt: lets an IAM condition require the flag on every job.
    encrypt_inter_container_traffic: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class TrainingJobInputs(JobInputs):
    """Everything the request needs that is not in the job spec: names, the role and the run's S3 locations."""

    train_s3_uri: str
    validation_s3_uri: str | None = None


def build_training_job_request(
    spec: JobSpec, rendered: RenderedRecipe, inputs: TrainingJobInputs, catalog: Catalog | None = None
) -> dict[str, Any]:
    """The keyword arguments of ``sagemaker.create_training_job`` for this run.

    KMS keys, the VPC and network isolation come from ``inputs`` (the stage), and are left out when not given. Tags
    are merged: the spec's tags first, then ``inputs.tags`` (which win on the same key). A variant without a
    validation channel (Nova 2.0, which ignores validation data) gets none even if ``validation_s3_uri`` is given.
    """
    catalog = catalog or load_catalog()
    _check_inputs(inputs, catalog)
    variant = rendered.variant
    channels = [data_channel("train", inputs.train_s3_uri, CONVERSE)]
    if inputs.validation_s3_uri and variant.validation_channel:
        channels.append(data_channel("validation", inputs.validation_s3_uri, CONVERSE))
    image_uri = catalog.image_uri(variant, inputs.region)
    return nova_job_request(NovaJob(inputs, rendered, spec, image_uri, channels))


@dataclass(frozen=True)
class NovaJob:
    """The parts of a Nova training or evaluation job request, resolved (precedence already applied)."""

    inputs: JobInputs
    rendered: RenderedRecipe | RenderedEvaluation  # its run section gives the hyperparameters
    settings: JobSpec | EvaluationJobInputs  # the job's own limits and tags (an evaluation's inputs carry them)
    image_uri: str
    data_channels: Sequence[dict[str, Any]]


def nova_job_request(job: NovaJob) -> dict[str, Any]:
    """The CreateTrainingJob keyword arguments the SDK sends for a Nova recipe (training or evaluation), plus extras.

    The recipe channel, the ``model_type``/``base_model``/``base_model_location``/``sagemaker_recipe_local_path``
    hyperparameters and, for an evaluation recipe with a processor Lambda, ``eval_lambda_arn`` (as the SDK sets it).
    """
    inputs, recipe_values = job.inputs, job.rendered.values
    run = recipe_values["run"]
    base = str(run["model_name_or_path"])
    hyperparameters = {
        "model_type": str(run["model_type"]),
        ("base_model_location" if base.startswith("s3://") else "base_model"): base,
        "sagemaker_recipe_local_path": f"{RECIPE_CHANNEL_DIR}/{posixpath.basename(inputs.recipe_s3_uri)}",
    }
    if recipe_values.get("evaluation"):
        lambda_arn = (recipe_values.get("processor") or {}).get("lambda_arn")
        if lambda_arn:
            hyperparameters["eval_lambda_arn"] = str(lambda_arn)
    channels = [
        *job.data_channels,
        {
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": S3_PREFIX,
                    "S3Uri": posixpath.dirname(inputs.recipe_s3_uri),
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
            "InputMode": "File",
            "ChannelName": "recipe",
        },
    ]
    output_config: dict[str, Any] = {"S3OutputPath": inputs.output_s3_uri}
    resource_config: dict[str, Any] = {
        "VolumeSizeInGB": job.settings.volume_size_gb,
        "InstanceCount": job.rendered.instance_count,
        "InstanceType": job.rendered.instance_type,
    }
    request: dict[str, Any] = {
        "AlgorithmSpecification": {"TrainingInputMode": "File", "TrainingImage": job.image_uri},
        "OutputDataConfig": output_config,
        "TrainingJobName": inputs.job_name,
        "StoppingCondition": {"MaxRuntimeInSeconds": job.settings.max_runtime_seconds},
        "ResourceConfig": resource_config,
        "RoleArn": inputs.role_arn,
        "InputDataConfig": channels,
        "HyperParameters": hyperparameters,
        "ProfilerConfig": {"DisableProfiler": True},
        "RemoteDebugConfig": {"EnableRemoteDebug": False},
    }
    if inputs.tensorboard_s3_uri:
        request["TensorBoardOutputConfig"] = {"S3OutputPath": inputs.tensorboard_s3_uri}
    if inputs.output_kms_key:
        output_config["KmsKeyId"] = inputs.output_kms_key
    if inputs.volume_kms_key:
        resource_config["VolumeKmsKeyId"] = inputs.volume_kms_key
    if inputs.subnets or inputs.security_group_ids:
        request["VpcConfig"] = {"SecurityGroupIds": list(inputs.security_group_ids), "Subnets": list(inputs.subnets)}
    if inputs.enable_network_isolation:
        request["EnableNetworkIsolation"] = True
    if job.rendered.instance_count > 1 or inputs.encrypt_inter_container_traffic:
        # Nodes exchange gradients; encrypt that traffic whenever there is more than one.
        request["EnableInterContainerTrafficEncryption"] = True
    # The job's own tags first, then the stage's, which win on the same key.
    tags = {**job.settings.tags, **inputs.tags}
    if tags:
        request["Tags"] = [{"Key": key, "Value": value} for key, value in tags.items()]
    return request


def data_channel(name: str, s3_uri: str, data_type: str) -> dict[str, Any]:
    """A FullyReplicated input channel of this S3 data type."""
    return {
        "DataSource": {
            "S3DataSource": {"S3DataType": data_type, "S3Uri": s3_uri, "S3DataDistributionType": "FullyReplicated"}
        },
        "ChannelName": name,
    }


def _check_inputs(inputs: TrainingJobInputs, catalog: Catalog) -> None:
    uris = {
        "train_s3_uri": inputs.train_s3_uri,
        "recipe_s3_uri": inputs.recipe_s3_uri,
        "output_s3_uri": inputs.output_s3_uri,
        "validation_s3_uri": inputs.validation_s3_uri,
        "tensorboard_s3_uri": inputs.tensorboard_s3_uri,
    }
    problems = job_input_problems(inputs, regions=catalog.regions_with_training_images(), uris=uris)
    if problems:
        raise JobSpecError(problems, source="training job inputs")


def job_input_problems(
    inputs: JobInputs, *, regions: Iterable[str], uris: Mapping[str, str | None], images: str = "training"
) -> list[Problem]:
    """What is wrong with a job's names and S3 locations (shared by the training and evaluation requests)."""
    problems = []
    known = sorted(regions)
    if inputs.region not in known:
        problems.append(Problem("region", inputs.region, ", ".join(known), f"no Nova {images} images in this region"))
    if not JOB_NAME_PATTERN.match(inputs.job_name):
        allowed = "1-63 letters, digits and dashes, starting and ending with a letter or digit"
        problems.append(Problem("job_name", inputs.job_name, allowed, "not a valid training job name"))
    for name, uri in uris.items():
        if uri is not None and (not uri.startswith("s3://") or len(uri) <= len("s3://")):
            problems.append(Problem(name, uri, "an s3://bucket/key URI", "not an S3 URI"))
    if not inputs.recipe_s3_uri.endswith(".yaml"):
        problems.append(Problem("recipe_s3_uri", inputs.recipe_s3_uri, "a key ending in .yaml", "not a recipe file"))
    return problems
