"""The IAM grants of the workflow functions: explicit actions on explicit resources, one list of grants per handler.

No grant_* helpers: they add action wildcards. Each wildcard resource a grant needs is acknowledged for cdk-nag on
the role it lands on, with the bound that makes it acceptable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct, IConstruct

from novaft.pipeline.facts import (
    BY_CREATED_INDEX,
    BY_EXECUTION_INDEX,
    PLATFORM_JOB_TAGS,
    TRAINING_LOG_GROUP,
)
from novaft.policy import StagePolicy, allowed_instance_types
from stacks.constructs.policy_statements import (
    KeyUser,
    RunStorage,
    list_prefix,
    on_prefix_objects,
    prefix_objects,
    training_job_arn_pattern,
    use_data_key,
)
from stacks.security import acknowledge, nag_resource_label


class Grant(StrEnum):
    RUNS_TABLE = "runs_table"
    DATA_KEY = "data_key"
    READ_INCOMING = "read_incoming"
    LIST_INCOMING = "list_incoming"
    READ_WRITE_RUNS = "read_write_runs"
    SNAPSHOT_INPUTS = "snapshot_inputs"
    DESCRIBE_JOBS = "describe_jobs"
    READ_JOB_LOGS = "read_job_logs"
    CREATE_JOBS = "create_jobs"
    START_JOBS = "start_jobs"
    STOP_JOBS = "stop_jobs"
    PASS_TRAINING_ROLE = "pass_training_role"
    PUBLISH = "publish"
    TOPIC_KEY = "topic_key"


# What each handler (lambdas/handlers/<name>.py) may do.
HANDLER_GRANTS: Mapping[str, tuple[Grant, ...]] = MappingProxyType(
    {
        "register_run": (Grant.RUNS_TABLE, Grant.DATA_KEY, Grant.READ_INCOMING, Grant.LIST_INCOMING),
        "validate_dataset": (
            Grant.RUNS_TABLE,
            Grant.DATA_KEY,
            Grant.READ_INCOMING,
            Grant.READ_WRITE_RUNS,
            Grant.SNAPSHOT_INPUTS,
        ),
        # Reads nothing in incoming/: the job spec arrives parsed, the channels point at the run's snapshot.
        "render_recipe": (Grant.RUNS_TABLE, Grant.DATA_KEY, Grant.READ_WRITE_RUNS),
        "start_training": (
            Grant.RUNS_TABLE,
            Grant.DATA_KEY,
            Grant.CREATE_JOBS,
            Grant.START_JOBS,
            Grant.PASS_TRAINING_ROLE,
        ),
        # Reads the job's log stream for its loss when the output archive has none (novaft/report/metrics.py).
        "record_result": (
            Grant.RUNS_TABLE,
            Grant.DATA_KEY,
            Grant.READ_WRITE_RUNS,
            Grant.DESCRIBE_JOBS,
            Grant.READ_JOB_LOGS,
        ),
        "stop_run": (
            Grant.RUNS_TABLE,
            Grant.DATA_KEY,
            Grant.READ_WRITE_RUNS,
            Grant.STOP_JOBS,
            Grant.PUBLISH,
            Grant.TOPIC_KEY,
        ),
        # The approval and queue gate (stacks/constructs/workflow_gate.py): the run record and the slots item.
        "await_approval": (Grant.RUNS_TABLE, Grant.DATA_KEY, Grant.PUBLISH, Grant.TOPIC_KEY),
        "acquire_slot": (Grant.RUNS_TABLE, Grant.DATA_KEY),
        "release_slot": (Grant.RUNS_TABLE, Grant.DATA_KEY),
        # Plus their Bedrock rights (stacks/constructs/bedrock_import_role.py, BedrockDeploymentGrants).
        "deploy_model": (Grant.RUNS_TABLE, Grant.DATA_KEY),
        "record_deployment": (Grant.RUNS_TABLE, Grant.DATA_KEY, Grant.READ_WRITE_RUNS),
        # Reads the training job's output manifest, writes the evaluation recipes.
        "plan_evaluation": (Grant.RUNS_TABLE, Grant.DATA_KEY, Grant.READ_WRITE_RUNS),
        "start_evaluation": (Grant.CREATE_JOBS, Grant.START_JOBS, Grant.PASS_TRAINING_ROLE),
        # Reads the results archives and a failed job's reason; writes evaluation.json.
        "record_evaluation": (Grant.RUNS_TABLE, Grant.DATA_KEY, Grant.READ_WRITE_RUNS, Grant.DESCRIBE_JOBS),
    }
)


class UnboundedWildcard(ValueError):
    """A grant has a wildcard resource without a stated bound to acknowledge it with."""


class HandlersWithoutRole(ValueError):
    """The roles given do not match the handlers that have grants."""


@dataclass(frozen=True)
class TrainingJobBounds:
    """What a CreateTrainingJob call may ask for: the stage policy and the stage's own job settings.

    StartTraining checks the same in code; the IAM conditions hold even if that code is changed or bypassed.
    """

    instance_types: tuple[str, ...]
    max_runtime_seconds: int
    require_network_isolation: bool
    tag_keys: tuple[str, ...]
    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()

    @classmethod
    def of_stage(
        cls, policy: StagePolicy, *, subnet_ids: tuple[str, ...] = (), security_group_ids: tuple[str, ...] = ()
    ) -> TrainingJobBounds:
        return cls(
            instance_types=allowed_instance_types(policy),
            max_runtime_seconds=int(policy.max_runtime_hours * 3600),
            require_network_isolation=policy.require_network_isolation,
            # The platform's own tags on every job, and the keys a job.yaml may add.
            tag_keys=(*PLATFORM_JOB_TAGS, *policy.allowed_tag_keys),
            subnet_ids=subnet_ids,
            security_group_ids=security_group_ids,
        )

    def conditions(self, output_key_arn: str) -> dict[str, dict[str, Any]]:
        """IAM conditions of sagemaker:CreateTrainingJob. Every key is one the service authorization reference lists
        for the action ("Actions, resources, and condition keys for Amazon SageMaker",
        https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html).

        ``ForAllValues`` passes when the request has no value for the key, so a required VPC is also ``Null: false``.
        No ``sagemaker:VolumeKmsKey``: the stage sets no volume key (the instance types have local storage, where
        SageMaker rejects one), and a condition on it would refuse every job.
        """
        all_values: dict[str, Any] = {
            "sagemaker:InstanceTypes": list(self.instance_types),
            "aws:TagKeys": list(self.tag_keys),
        }
        conditions: dict[str, dict[str, Any]] = {
            "ForAllValues:StringEquals": all_values,
            "ArnEquals": {"sagemaker:OutputKmsKey": output_key_arn},
            "Bool": {"sagemaker:InterContainerTrafficEncryption": "true"},
            # Condition values are strings in the IAM policy grammar; a number is compared numerically anyway.
            "NumericLessThanEquals": {"sagemaker:MaxRuntimeInSeconds": str(self.max_runtime_seconds)},
        }
        if self.require_network_isolation:
            conditions["Bool"]["sagemaker:NetworkIsolation"] = "true"
        if self.subnet_ids:
            all_values["sagemaker:VpcSubnets"] = list(self.subnet_ids)
            all_values["sagemaker:VpcSecurityGroupIds"] = list(self.security_group_ids)
            conditions["Null"] = {"sagemaker:VpcSubnets": "false", "sagemaker:VpcSecurityGroupIds": "false"}
        return conditions


@dataclass(frozen=True)
class HandlerPermissionsProps:
    storage: RunStorage
    runs_table_arn: str
    # Every training job novaft starts is named <training_job_prefix>...
    training_job_prefix: str
    training_role: iam.IRole
    topic: sns.ITopic
    training_job_bounds: TrainingJobBounds


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
        training_jobs = training_job_arn_pattern(self, props.training_job_prefix)
        statements = _statements(props, training_jobs)
        # Keyed by how cdk-nag prints each resource, which is also the key of its acknowledgment.
        wildcard_bounds = {
            nag_resource_label(self, prefix_objects(props.storage.datasets_bucket, props.storage.incoming_prefix)): (
                f"Bounded to the {props.storage.incoming_prefix} prefix of the datasets bucket (the drop zone)"
            ),
            nag_resource_label(self, prefix_objects(props.storage.artifacts_bucket, props.storage.runs_prefix)): (
                f"Bounded to the {props.storage.runs_prefix} prefix of the artifacts bucket (one folder per run)"
            ),
            nag_resource_label(self, _training_log_group(self)): (
                f"Bounded to the log group {TRAINING_LOG_GROUP}, where SageMaker writes every training job's logs; "
                "DescribeLogStreams takes the group's ARN, which ends in :*"
            ),
            nag_resource_label(self, _training_log_streams(self, props.training_job_prefix)): (
                f"Bounded to the log streams of training jobs named {props.training_job_prefix}* "
                "(SageMaker names each stream <job>/algo-<n>-<time>)"
            ),
            nag_resource_label(self, training_jobs): (
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


def _statements(props: HandlerPermissionsProps, training_job_arns: str) -> dict[Grant, iam.PolicyStatement]:
    training_jobs = [training_job_arns]
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
        # The bucket objects and the runs table are encrypted with the data key.
        Grant.DATA_KEY: use_data_key(props.storage.key, via=(KeyUser.S3, KeyUser.DYNAMODB)),
        Grant.READ_INCOMING: on_prefix_objects(
            props.storage.datasets_bucket, props.storage.incoming_prefix, ["s3:GetObject", "s3:GetObjectVersion"]
        ),
        Grant.LIST_INCOMING: list_prefix(props.storage.datasets_bucket, props.storage.incoming_prefix),
        Grant.READ_WRITE_RUNS: on_prefix_objects(
            props.storage.artifacts_bucket, props.storage.runs_prefix, ["s3:GetObject", "s3:PutObject"]
        ),
        # Copies over 5 GB go in parts (UploadPartCopy is s3:PutObject); a failed one is aborted.
        Grant.SNAPSHOT_INPUTS: on_prefix_objects(
            props.storage.artifacts_bucket, props.storage.runs_prefix, ["s3:AbortMultipartUpload"]
        ),
        Grant.DESCRIBE_JOBS: iam.PolicyStatement(actions=["sagemaker:DescribeTrainingJob"], resources=training_jobs),
        Grant.READ_JOB_LOGS: iam.PolicyStatement(
            actions=["logs:DescribeLogStreams", "logs:GetLogEvents"],
            resources=[
                _training_log_group(props.training_role),
                _training_log_streams(props.training_role, props.training_job_prefix),
            ],
        ),
        Grant.CREATE_JOBS: iam.PolicyStatement(
            actions=["sagemaker:CreateTrainingJob"],
            resources=training_jobs,
            conditions=props.training_job_bounds.conditions(props.storage.key.key_arn),
        ),
        # AddTags: CreateTrainingJob with Tags needs it too. ListTags: on a name conflict StartTraining reads the
        # job's run-id tag to tell its own job from another's.
        Grant.START_JOBS: iam.PolicyStatement(
            actions=["sagemaker:DescribeTrainingJob", "sagemaker:AddTags", "sagemaker:ListTags"],
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
        # Publishing to the encrypted topic: SNS generates and decrypts the data keys with the publisher's rights.
        Grant.TOPIC_KEY: use_data_key(
            props.storage.key, via=(KeyUser.SNS,), actions=["kms:GenerateDataKey", "kms:Decrypt"]
        ),
    }


def _training_log_group(scope: IConstruct) -> str:
    stack = Stack.of(scope)
    return f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:{TRAINING_LOG_GROUP}:*"


def _training_log_streams(scope: IConstruct, job_prefix: str) -> str:
    stack = Stack.of(scope)
    return (
        f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:{TRAINING_LOG_GROUP}"
        f":log-stream:{job_prefix}*"
    )


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
