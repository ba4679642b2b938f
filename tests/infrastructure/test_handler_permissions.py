"""HandlerPermissions refuses a set of roles that does not match the handlers with grants (no synth needed)."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template

from novaft.pipeline.facts import DEFAULT_INCOMING_PREFIX, DEFAULT_RUNS_PREFIX
from stacks.constructs.handler_permissions import (
    HANDLER_GRANTS,
    HandlerPermissions,
    HandlerPermissionsProps,
    HandlersWithoutRole,
)
from stacks.pipeline_stack import TRAINING_JOB_PREFIX

ACCOUNT = "123456789012"
REGION = "us-east-1"


def _permissions(stack: cdk.Stack, handlers: list[str]) -> HandlerPermissions:
    props = HandlerPermissionsProps(
        datasets_bucket=s3.Bucket.from_bucket_name(stack, "Datasets", "datasets"),
        artifacts_bucket=s3.Bucket.from_bucket_name(stack, "Artifacts", "artifacts"),
        key=kms.Key.from_key_arn(stack, "Key", f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234"),
        runs_table_arn=f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/runs",
        incoming_prefix=DEFAULT_INCOMING_PREFIX,
        runs_prefix=DEFAULT_RUNS_PREFIX,
        training_job_arns=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{TRAINING_JOB_PREFIX}*",
        training_job_prefix=TRAINING_JOB_PREFIX,
        training_role=iam.Role.from_role_arn(stack, "Training", f"arn:aws:iam::{ACCOUNT}:role/training"),
        topic=sns.Topic.from_topic_arn(stack, "Topic", f"arn:aws:sns:{REGION}:{ACCOUNT}:runs"),
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
