"""Our CreateTrainingJob request and recipe against the SageMaker Python SDK's, for every catalog variant.

The SDK (2.257.7) is driven as the AWS sample notebook does (``PyTorch(training_recipe=...)`` + ``fit``), with a
session that makes no AWS call: ``upload_data`` is stubbed to record the recipe file and ``create_training_job`` to
capture its keyword arguments. Our request is built with the SDK's job name and uploaded recipe URI (the parts that
depend on the clock and a temporary file name), so the two must be equal as a whole.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
import yaml
from botocore.validate import validate_parameters

from novaft.recipes import (
    JobSpec,
    TrainingJobInputs,
    Variant,
    build_training_job_request,
    load_catalog,
    recipe_overrides,
    render_recipe,
)
from novaft.recipes.yaml_io import nested_from_dotted

os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
sagemaker = pytest.importorskip("sagemaker")
from sagemaker.debugger import TensorBoardOutputConfig  # noqa: E402
from sagemaker.inputs import TrainingInput  # noqa: E402
from sagemaker.pytorch import PyTorch  # noqa: E402

pytestmark = pytest.mark.oracle

BUCKET = "amzn-s3-demo-bucket"
ROLE = "arn:aws:iam::111122223333:role/SageMakerExecutionRole"
REGION = "us-east-1"
TRAIN = f"s3://{BUCKET}/incoming/run-1/train.jsonl"
VALIDATION = f"s3://{BUCKET}/incoming/run-1/validation.jsonl"
OUTPUT = f"s3://{BUCKET}/runs/run-1/output/"
TENSORBOARD = f"s3://{BUCKET}/runs/run-1/tensorboard/"
CATALOG = load_catalog()
CREATE_TRAINING_JOB_SHAPE = (
    botocore.session.get_session().get_service_model("sagemaker").operation_model("CreateTrainingJob").input_shape
)


class _SdkCapture:
    """A sagemaker.Session whose only effects are recorded in memory."""

    def __init__(self) -> None:
        boto_session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        )
        client = boto_session.client("sagemaker")
        self.session = sagemaker.Session(
            boto_session=boto_session,
            sagemaker_client=client,
            default_bucket=BUCKET,
        )
        self.session._default_bucket = BUCKET
        self.request: dict[str, Any] = {}
        self.recipe_uri = ""
        self.recipe_text = ""
        self.session.upload_data = self._upload_data
        client.create_training_job = self._create_training_job

    def _upload_data(self, path: str, bucket: str, key_prefix: str, **_: Any) -> str:
        self.recipe_text = Path(path).read_text(encoding="utf-8")
        self.recipe_uri = f"s3://{bucket}/{key_prefix}/{Path(path).name}"
        return self.recipe_uri

    def _create_training_job(self, **kwargs: Any) -> dict[str, str]:
        self.request = kwargs
        return {"TrainingJobArn": "arn:aws:sagemaker:us-east-1:111122223333:training-job/captured"}


_SHARED: list[_SdkCapture] = []


@pytest.fixture(autouse=True)
def _no_telemetry(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK sends a telemetry request on every fit (an HTTPS GET); drop it so the test stays offline and fast.

    (Opting out through an in-memory SDK config works too, but the SDK then validates that config against its JSON
    schema on every lookup, which is slower than the whole rest of the test.)
    """
    monkeypatch.setattr("sagemaker.telemetry.telemetry_logging._send_telemetry_request", lambda *a, **k: None)


def sdk_request(
    template: Path,
    overrides: Mapping[str, Any],
    image_uri: str,
    instance_type: str,
    instance_count: int,
    inputs: dict[str, TrainingInput] | None,
    **estimator: Any,
) -> _SdkCapture:
    """What the SDK uploads and sends for ``PyTorch(training_recipe=template)`` with these overrides and ``fit``."""
    # One session for both oracles: building botocore clients is most of the cost of a run.
    if not _SHARED:
        _SHARED.append(_SdkCapture())
    capture = _SHARED[0]
    capture.request, capture.recipe_uri, capture.recipe_text = {}, "", ""
    PyTorch(
        output_path=OUTPUT,
        role=ROLE,
        instance_count=instance_count,
        instance_type=instance_type,
        training_recipe=str(template),
        recipe_overrides=nested_from_dotted(overrides),
        sagemaker_session=capture.session,
        image_uri=image_uri,
        tensorboard_output_config=TensorBoardOutputConfig(s3_output_path=TENSORBOARD),
        disable_profiler=True,
        debugger_hook_config=False,
        **estimator,
    ).fit(inputs=inputs, wait=False, logs="None")
    assert capture.request, "the SDK did not call create_training_job"
    return capture


def _run_sdk(spec: JobSpec, variant: Variant, *, validation: bool, extras: dict[str, Any]) -> _SdkCapture:
    resolved = spec.resolve(CATALOG)
    inputs = {"train": TrainingInput(s3_data=TRAIN, distribution="FullyReplicated", s3_data_type="Converse")}
    if validation:
        inputs["validation"] = TrainingInput(
            s3_data=VALIDATION, distribution="FullyReplicated", s3_data_type="Converse"
        )
    return sdk_request(
        CATALOG.templates_dir / f"{variant.id}.yaml",
        recipe_overrides(spec, CATALOG),
        CATALOG.image_uri(variant, REGION),
        resolved.instance_type,
        resolved.instance_count,
        inputs,
        base_job_name="novaft-oracle",
        max_run=spec.max_runtime_seconds,
        volume_size=spec.volume_size_gb,
        **extras,
    )


