"""Which stack is the pipeline, and what its outputs mean."""

import pytest

from novaft.errors import UsageError
from novaft.operator.discovery import only_pipeline_stack, pipeline_outputs_from_stack, resolve_stack_name
from novaft.operator.errors import StackOutputsMissing
from novaft.pipeline import facts

FULL_OUTPUTS = {
    facts.OUTPUT_STATE_MACHINE_ARN: "arn:aws:states:eu-west-1:123456789012:stateMachine:novaft",
    facts.OUTPUT_DATASETS_BUCKET: "datasets",
    facts.OUTPUT_ARTIFACTS_BUCKET: "artifacts",
    facts.OUTPUT_RUNS_TABLE: "runs",
    facts.OUTPUT_TOPIC_ARN: "arn:aws:sns:eu-west-1:123456789012:novaft",
    facts.OUTPUT_INCOMING_PREFIX: facts.DEFAULT_INCOMING_PREFIX,
    facts.OUTPUT_RUNS_PREFIX: facts.DEFAULT_RUNS_PREFIX,
}


@pytest.mark.parametrize(
    ("stack", "stage", "env_stage", "expected"),
    [
        (None, None, None, facts.pipeline_stack_name(facts.DEFAULT_STAGE)),
        (None, None, "prod", facts.pipeline_stack_name("prod")),
        (None, "test", "prod", facts.pipeline_stack_name("test")),
        ("MyStack", "test", "prod", "MyStack"),
    ],
)
def test_stack_name_precedence_is_stack_then_stage_then_env_then_dev(
    stack: str | None, stage: str | None, env_stage: str | None, expected: str
) -> None:
    assert resolve_stack_name(stack=stack, stage=stage, env_stage=env_stage) == expected


@pytest.mark.parametrize(("stack", "stage"), [(None, "bad stage"), (None, "dev/x"), ("1stack", None), ("a_b", None)])
def test_invalid_stage_or_stack_is_a_usage_error_naming_it(stack: str | None, stage: str | None) -> None:
    with pytest.raises(UsageError, match=r"stage|stack"):
        resolve_stack_name(stack=stack, stage=stage, env_stage=None)


def test_outputs_map_to_fields_and_region_comes_from_the_state_machine_arn() -> None:
    outputs = pipeline_outputs_from_stack("S", FULL_OUTPUTS)
    assert (outputs.datasets_bucket, outputs.runs_table, outputs.region) == ("datasets", "runs", "eu-west-1")


def test_the_runs_prefix_is_the_stacks_not_a_default() -> None:
    outputs = pipeline_outputs_from_stack("S", {**FULL_OUTPUTS, facts.OUTPUT_RUNS_PREFIX: "team-a/runs/"})
    assert outputs.runs_prefix == "team-a/runs/"


@pytest.mark.parametrize("output", [facts.OUTPUT_INCOMING_PREFIX, facts.OUTPUT_RUNS_PREFIX])
def test_prefixes_get_a_trailing_slash(output: str) -> None:
    outputs = pipeline_outputs_from_stack("S", {**FULL_OUTPUTS, output: "folder"})
    assert "folder/" in (outputs.incoming_prefix, outputs.runs_prefix)


def test_default_job_output_is_parsed_when_present_and_rejected_when_not_json() -> None:
    def outputs_with(default_job: str) -> dict[str, str]:
        return {**FULL_OUTPUTS, facts.OUTPUT_DEFAULT_JOB: default_job}

    assert pipeline_outputs_from_stack("S", outputs_with('{"model": "lite"}')).default_job == {"model": "lite"}
    with pytest.raises(StackOutputsMissing, match=f"output {facts.OUTPUT_DEFAULT_JOB} is not a JSON object"):
        pipeline_outputs_from_stack("S", outputs_with("[1]"))


@pytest.mark.parametrize("missing", facts.REQUIRED_PIPELINE_OUTPUTS)
def test_missing_output_is_named(missing: str) -> None:
    values = {k: v for k, v in FULL_OUTPUTS.items() if k != missing}
    with pytest.raises(StackOutputsMissing, match=f"stack S has no output\\(s\\) {missing}"):
        pipeline_outputs_from_stack("S", values)


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        ([facts.data_stack_name("local"), facts.pipeline_stack_name("local"), "Other"], "Novaft-local-Pipeline"),
        ([facts.pipeline_stack_name("a"), facts.pipeline_stack_name("b")], None),
        ([facts.data_stack_name("local"), "Novaft--Pipeline"], None),
        ([], None),
    ],
)
def test_only_pipeline_stack_is_found_when_it_is_the_only_one(names: list[str], expected: str | None) -> None:
    assert only_pipeline_stack(names) == expected
