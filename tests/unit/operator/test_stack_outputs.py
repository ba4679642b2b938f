import pytest

from novaft.errors import UsageError
from novaft.operator.errors import StackOutputsMissing
from novaft.operator.stack_outputs import pipeline_outputs_from_stack, resolve_stack_name

FULL_OUTPUTS = {
    "StateMachineArn": "arn:aws:states:eu-west-1:123456789012:stateMachine:novaft",
    "DatasetsBucketName": "datasets",
    "ArtifactsBucketName": "artifacts",
    "RunsTableName": "runs",
    "TopicArn": "arn:aws:sns:eu-west-1:123456789012:novaft",
    "IncomingPrefix": "incoming/",
}


@pytest.mark.parametrize(
    ("stack", "stage", "env_stage", "expected"),
    [
        (None, None, None, "Novaft-dev-Pipeline"),
        (None, None, "prod", "Novaft-prod-Pipeline"),
        (None, "test", "prod", "Novaft-test-Pipeline"),
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
    outputs = pipeline_outputs_from_stack("S", [{"OutputKey": k, "OutputValue": v} for k, v in FULL_OUTPUTS.items()])
    assert (outputs.datasets_bucket, outputs.runs_table, outputs.region) == ("datasets", "runs", "eu-west-1")


def test_incoming_prefix_gets_a_trailing_slash() -> None:
    values = {**FULL_OUTPUTS, "IncomingPrefix": "drop"}
    outputs = pipeline_outputs_from_stack("S", [{"OutputKey": k, "OutputValue": v} for k, v in values.items()])
    assert outputs.incoming_prefix == "drop/"


def test_default_job_output_is_parsed_when_present_and_rejected_when_not_json() -> None:
    def outputs_with(default_job: str) -> list[dict[str, str]]:
        values = {**FULL_OUTPUTS, "DefaultJob": default_job}
        return [{"OutputKey": k, "OutputValue": v} for k, v in values.items()]

    assert pipeline_outputs_from_stack("S", outputs_with('{"model": "lite"}')).default_job == {"model": "lite"}
    with pytest.raises(StackOutputsMissing, match="output DefaultJob is not a JSON object"):
        pipeline_outputs_from_stack("S", outputs_with("[1]"))


@pytest.mark.parametrize("missing", ["StateMachineArn", "RunsTableName", "IncomingPrefix"])
def test_missing_output_is_named(missing: str) -> None:
    values = {k: v for k, v in FULL_OUTPUTS.items() if k != missing}
    with pytest.raises(StackOutputsMissing, match=f"stack S has no output\\(s\\) {missing}"):
        pipeline_outputs_from_stack("S", [{"OutputKey": k, "OutputValue": v} for k, v in values.items()])
