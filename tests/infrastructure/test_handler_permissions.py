"""HandlerPermissions refuses a set of roles that does not match the handlers with grants, and bounds CreateTrainingJob
with the stage policy's IAM conditions (no app synth needed)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template

from novaft.pipeline.facts import DEFAULT_INCOMING_PREFIX, DEFAULT_RUNS_PREFIX, PLATFORM_JOB_TAGS
from novaft.policy import StagePolicy
from novaft.recipes import load_catalog
from stacks.constructs.handler_permissions import (
    HANDLER_GRANTS,
    HandlerPermissions,
    HandlerPermissionsProps,
    HandlersWithoutRole,
    TrainingJobBounds,
)
from stacks.constructs.policy_statements import RunStorage
from stacks.pipeline_stack import TRAINING_JOB_PREFIX

ACCOUNT = "123456789012"
REGION = "us-east-1"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234"


def _permissions(stack: cdk.Stack, handlers: list[str], bounds: TrainingJobBounds | None = None) -> HandlerPermissions:
    props = HandlerPermissionsProps(
        storage=RunStorage(
            s3.Bucket.from_bucket_name(stack, "Datasets", "datasets"),
            s3.Bucket.from_bucket_name(stack, "Artifacts", "artifacts"),
            kms.Key.from_key_arn(stack, "Key", KEY_ARN),
            incoming_prefix=DEFAULT_INCOMING_PREFIX,
            runs_prefix=DEFAULT_RUNS_PREFIX,
        ),
        runs_table_arn=f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/runs",
        training_job_prefix=TRAINING_JOB_PREFIX,
        training_role=iam.Role.from_role_arn(stack, "Training", f"arn:aws:iam::{ACCOUNT}:role/training"),
        topic=sns.Topic.from_topic_arn(stack, "Topic", f"arn:aws:sns:{REGION}:{ACCOUNT}:runs"),
        training_job_bounds=bounds or TrainingJobBounds.of_stage(StagePolicy()),
    )
    roles = {
        name: iam.Role(stack, f"Role{index}", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        for index, name in enumerate(handlers)
    }
    return HandlerPermissions(stack, "Permissions", props=props, roles=roles)


@pytest.fixture
def stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "Bare", env=cdk.Environment(account=ACCOUNT, region=REGION))


def test_a_handler_without_a_role_is_named(stack: cdk.Stack) -> None:
    handlers = sorted(HANDLER_GRANTS)
    with pytest.raises(HandlersWithoutRole, match=rf"no role: \['{handlers[0]}'\]; .* without grants: \[\]"):
        _permissions(stack, handlers[1:])


def test_every_handler_role_gets_a_policy(stack: cdk.Stack) -> None:
    _permissions(stack, sorted(HANDLER_GRANTS))
    policies = [
        resource
        for resource in Template.from_stack(stack).to_json()["Resources"].values()
        if resource["Type"] == "AWS::IAM::Policy"
    ]
    assert len(policies) == len(HANDLER_GRANTS)


def _create_training_job_statement(template: Mapping[str, Any]) -> dict[str, Any]:
    statements = [
        statement
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::IAM::Policy"
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
        if "sagemaker:CreateTrainingJob"
        in (statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
    ]
    # StartTraining and StartEvaluation each carry it: one statement, the same bounds on both roles.
    distinct = {json.dumps(statement, sort_keys=True) for statement in statements}
    assert len(statements) == 2 and len(distinct) == 1, statements
    return statements[0]


def test_create_training_job_is_bounded_by_the_stage_policy_and_settings(stack: cdk.Stack) -> None:
    policy = StagePolicy(
        allowed_instance_types=("ml.p5.48xlarge",),
        max_runtime_hours=12,
        allowed_tag_keys=("team",),
        require_network_isolation=True,
    )
    bounds = TrainingJobBounds.of_stage(policy, subnet_ids=("subnet-1", "subnet-2"), security_group_ids=("sg-1",))
    _permissions(stack, sorted(HANDLER_GRANTS), bounds)
    statement = _create_training_job_statement(Template.from_stack(stack).to_json())
    assert statement["Action"] == "sagemaker:CreateTrainingJob"
    assert statement["Condition"] == {
        "ForAllValues:StringEquals": {
            "sagemaker:InstanceTypes": ["ml.p5.48xlarge"],
            "aws:TagKeys": [*PLATFORM_JOB_TAGS, "team"],
            "sagemaker:VpcSubnets": ["subnet-1", "subnet-2"],
            "sagemaker:VpcSecurityGroupIds": ["sg-1"],
        },
        "Null": {"sagemaker:VpcSubnets": "false", "sagemaker:VpcSecurityGroupIds": "false"},
        "ArnEquals": {"sagemaker:OutputKmsKey": KEY_ARN},
        "Bool": {"sagemaker:InterContainerTrafficEncryption": "true", "sagemaker:NetworkIsolation": "true"},
        "NumericLessThanEquals": {"sagemaker:MaxRuntimeInSeconds": str(12 * 3600)},
    }


def test_without_a_policy_list_the_instance_types_are_those_of_the_allowed_recipes() -> None:
    lora_only = TrainingJobBounds.of_stage(StagePolicy(allowed_models=("micro",), allowed_peft=("lora",)))
    catalog = load_catalog()
    expected = {t for v in catalog.variants if v.model == "micro" and v.peft == "lora" for t in v.instance_types}
    assert set(lora_only.instance_types) == expected
    assert lora_only.conditions(KEY_ARN).get("Null") is None  # no VPC: nothing to require
