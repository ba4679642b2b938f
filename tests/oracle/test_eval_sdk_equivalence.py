"""Our evaluation CreateTrainingJob request and recipe against the SageMaker Python SDK's, for every evaluation recipe.

The SDK (2.257.7) runs ``PyTorch(training_recipe=<eval recipe>)`` + ``fit`` as the AWS evaluation examples do, with the
data file of gen_qa / llm_judge passed as the ``train`` channel (``TrainingInput(s3_data=..., distribution=
"FullyReplicated")``) and no channel for the benchmarks. The session makes no AWS call (see test_sdk_equivalence.py).
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from botocore.validate import validate_parameters

from novaft.recipes import (
    EvaluationJobInputs,
    build_evaluation_job_request,
    evaluation_overrides,
    load_evaluation_catalog,
    render_evaluation_recipe,
)
from tests.oracle.test_sdk_equivalence import (
    BUCKET,
    CREATE_TRAINING_JOB_SHAPE,
    OUTPUT,
    REGION,
    ROLE,
    TENSORBOARD,
    _no_telemetry,
    sdk_request,
)

sagemaker = pytest.importorskip("sagemaker")
from sagemaker.inputs import TrainingInput  # noqa: E402

pytestmark = [pytest.mark.oracle, pytest.mark.usefixtures(_no_telemetry.__name__)]

CATALOG = load_evaluation_catalog()
DATA = f"s3://{BUCKET}/eval/run-1/"
CHECKPOINT = "s3://customer-escrow-111122223333-smtj-abcdef/novaft-run-0/stepID"
# Each recipe with the task of its own template.
RECIPES = [
    pytest.param(recipe.model, task, id=recipe.id)
    for recipe in CATALOG.recipes
    for task in CATALOG.tasks_for(recipe.model)
    if CATALOG.task_info(task).kind == recipe.kind and CATALOG.template_values(recipe)["evaluation"]["task"] == task
]


def _assert_equal_to_sdk(model: str, task: str, settings: dict[str, Any], **render: Any) -> dict[str, Any]:
    rendered = render_evaluation_recipe(model, task, settings, **render)
    takes_data = CATALOG.task_info(task).data
    capture = sdk_request(
        CATALOG.templates_dir / f"{rendered.recipe.id}.yaml",
        evaluation_overrides(model, task, settings, **render),
        CATALOG.image_uri(REGION),
        rendered.instance_type,
        rendered.instance_count,
        {"train": TrainingInput(s3_data=DATA, distribution="FullyReplicated")} if takes_data else None,
        base_job_name="novaft-eval-oracle",
        encrypt_inter_container_traffic=rendered.instance_count > 1,
    )
    ours = build_evaluation_job_request(
        rendered,
        EvaluationJobInputs(
            job_name=capture.request["TrainingJobName"],
            role_arn=ROLE,
            region=REGION,
            recipe_s3_uri=capture.recipe_uri,
            output_s3_uri=OUTPUT,
            data_s3_uri=DATA if takes_data else None,
            tensorboard_s3_uri=TENSORBOARD,
        ),
        CATALOG,
    )
    validate_parameters(ours, CREATE_TRAINING_JOB_SHAPE)
    assert ours == capture.request
    assert rendered.values == yaml.safe_load(capture.recipe_text)
    return ours


@pytest.mark.parametrize(("model", "task"), RECIPES)
def test_default_evaluation_matches_sdk(model: str, task: str) -> None:
    _assert_equal_to_sdk(model, task, {})


@pytest.mark.parametrize("task", ["mmlu_pro", "bbh", "gpqa", "math", "strong_reject", "ifeval"])
def test_other_text_benchmarks_match_sdk(task: str) -> None:
    _assert_equal_to_sdk("lite", task, {"inference.temperature": 0.2})


@pytest.mark.parametrize("model", ["micro", "lite", "pro", "lite-2"])
def test_gen_qa_of_a_checkpoint_on_two_instances_matches_sdk(model: str) -> None:
    ours = _assert_equal_to_sdk(model, "gen_qa", {}, model_path=CHECKPOINT, instance_count=2)
    assert ours["HyperParameters"]["base_model_location"] == CHECKPOINT
    assert ours["InputDataConfig"][0]["ChannelName"] == "train"


def test_gen_qa_with_a_metrics_lambda_matches_sdk() -> None:
    arn = "arn:aws:lambda:us-east-1:111122223333:function:my-metrics"
    settings = {"processor.lambda_arn": arn, "processor.lambda_type": "custom_metrics"}
    ours = _assert_equal_to_sdk("lite-2", "gen_qa", settings)
    assert ours["HyperParameters"]["eval_lambda_arn"] == arn
