"""The workflow as data: the contract's state names and paths, Retry and Catch on every task, the status Choice."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import botocore.session
import pytest

from novaft.pipeline.contracts import WorkflowFailure
from novaft.pipeline.facts import STATE_DUPLICATE_DELIVERY, STATUS_COMPLETED, STATUS_FAILED, STATUS_STOPPED
from novaft.pipeline.records import summarize_failure
from novaft.policy import ApprovalRequired, PolicyViolation
from stacks.app_factory import REPO_ROOT
from stacks.asl import state_machine_definitions
from stacks.constructs.workflow_definition import PollingBounds
from tests.infrastructure.bare_workflow import BareStack
from tests.infrastructure.conftest import SynthesizedApp

MAX_POLLS = 7


@pytest.fixture(scope="module")
def graph() -> dict[str, Any]:
    return BareStack().workflow_graph(PollingBounds(interval=cdk.Duration.seconds(60), max_polls=MAX_POLLS))


@pytest.fixture(scope="module")
def states(graph: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(graph["States"])


def test_starts_with_register_run(graph: dict[str, Any]) -> None:
    assert graph["StartAt"] == "RegisterRun"


@pytest.mark.parametrize(
    ("state", "state_type", "result_path"),
    [
        ("RegisterRun", "Task", "$.run"),
        ("ValidateDataset", "Task", "$.validation"),
        ("RenderRecipe", "Task", "$.plan"),
        ("StartTraining", "Task", "$.training"),
        ("InitPolls", "Pass", "$.polls"),
        ("WaitForTraining", "Wait", None),
        ("DescribeTrainingJob", "Task", "$.job"),
        ("CountPoll", "Pass", "$.polls"),
        ("TrainingStatus", "Choice", None),
        ("StopTimedOutTraining", "Task", None),
        ("RecordResult", "Task", "$.record"),
        ("NotifyResult", "Task", None),
        ("RecordFailure", "Task", "$.record"),
        ("NotifyFailure", "Task", None),
        ("RunFailed", "Fail", None),
        ("RouteRun", "Choice", None),
        ("NotATrainingFile", "Succeed", None),
        ("DuplicateDelivery", "Succeed", None),
    ],
)
def test_contract_states(
    states: dict[str, dict[str, Any]], state: str, state_type: str, result_path: str | None
) -> None:
    assert states[state]["Type"] == state_type
    if result_path:
        assert states[state]["ResultPath"] == result_path


@pytest.mark.parametrize(
    ("state", "parameters"),
    [
        ("RegisterRun", {"event.$": "$", "execution_arn.$": "$$.Execution.Id"}),
        ("RenderRecipe", {"run.$": "$.run", "validation.$": "$.validation"}),
        ("StartTraining", {"run.$": "$.run", "request.$": "$.plan.request"}),
        ("RecordResult", {"run.$": "$.run", "training.$": "$.training"}),
        ("RecordFailure", {"run.$": "$.run", "failure.$": "$.failure"}),
    ],
)
def test_lambda_payloads(states: dict[str, dict[str, Any]], state: str, parameters: dict[str, str]) -> None:
    assert states[state]["Parameters"] == parameters


def test_a_duplicate_delivery_ends_naming_the_existing_run(states: dict[str, dict[str, Any]]) -> None:
    # RegisterRun's $.run of a duplicate carries the existing run's id, attempt and execution.
    assert states[STATE_DUPLICATE_DELIVERY]["OutputPath"] == "$.run"


def test_validate_dataset_receives_the_run(states: dict[str, dict[str, Any]]) -> None:
    assert states["ValidateDataset"]["InputPath"] == "$.run"
    assert "Parameters" not in states["ValidateDataset"]


def test_parameters_are_always_objects(states: dict[str, dict[str, Any]]) -> None:
    for name, state in states.items():
        assert isinstance(state.get("Parameters", {}), dict), f"{name}: Parameters must be an object"


def test_every_task_retries_and_catches(states: dict[str, dict[str, Any]]) -> None:
    for name, state in states.items():
        if state["Type"] != "Task":
            continue
        catches = state.get("Catch", [])
        assert any(c["ErrorEquals"] == ["States.ALL"] for c in catches), f"{name} catches nothing"
        assert state.get("Retry"), f"{name} never retries"


@pytest.mark.parametrize(
    "state", ["RegisterRun", "ValidateDataset", "RenderRecipe", "StartTraining", "RecordResult", "RecordFailure"]
)
def test_lambda_tasks_retry_service_errors(states: dict[str, dict[str, Any]], state: str) -> None:
    retried = {error for retry in states[state]["Retry"] for error in retry["ErrorEquals"]}
    assert {"Lambda.ServiceException", "Lambda.TooManyRequestsException"} <= retried


@pytest.mark.parametrize(
    ("state", "transient_errors"),
    [
        # Unmodelled SageMaker errors (throttling among them) arrive as the service's catch-all exception.
        ("DescribeTrainingJob", {"SageMaker.SageMakerException", "SageMaker.ThrottlingException"}),
        ("StopTimedOutTraining", {"SageMaker.SageMakerException", "SageMaker.ThrottlingException"}),
        # SNS error codes Throttled, InternalError, KMSThrottling plus "Exception"; ErrorEquals is case-sensitive.
        ("NotifyResult", {"SNS.ThrottledException", "SNS.InternalErrorException", "SNS.KMSThrottlingException"}),
        ("NotifyFailure", {"SNS.ThrottledException", "SNS.InternalErrorException", "SNS.KMSThrottlingException"}),
        (
            "NotifyUnrecordedFailure",
            {"SNS.ThrottledException", "SNS.InternalErrorException", "SNS.KMSThrottlingException"},
        ),
    ],
)
def test_service_tasks_retry_the_names_step_functions_reports(
    states: dict[str, dict[str, Any]], state: str, transient_errors: set[str]
) -> None:
    retried = {error for retry in states[state]["Retry"] for error in retry["ErrorEquals"]}
    assert retried == transient_errors


@pytest.mark.parametrize(("error", "min_interval"), [("SageMakerThrottled", 1), ("SageMakerCapacityError", 60)])
def test_start_training_backs_off(states: dict[str, dict[str, Any]], error: str, min_interval: int) -> None:
    (retry,) = [r for r in states["StartTraining"]["Retry"] if r["ErrorEquals"] == [error]]
    assert retry["BackoffRate"] > 1
    assert retry["IntervalSeconds"] >= min_interval


@pytest.mark.parametrize(
    ("state", "target"),
    [
        ("ValidateDataset", "RecordFailure"),
        ("RenderRecipe", "RecordFailure"),
        ("StartTraining", "RecordFailure"),
        ("DescribeTrainingJob", "RecordFailure"),
        ("RecordResult", "RecordFailure"),
        ("RegisterRun", "NotifyUnrecordedFailure"),
        ("RecordFailure", "NotifyUnrecordedFailure"),
    ],
)
def test_failures_are_recorded_then_notified(states: dict[str, dict[str, Any]], state: str, target: str) -> None:
    (catch,) = states[state]["Catch"]
    assert catch["Next"] == target
    # $.failure keeps the first error; a failure while recording goes elsewhere so it survives.
    assert catch["ResultPath"] == ("$.record_error" if state == "RecordFailure" else "$.failure")


def test_failure_path_ends_with_the_named_error(states: dict[str, dict[str, Any]]) -> None:
    assert states["RecordFailure"]["Next"] == "NotifyFailure"
    assert states["NotifyFailure"]["Next"] == "RunFailed"
    assert states["NotifyUnrecordedFailure"]["Next"] == "RunFailed"
    assert states["RunFailed"] == {"Type": "Fail", "ErrorPath": "$.failure.Error", "CausePath": "$.failure.Cause"}


def _choice_targets(choice: dict[str, Any], status: str) -> list[str]:
    """The Next of every rule that mentions ``status`` (directly or inside And/Or)."""

    def mentions(rule: dict[str, Any]) -> bool:
        if rule.get("StringEquals") == status:
            return True
        return any(mentions(sub) for sub in rule.get("Or", []) + rule.get("And", []))

    return [rule["Next"] for rule in choice["Choices"] if mentions(rule)]


@pytest.mark.parametrize(
    ("status", "targets"),
    [
        (STATUS_COMPLETED, ["RecordResult"]),
        (STATUS_FAILED, ["RecordResult"]),
        (STATUS_STOPPED, ["RecordResult"]),
        ("InProgress", ["StopTimedOutTraining", "WaitForTraining"]),
        ("Stopping", ["StopTimedOutTraining", "WaitForTraining"]),
    ],
)
def test_training_status_covers_every_status(
    states: dict[str, dict[str, Any]], status: str, targets: list[str]
) -> None:
    assert _choice_targets(states["TrainingStatus"], status) == targets


def test_every_sagemaker_training_status_is_routed(states: dict[str, dict[str, Any]]) -> None:
    """Each TrainingJobStatus value SageMaker can return (botocore's model) has a deliberate route."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    routes = {
        status: _choice_targets(states["TrainingStatus"], status)
        for status in model.shape_for("TrainingJobStatus").enum
    }
    assert routes.pop("Deleting") == []  # only after someone deletes the job: the Default failure path
    assert all(targets for targets in routes.values()), routes


