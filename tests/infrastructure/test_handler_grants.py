"""Each function's role allows every AWS call its handler makes (novaft/aws/ adapters used by novaft/pipeline/steps/).

A missing grant passes every emulated test (the emulator does not enforce IAM) and fails only on real AWS, so the
calls are listed here per handler, from the code, and checked against the synthesized policies.
"""

from __future__ import annotations

from typing import Any

import pytest

from stacks.constructs.handler_permissions import HANDLER_GRANTS
from tests.infrastructure.conftest import HANDLERS, SynthesizedApp

# The IAM actions behind each handler's boto3 calls, read from the handler code. Deliberately not derived from
# HANDLER_GRANTS: this is the independent statement of what the handlers call that the grants are checked against.
TABLE_WITH_KEY = {"kms:Decrypt", "kms:GenerateDataKey"}  # the runs table and the buckets use the data key
HANDLER_ACTIONS = {
    # a prefix listing per sibling file (s3:ListBucket), head_object of each input (by version for the training file),
    # get_item (is the content known?), update_item (attempt counter), put_item.
    "register_run": {
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:ListBucket",
        "dynamodb:PutItem",
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        *TABLE_WITH_KEY,
    },
    # get_object of each pinned version (job.yaml included), put_object of the report and job.json, update_item, and
    # the managed copy of each pinned version into the run's snapshot (head, copy_object or multipart copy, abort).
    "validate_dataset": {
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:PutObject",
        "s3:AbortMultipartUpload",
        "dynamodb:UpdateItem",
        *TABLE_WITH_KEY,
    },
    # put_object of recipe and plan (job.yaml arrives parsed), update_item; get_item of the run a base_run_id names.
    "render_recipe": {"s3:PutObject", "dynamodb:GetItem", "dynamodb:UpdateItem", *TABLE_WITH_KEY},
    # create_training_job with Tags and the execution role; on a name conflict describe_training_job + list_tags.
    "start_training": {
        "sagemaker:CreateTrainingJob",
        "sagemaker:AddTags",
        "sagemaker:DescribeTrainingJob",
        "sagemaker:ListTags",
        "iam:PassRole",
        "dynamodb:UpdateItem",
        *TABLE_WITH_KEY,
    },
    # describe_training_job, get_object of output.tar.gz and the run's documents, put_object of run.json,
    # metrics.csv and report.html, get_item + update_item, and the job's log stream (its loss without an archive CSV).
    "record_result": {
        "sagemaker:DescribeTrainingJob",
        "logs:DescribeLogStreams",
        "logs:GetLogEvents",
        "s3:GetObject",
        "s3:PutObject",
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        *TABLE_WITH_KEY,
    },
    # query of the by_execution index, describe + stop_training_job, update_item, publish to the encrypted topic;
    # get_item + put_item of the training-slot semaphore (the run's slot is released).
    "stop_run": {
        "dynamodb:Query",
        "dynamodb:UpdateItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "sagemaker:DescribeTrainingJob",
        "sagemaker:StopTrainingJob",
        "sns:Publish",
        *TABLE_WITH_KEY,
    },
    # get_item of the run; get_custom_model + list_tags_for_resource (reuse), create_custom_model with tags and the
    # import role, create/get of the deployment or provisioned throughput with tags; update_item of each phase.
    "deploy_model": {
        "bedrock:GetCustomModel",
        "bedrock:ListTagsForResource",
        "bedrock:CreateCustomModel",
        "bedrock:TagResource",
        "bedrock:CreateCustomModelDeployment",
        "bedrock:GetCustomModelDeployment",
        "bedrock:CreateProvisionedModelThroughput",
        "bedrock:GetProvisionedModelThroughput",
        "iam:PassRole",
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        *TABLE_WITH_KEY,
    },
    # update_item of the run (token, AwaitingApproval), publish to the encrypted topic.
    "await_approval": {"dynamodb:UpdateItem", "sns:Publish", *TABLE_WITH_KEY},
    # get_item + conditional put_item of the slot semaphore, get_item of holders' runs, update_item (Queued).
    "acquire_slot": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", *TABLE_WITH_KEY},
    # get_item + conditional put_item of the slot semaphore.
    "release_slot": {"dynamodb:GetItem", "dynamodb:PutItem", *TABLE_WITH_KEY},
    # get_item of the run, get_object of the training output archive (no checkpoint recorded), put_object of each
    # evaluation recipe, update_item of the estimate.
    "plan_evaluation": {"s3:GetObject", "s3:PutObject", "dynamodb:GetItem", "dynamodb:UpdateItem", *TABLE_WITH_KEY},
    # create_training_job with Tags and the execution role; on a name conflict describe_training_job + list_tags.
    "start_evaluation": {
        "sagemaker:CreateTrainingJob",
        "sagemaker:AddTags",
        "sagemaker:DescribeTrainingJob",
        "sagemaker:ListTags",
        "iam:PassRole",
    },
    # get_object of each results archive, describe_training_job of a failed job, put_object of evaluation.json,
    # update_item of the run.
    "record_evaluation": {
        "s3:GetObject",
        "s3:PutObject",
        "sagemaker:DescribeTrainingJob",
        "dynamodb:UpdateItem",
        *TABLE_WITH_KEY,
    },
    # converse (bedrock:InvokeModel), get_object of the run's data head and run.json, put_object of run.json,
    # get_item + update_item.
    "record_deployment": {
        "bedrock:InvokeModel",
        "s3:GetObject",
        "s3:PutObject",
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        *TABLE_WITH_KEY,
    },
}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _allowed_actions_by_handler(synthesized: SynthesizedApp) -> dict[str, set[str]]:
    resources = synthesized.template_dict("Pipeline")["Resources"]
    role_of_handler = {
        resource["Properties"]["Handler"].removeprefix("lambdas.handlers.").removesuffix(".lambda_handler"): resource[
            "Properties"
        ]["Role"]["Fn::GetAtt"][0]
        for resource in resources.values()
        if resource["Type"] == "AWS::Lambda::Function"
    }
    actions_of_role: dict[str, set[str]] = {}
    for resource in resources.values():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        actions = {
            action
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]
            if statement["Effect"] == "Allow"
            for action in _as_list(statement["Action"])
        }
        for role in resource["Properties"]["Roles"]:
            actions_of_role.setdefault(role["Ref"], set()).update(actions)
    return {handler: actions_of_role.get(role, set()) for handler, role in role_of_handler.items()}


def test_every_handler_has_its_calls_listed_and_its_grants() -> None:
    assert sorted(HANDLER_ACTIONS) == sorted(HANDLER_GRANTS) == HANDLERS


@pytest.mark.parametrize("handler", HANDLERS)
def test_role_allows_every_call_of_its_handler(synthesized: SynthesizedApp, handler: str) -> None:
    missing = HANDLER_ACTIONS[handler] - _allowed_actions_by_handler(synthesized)[handler]
    assert not missing, f"{handler} calls AWS with actions its role lacks: {sorted(missing)}"


def test_state_machine_may_publish_to_the_encrypted_topic(synthesized: SynthesizedApp) -> None:
    resources = synthesized.template_dict("Pipeline")["Resources"]
    (machine,) = [r for r in resources.values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    role = machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    actions = {
        action
        for resource in resources.values()
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": role} in resource["Properties"]["Roles"]
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
        for action in _as_list(statement["Action"])
    }
    assert {"sns:Publish", "kms:GenerateDataKey", "kms:Decrypt", "sagemaker:DescribeTrainingJob"} <= actions
