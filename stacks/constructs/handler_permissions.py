"""The IAM grants of the workflow functions: explicit actions on explicit resources, one list of grants per handler.

No grant_* helpers: they add action wildcards. Each wildcard resource a grant needs is acknowledged for cdk-nag on
the role it lands on, with the bound that makes it acceptable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct, IConstruct

from novaft.pipeline.facts import BY_CREATED_INDEX, BY_EXECUTION_INDEX
from stacks.constructs.policy_statements import list_prefix, on_prefix_objects, prefix_objects, use_data_key
from stacks.security import acknowledge, nag_resource_label


class Grant(StrEnum):
    RUNS_TABLE = "runs_table"
    DATA_KEY = "data_key"
    READ_INCOMING = "read_incoming"
    LIST_INCOMING = "list_incoming"
    READ_WRITE_RUNS = "read_write_runs"
    DESCRIBE_JOBS = "describe_jobs"
    START_JOBS = "start_jobs"
    STOP_JOBS = "stop_jobs"
    PASS_TRAINING_ROLE = "pass_training_role"
    PUBLISH = "publish"


# What each handler (lambdas/handlers/<name>.py) may do.
HANDLER_GRANTS: Mapping[str, tuple[Grant, ...]] = MappingProxyType(
    {
        "register_run": (Grant.RUNS_TABLE, Grant.DATA_KEY, Grant.READ_INCOMING, Grant.LIST_INCOMING),
        "validate_dataset": (Grant.RUNS_TABLE, Grant.DATA_KEY, Grant.READ_INCOMING, Grant.READ_WRITE_RUNS),
        "render_recipe": (Grant.RUNS_TABLE, Grant.DATA_KEY, Grant.READ_INCOMING, Grant.READ_WRITE_RUNS),
        "start_training": (Grant.RUNS_TABLE, Grant.DATA_KEY, Grant.START_JOBS, Grant.PASS_TRAINING_ROLE),
        "record_result": (Grant.RUNS_TABLE, Grant.DATA_KEY, Grant.READ_WRITE_RUNS, Grant.DESCRIBE_JOBS),
        "stop_run": (Grant.RUNS_TABLE, Grant.DATA_KEY, Grant.READ_WRITE_RUNS, Grant.STOP_JOBS, Grant.PUBLISH),
    }
)


class UnboundedWildcard(ValueError):
    """A grant has a wildcard resource without a stated bound to acknowledge it with."""


class HandlersWithoutRole(ValueError):
    """The roles given do not match the handlers that have grants."""


@dataclass(frozen=True)
class HandlerPermissionsProps:
    datasets_bucket: s3.IBucket
    artifacts_bucket: s3.IBucket
    key: kms.IKey
    runs_table_arn: str
    incoming_prefix: str
    runs_prefix: str
    # training-job/<training_job_prefix>* in this account and region
    training_job_arns: str
    training_job_prefix: str
    training_role: iam.IRole
    topic: sns.ITopic


class HandlerPermissions(Construct):
    """Adds each handler's grants to its role; ``roles`` maps every handler of ``HANDLER_GRANTS`` to its role."""

    def __init__(
        self, scope: Construct, construct_id: str, *, props: HandlerPermissionsProps, roles: Mapping[str, iam.IRole]
    ) -> None:
        super().__init__(scope, construct_id)
        without_role = sorted(set(HANDLER_GRANTS) - set(roles))
        without_grants = sorted(set(roles) - set(HANDLER_GRANTS))
        if without_role or without_grants:
            raise HandlersWithoutRole(
                f"handlers with grants but no role: {without_role}; roles of handlers without grants: {without_grants}"
            )
        statements = _statements(props)
        # Keyed by how cdk-nag prints each resource, which is also the key of its acknowledgment.
        wildcard_bounds = {
            nag_resource_label(self, prefix_objects(props.datasets_bucket, props.incoming_prefix)): (
                f"Bounded to the {props.incoming_prefix} prefix of the datasets bucket (the drop zone)"
            ),
            nag_resource_label(self, prefix_objects(props.artifacts_bucket, props.runs_prefix)): (
                f"Bounded to the {props.runs_prefix} prefix of the artifacts bucket (one folder per run)"
            ),
            nag_resource_label(self, props.training_job_arns): (
                f"Bounded to training jobs named {props.training_job_prefix}* in this account and region; "
                "job names are generated per run, so the exact ARN is not known at deploy time"
            ),
        }
        for handler, grants in HANDLER_GRANTS.items():
            role = roles[handler]
            granted = [statements[grant] for grant in grants]
            for statement in granted:
                role.add_to_principal_policy(statement)
            acknowledge_wildcard_resources(role, granted, wildcard_bounds)


def _statements(props: HandlerPermissionsProps) -> dict[Grant, iam.PolicyStatement]:
    training_jobs = [props.training_job_arns]
    return {
        Grant.RUNS_TABLE: iam.PolicyStatement(
            actions=[
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:Query",
                "dynamodb:ConditionCheckItem",
            ],
            resources=[
                props.runs_table_arn,
                *(f"{props.runs_table_arn}/index/{index}" for index in (BY_EXECUTION_INDEX, BY_CREATED_INDEX)),
            ],
        ),
        Grant.DATA_KEY: use_data_key(props.key),
        Grant.READ_INCOMING: on_prefix_objects(
            props.datasets_bucket, props.incoming_prefix, ["s3:GetObject", "s3:GetObjectVersion"]
        ),
        Grant.LIST_INCOMING: list_prefix(props.datasets_bucket, props.incoming_prefix),
        Grant.READ_WRITE_RUNS: on_prefix_objects(
            props.artifacts_bucket, props.runs_prefix, ["s3:GetObject", "s3:PutObject"]
        ),
        Grant.DESCRIBE_JOBS: iam.PolicyStatement(actions=["sagemaker:DescribeTrainingJob"], resources=training_jobs),
        # ListTags: on a name conflict StartTraining reads the job's run-id tag to tell its own job from another's.
        Grant.START_JOBS: iam.PolicyStatement(
            actions=[
                "sagemaker:CreateTrainingJob",
                "sagemaker:DescribeTrainingJob",
                "sagemaker:AddTags",
                "sagemaker:ListTags",
            ],
            resources=training_jobs,
        ),
        Grant.STOP_JOBS: iam.PolicyStatement(
            actions=["sagemaker:StopTrainingJob", "sagemaker:DescribeTrainingJob"], resources=training_jobs
        ),
        Grant.PASS_TRAINING_ROLE: iam.PolicyStatement(
            actions=["iam:PassRole"],
            resources=[props.training_role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        ),
        Grant.PUBLISH: iam.PolicyStatement(actions=["sns:Publish"], resources=[props.topic.topic_arn]),
    }


def acknowledge_wildcard_resources(
    construct: IConstruct, statements: list[iam.PolicyStatement], bounds: Mapping[str, str]
) -> None:
    """Acknowledge each wildcard resource of ``statements`` with its stated bound (``bounds`` is keyed by the
    resource's cdk-nag label); an unbounded one is a bug here."""
    for statement in statements:
        for resource in statement.resources:
            label = nag_resource_label(construct, resource)
            if "*" not in label:
                continue
            if label not in bounds:
                raise UnboundedWildcard(f"wildcard resource {label} has no stated bound")
            acknowledge(construct, f"AwsSolutions-IAM5[Resource::{label}]", bounds[label])