def test_unknown_status_is_a_failure(states: dict[str, dict[str, Any]]) -> None:
    assert states["TrainingStatus"]["Default"] == "UnexpectedTrainingStatus"
    assert states["UnexpectedTrainingStatus"]["ResultPath"] == "$.failure"
    assert states["UnexpectedTrainingStatus"]["Next"] == "RecordFailure"


def test_polling_is_bounded(states: dict[str, dict[str, Any]]) -> None:
    assert states["CountPoll"]["Parameters"] == {"count.$": "States.MathAdd($.polls.count, 1)"}
    bound = next(rule for rule in states["TrainingStatus"]["Choices"] if rule["Next"] == "StopTimedOutTraining")
    assert {"Variable": "$.polls.count", "NumericGreaterThanEquals": MAX_POLLS} in bound["And"]
    assert states["TrainingTimedOut"]["Parameters"]["Error"] == "TrainingTimedOut"
    assert states["TrainingTimedOut"]["Next"] == "RecordFailure"


def test_describe_is_an_sdk_integration(states: dict[str, dict[str, Any]]) -> None:
    describe = states["DescribeTrainingJob"]
    assert describe["Resource"].endswith(":states:::aws-sdk:sagemaker:describeTrainingJob")
    assert describe["ResultSelector"] == {
        "status.$": "$.TrainingJobStatus",
        "secondary_status.$": "$.SecondaryStatus",
    }


