"""Evaluation recipes: the catalog, rendering (defaults equal the official recipes), settings, and the request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from novaft.cli import main
from novaft.pipeline.facts import EVAL_TASKS, MODEL_NAMES, ExitCode
from novaft.recipes import (
    EvaluationJobInputs,
    JobSpecError,
    build_evaluation_job_request,
    evaluation_overrides,
    load_evaluation_catalog,
    render_evaluation_recipe,
)

CATALOG = load_evaluation_catalog()
OFFICIAL: dict[str, dict[str, Any]] = yaml.safe_load(
    (Path(__file__).with_name("official_eval_recipes.yaml")).read_text(encoding="utf-8")
)
# The recipe each official file serves: its own task (the one in the file).
OFFICIAL_CASES = [
    pytest.param(recipe.model, values["evaluation"]["task"], recipe_id, id=recipe_id)
    for recipe_id, values in OFFICIAL.items()
    for recipe in CATALOG.recipes
    if recipe.id == recipe_id
]
BUCKET = "amzn-s3-demo-bucket"
CHECKPOINT = "s3://customer-escrow-111122223333-smtj-abcdef/novaft-run-0/stepID"


def _inputs(**changes: Any) -> EvaluationJobInputs:
    fields: dict[str, Any] = {
        "job_name": "novaft-eval-1",
        "role_arn": "arn:aws:iam::111122223333:role/SageMakerExecutionRole",
        "region": "us-east-1",
        "recipe_s3_uri": f"s3://{BUCKET}/runs/run-1/eval/recipe.yaml",
        "output_s3_uri": f"s3://{BUCKET}/runs/run-1/eval/output/",
        **changes,
    }
    return EvaluationJobInputs(**fields)


def test_every_official_recipe_is_in_the_catalog() -> None:
    assert {recipe.id for recipe in CATALOG.recipes} == set(OFFICIAL)
    assert len(OFFICIAL_CASES) == len(OFFICIAL)


@pytest.mark.parametrize(("model", "task", "recipe_id"), OFFICIAL_CASES)
def test_default_render_equals_the_official_recipe_key_by_key(model: str, task: str, recipe_id: str) -> None:
    rendered = render_evaluation_recipe(model, task)
    assert rendered.recipe.id == recipe_id
    assert rendered.values == OFFICIAL[recipe_id]
    assert yaml.safe_load(rendered.yaml_text) == OFFICIAL[recipe_id]
    assert evaluation_overrides(model, task) == {}


@pytest.mark.parametrize(
    ("task", "strategy", "metric"),
    [
        *((task, "zs_cot", "accuracy") for task in ("mmlu_pro", "bbh", "gpqa")),
        ("math", "zs_cot", "exact_match"),
        ("strong_reject", "zs", "deflection"),
        ("ifeval", "zs", "accuracy"),
    ],
)
def test_other_text_benchmarks_change_only_the_evaluation_task(task: str, strategy: str, metric: str) -> None:
    for model in MODEL_NAMES:
        rendered = render_evaluation_recipe(model, task)
        official = OFFICIAL[rendered.recipe.id]
        expected = {**official, "evaluation": {**official["evaluation"], "task": task, "strategy": strategy}}
        expected["evaluation"]["metric"] = metric
        assert rendered.values == expected


@pytest.mark.parametrize("model", MODEL_NAMES)
def test_a_task_the_model_lacks_is_refused_naming_the_ones_it_has(model: str) -> None:
    available = CATALOG.tasks_for(model)
    missing = [task for task in EVAL_TASKS if task not in available]
    assert missing, "every model lacks at least one task (llm_judge or rubric_llm_judge)"
    for task in missing:
        with pytest.raises(JobSpecError) as error:
            render_evaluation_recipe(model, task)
        assert error.value.problems[0].allowed == ", ".join(available)
        assert f"no {task} evaluation recipe" in str(error.value)


def test_tasks_per_model_follow_the_official_recipes() -> None:
    assert "mmmu" not in CATALOG.tasks_for("micro")
    assert "rubric_llm_judge" in CATALOG.tasks_for("lite-2")
    assert "llm_judge" not in CATALOG.tasks_for("lite-2")
    assert {"gen_qa", "llm_judge", "mmmu"} <= set(CATALOG.tasks_for("pro"))


def test_settings_are_applied_and_replicas_follow_the_instance_count() -> None:
    rendered = render_evaluation_recipe(
        "lite-2",
        "gen_qa",
        {"inference.temperature": 0.7, "inference.reasoning_effort": "high", "run.name": "my-eval"},
        model_path=CHECKPOINT,
        instance_type="ml.p4d.24xlarge",
        instance_count=2,
    )
    assert rendered.values["inference"]["temperature"] == 0.7
    assert rendered.values["inference"]["reasoning_effort"] == "high"
    assert rendered.values["run"]["name"] == "my-eval"
    assert rendered.values["run"]["model_name_or_path"] == CHECKPOINT
    assert rendered.values["run"]["replicas"] == 2
    assert (rendered.instance_type, rendered.instance_count) == ("ml.p4d.24xlarge", 2)


@pytest.mark.parametrize(
    ("model", "task", "settings", "field", "reason"),
    [
        ("lite-2", "mmlu", {"inference.max_new_tokens": 32769}, "--set inference.max_new_tokens", "out of range"),
        ("micro", "mmlu", {"inference.top_p": 1.5}, "--set inference.top_p", "out of range"),
        ("micro", "mmlu", {"inference.temperature": "hot"}, "--set inference.temperature", "not a number"),
        ("micro", "mmlu", {"inference.top_k": 1.5}, "--set inference.top_k", "not an integer"),
        ("micro", "gpqa", {"evaluation.subtask": "physics"}, "--set evaluation.subtask", "not a key of"),
        ("micro", "mmlu", {"evaluation.task": "bbh"}, "--set evaluation.task", "set by the task"),
        ("micro", "mmlu", {"run.replicas": 2}, "--set run.replicas", "set by the instance count"),
        ("micro", "mmlu", {"inference.reasoning_effort": "low"}, "--set inference.reasoning_effort", "not a key of"),
        ("micro", "llm_judge", {"inference.max_new_tokens": 10}, "--set inference.max_new_tokens", "not a key of"),
        ("lite-2", "gen_qa", {"processor.lambda_type": "other"}, "--set processor.lambda_type", "not allowed"),
        ("lite-2", "gen_qa", {"processor.lambda_arn": "my-function"}, "--set processor.lambda_arn", "not allowed"),
        ("lite", "mmlu", {"run.model_name_or_path": "nova-pro/prod"}, "model_name_or_path", "not a model to evaluate"),
    ],
)
def test_a_setting_outside_its_bounds_is_named(
    model: str, task: str, settings: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(JobSpecError) as error:
        render_evaluation_recipe(model, task, settings)
    assert [problem.field for problem in error.value.problems] == [field]
    assert reason in error.value.problems[0].reason


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(JobSpecError) as error:
        render_evaluation_recipe(
            "pro", "mmlu", {"inference.top_p": 2, "no.such.key": 1}, instance_type="ml.g5.12xlarge", instance_count=0
        )
    fields = {problem.field for problem in error.value.problems}
    assert fields == {"--set inference.top_p", "--set no.such.key", "instance_type", "instance_count"}


def test_benchmark_request_has_no_data_channel_and_the_evaluation_image() -> None:
    request = build_evaluation_job_request(render_evaluation_recipe("micro", "mmlu"), _inputs())
    assert [channel["ChannelName"] for channel in request["InputDataConfig"]] == ["recipe"]
    assert request["AlgorithmSpecification"]["TrainingImage"] == (
        "708977205387.dkr.ecr.us-east-1.amazonaws.com/nova-evaluation-repo:SM-TJ-Eval-V2-latest"
    )
    assert request["HyperParameters"]["base_model"] == "nova-micro/prod"
    assert request["ResourceConfig"] == {"VolumeSizeInGB": 30, "InstanceCount": 1, "InstanceType": "ml.p5.48xlarge"}


def test_gen_qa_request_passes_the_data_as_the_train_channel_and_the_checkpoint_as_location() -> None:
    data = f"s3://{BUCKET}/eval/gen_qa.jsonl"
    rendered = render_evaluation_recipe("lite", "gen_qa", model_path=CHECKPOINT)
    request = build_evaluation_job_request(rendered, _inputs(data_s3_uri=data))
    assert request["InputDataConfig"][0] == {
        "DataSource": {
            "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": data, "S3DataDistributionType": "FullyReplicated"}
        },
        "ChannelName": "train",
    }
    assert request["HyperParameters"]["base_model_location"] == CHECKPOINT
    assert "base_model" not in request["HyperParameters"]
    assert "eval_lambda_arn" not in request["HyperParameters"]


def test_a_processor_lambda_becomes_the_eval_lambda_arn_hyperparameter() -> None:
    arn = "arn:aws:lambda:us-east-1:111122223333:function:my-metrics"
    rendered = render_evaluation_recipe("lite-2", "gen_qa", {"processor.lambda_arn": arn})
    request = build_evaluation_job_request(rendered, _inputs(data_s3_uri=f"s3://{BUCKET}/eval/"))
    assert request["HyperParameters"]["eval_lambda_arn"] == arn


@pytest.mark.parametrize(
    ("task", "changes", "field"),
    [
        ("gen_qa", {}, "data_s3_uri"),
        ("mmlu", {"data_s3_uri": f"s3://{BUCKET}/eval/gen_qa.jsonl"}, "data_s3_uri"),
        ("mmlu", {"region": "eu-west-1"}, "region"),
        ("mmlu", {"output_s3_uri": "/tmp/out"}, "output_s3_uri"),
        ("mmlu", {"max_runtime_seconds": 0}, "max_runtime_seconds"),
    ],
)
def test_request_inputs_are_checked(task: str, changes: dict[str, Any], field: str) -> None:
    with pytest.raises(JobSpecError) as error:
        build_evaluation_job_request(render_evaluation_recipe("micro", task), _inputs(**changes))
    assert [problem.field for problem in error.value.problems] == [field]


def test_cli_render_eval_prints_the_recipe_with_settings(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["render", "--model", "lite", "--eval", "bbh", "--set", "evaluation.subtask=date_understanding"]
    assert main(argv) == ExitCode.OK
    values = yaml.safe_load(capsys.readouterr().out)
    assert values["evaluation"] == {
        "task": "bbh",
        "strategy": "zs_cot",
        "metric": "accuracy",
        "subtask": "date_understanding",
    }


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["render", "--model", "micro", "--eval", "mmmu"], "has no mmmu evaluation recipe"),
        (["render", "--eval", "mmlu"], "--eval needs --model"),
        (["render", "--model", "micro", "--method", "sft", "--eval", "mmlu"], "--method: training choices"),
    ],
)
def test_cli_render_eval_usage_errors(argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == ExitCode.USAGE
    assert fragment in capsys.readouterr().err