def _ours(
    spec: JobSpec, capture: _SdkCapture, stage: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    rendered = render_recipe(spec, CATALOG)
    inputs = TrainingJobInputs(
        job_name=capture.request["TrainingJobName"],
        role_arn=ROLE,
        region=REGION,
        train_s3_uri=TRAIN,
        validation_s3_uri=VALIDATION,
        recipe_s3_uri=capture.recipe_uri,
        output_s3_uri=OUTPUT,
        tensorboard_s3_uri=TENSORBOARD,
        **(stage or {}),
    )
    return build_training_job_request(spec, rendered, inputs, CATALOG), rendered.values


def _spec_for(variant: Variant, **fields: Any) -> JobSpec:
    base = {"model": variant.model, "method": variant.method, "peft": variant.peft}
    return JobSpec.model_validate({**base, "instance_type": variant.default_instance_type, **fields})


VARIANTS = [pytest.param(variant, id=variant.id) for variant in CATALOG.variants]


def _assert_equal_to_sdk(
    spec: JobSpec, variant: Variant, extras: dict[str, Any], stage: Mapping[str, Any] | None = None
) -> None:
    capture = _run_sdk(spec, variant, validation=variant.validation_channel, extras=extras)
    ours, our_recipe = _ours(spec, capture, stage)
    validate_parameters(ours, CREATE_TRAINING_JOB_SHAPE)
    assert ours == capture.request
    assert our_recipe == yaml.safe_load(capture.recipe_text)
    assert our_recipe["run"]["replicas"] == ours["ResourceConfig"]["InstanceCount"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_default_spec_matches_sdk(variant: Variant) -> None:
    # Our one unconditional extra: multi-instance jobs always encrypt inter-container traffic.
    spec = _spec_for(variant)
    extras = {"encrypt_inter_container_traffic": spec.resolve(CATALOG).instance_count > 1}
    _assert_equal_to_sdk(spec, variant, extras)


def _tuned(variant: Variant) -> dict[str, Any]:
    """A spec using the largest instance count, a changed learning rate and every production extra."""
    keys = CATALOG.tunable_keys(variant)
    hyperparameters: dict[str, Any] = {"lr": 2.0e-5, "min_lr": 2.0e-6, "warmup_steps": 5}
    if "epochs" in keys:
        hyperparameters["epochs"] = 1
    if "max_steps" in keys:
        hyperparameters["max_steps"] = 40
    if "lora_alpha" in keys:
        hyperparameters["lora_alpha"] = 32
    if "dpo_beta" in keys:
        hyperparameters["dpo_beta"] = 0.05
    hyperparameters["global_batch_size"] = variant.global_batch_size[0]
    return {
        "instance_count": max(variant.replicas.allowed),
        "hyperparameters": hyperparameters,
        "max_runtime_seconds": 432000,
        "volume_size_gb": 100,
        "tags": {"project": "novaft", "run": "run-1"},
    }


# What the stage sets on every job (a job spec cannot): KMS keys, VPC and network isolation.
STAGE_SECURITY: dict[str, Any] = {
    "subnets": ["subnet-0abc", "subnet-0def"],
    "security_group_ids": ["sg-0123"],
    "output_kms_key": "arn:aws:kms:us-east-1:111122223333:key/output",
    "volume_kms_key": "arn:aws:kms:us-east-1:111122223333:key/volume",
    "enable_network_isolation": True,
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_tuned_spec_with_production_extras_matches_sdk(variant: Variant) -> None:
    spec = _spec_for(variant, **_tuned(variant))
    extras = {
        **STAGE_SECURITY,
        "encrypt_inter_container_traffic": spec.resolve(CATALOG).instance_count > 1,
        "tags": [{"Key": key, "Value": value} for key, value in spec.tags.items()],
    }
    _assert_equal_to_sdk(spec, variant, extras, STAGE_SECURITY)


CHECKPOINT = "s3://customer-escrow-111122223333-smtj-abcdef/novaft-run-0/stepID"


@pytest.mark.parametrize(
    "variant",
    [pytest.param(v, id=v.id) for v in CATALOG.variants if v.default and v.peft == "lora"],
)
def test_iterative_training_from_checkpoint_matches_sdk(variant: Variant) -> None:
    spec = _spec_for(variant, base_checkpoint_s3_uri=CHECKPOINT)
    extras = {"encrypt_inter_container_traffic": spec.resolve(CATALOG).instance_count > 1}
    capture = _run_sdk(spec, variant, validation=variant.validation_channel, extras=extras)
    ours, _ = _ours(spec, capture)
    assert ours == capture.request
    assert ours["HyperParameters"]["base_model_location"] == CHECKPOINT
    assert "base_model" not in ours["HyperParameters"]