@pytest.mark.parametrize(("status", "end"), [(STATUS_COMPLETED, "RunSucceeded"), (STATUS_STOPPED, "TrainingStopped")])
def test_result_status_ends(states: dict[str, dict[str, Any]], status: str, end: str) -> None:
    choice = states["ResultStatus"]
    assert [rule["Next"] for rule in choice["Choices"] if rule["StringEquals"] == status] == [end]
    assert choice["Default"] == "TrainingFailed"
    assert states["TrainingFailed"]["Error"] == "TrainingFailed"


def test_synthesized_definition_passes_asl_validator(synthesized: SynthesizedApp, tmp_path: Path) -> None:
    validator = REPO_ROOT / "node_modules" / ".bin" / "asl-validator"
    # `make setup` installs it from package-lock.json; a missing validator must fail the gate, not skip it.
    assert validator.exists(), "asl-validator is not installed: run `make setup` (npm ci)"
    definitions = state_machine_definitions(synthesized.template_dict("Pipeline"))
    assert len(definitions) == 1
    (definition,) = definitions.values()
    # 48 h of training, 1 h of polling margin, 2 h for the other steps, 4 h of capacity retries (300 s doubling to
    # a 1 h cap over 6 attempts: 3.25 h, rounded up), 72 h of approval wait (the default approval_timeout_hours) and
    # 24 h in the queue (288 polls 300 s apart)
    assert definition["TimeoutSeconds"] == (48 + 3 + 4 + 72 + 24) * 3600
    paths = []
    for logical_id, definition in definitions.items():
        path = tmp_path / f"{logical_id}.json"
        path.write_text(json.dumps(definition))
        paths.append(str(path))
    result = subprocess.run([str(validator), "--json-path", *paths], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("state", ["RenderRecipe", "StartTraining"])
@pytest.mark.parametrize("error", [PolicyViolation.workflow_error, ApprovalRequired.workflow_error])
def test_a_policy_refusal_is_recorded_notified_and_ends_the_run_under_its_name(
    states: dict[str, dict[str, Any]], state: str, error: str
) -> None:
    # Never retried (the same request is refused again), caught into RecordFailure, which records the status named
    # after the error; RunFailed then ends the execution with that error name.
    retried = {name for retry in states[state]["Retry"] for name in retry["ErrorEquals"]}
    assert error not in retried and "States.ALL" not in retried
    (catch,) = states[state]["Catch"]
    assert (catch["ErrorEquals"], catch["Next"], catch["ResultPath"]) == (["States.ALL"], "RecordFailure", "$.failure")
    assert summarize_failure(WorkflowFailure(Error=error)).status == error
    assert states["RunFailed"]["ErrorPath"] == "$.failure.Error"
