"""The SageMaker execution role of the training jobs, scoped to one run's worth of data, images, logs and metrics."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.constructs.policy_statements import (
    RunStorage,
    list_prefix,
    on_prefix_objects,
    prefix_objects,
    training_job_data_key,
)
from stacks.security import acknowledge, nag_resource_label

# SageMaker writes training-job logs to this one group, in streams named "<job name>/algo-<n>-<epoch>".
TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"
# The CloudWatch namespace of the training metrics SageMaker publishes for a job (the same text as the log group).
TRAINING_METRICS_NAMESPACE = "/aws/sagemaker/TrainingJobs"


@dataclass(frozen=True)
class TrainingNetwork:
    """The subnets and security groups a training job runs in; its network interfaces need these ec2 grants."""

    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]


class TrainingRole(Construct):
    """Reads and writes ``<runs_prefix>*`` of the artifacts bucket (the run's input snapshot, recipe and output);
    reads the current objects of ``<incoming_prefix>*`` of the datasets bucket only for the media (images, videos)
    that Converse records reference by their s3:// URI there (docs/security.md, "What a training job reads")."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        storage: RunStorage,
        image_account: str,
        image_repository: str,
        training_job_prefix: str,
        network: TrainingNetwork | None,
        # Evaluation jobs (docs/evaluation.md) run under this role too, with the Nova evaluation image.
        evaluation_image_repository: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        datasets_bucket, artifacts_bucket = storage.datasets_bucket, storage.artifacts_bucket
        incoming_prefix, runs_prefix = storage.incoming_prefix, storage.runs_prefix
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "sagemaker.amazonaws.com",
                # Confused-deputy guard: only SageMaker acting for this account may assume the role.
                conditions={"StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID}},
            ),
            description="novaft training jobs (SageMaker execution role)",
        )
        incoming_objects = prefix_objects(datasets_bucket, incoming_prefix)
        run_objects = prefix_objects(artifacts_bucket, runs_prefix)
        image_repository_arns = [
            stack.format_arn(service="ecr", account=image_account, resource="repository", resource_name=repository)
            for repository in (image_repository, evaluation_image_repository)
            if repository is not None
        ]
        log_group = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=TRAINING_LOG_GROUP,
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        log_streams = f"{log_group}:log-stream:{training_job_prefix}*"
        statements = [
            # No GetObjectVersion: the job's channels read the run's snapshot; only media is read here, as it is now.
            on_prefix_objects(datasets_bucket, incoming_prefix, ["s3:GetObject"], sid="ReadDatasetMedia"),
            list_prefix(datasets_bucket, incoming_prefix, sid="ListDatasets"),
            on_prefix_objects(
                artifacts_bucket,
                runs_prefix,
                ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
                sid="ReadRecipeWriteOutput",
            ),
            list_prefix(artifacts_bucket, runs_prefix, sid="ListRunArtifacts"),
            training_job_data_key(storage.key, sid="UseDataKey"),
            iam.PolicyStatement(
                sid="PullNovaImages",
                actions=["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                resources=image_repository_arns,
            ),
            iam.PolicyStatement(sid="EcrLogin", actions=["ecr:GetAuthorizationToken"], resources=["*"]),
            iam.PolicyStatement(
                sid="TrainingLogGroup",
                actions=["logs:CreateLogGroup", "logs:DescribeLogStreams"],
                resources=[log_group],
            ),
            iam.PolicyStatement(
                sid="TrainingLogStreams", actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_streams]
            ),
            iam.PolicyStatement(
                sid="TrainingMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": TRAINING_METRICS_NAMESPACE}},
            ),
        ]
        if network:
            statements.extend(_network_statements(stack, network))
        policy = iam.Policy(self, "Policy", statements=statements, roles=[self.role])

        wildcard_bounds = {
            "AwsSolutions-IAM5[Resource::*]": (
                "ecr:GetAuthorizationToken and cloudwatch:PutMetricData have no resource-level permissions; "
                f"PutMetricData is bounded by a cloudwatch:namespace condition to {TRAINING_METRICS_NAMESPACE}"
                + (
                    "; the ec2:Describe* calls a VPC training job makes have no resource-level permissions"
                    if network
                    else ""
                )
            ),
            f"AwsSolutions-IAM5[Resource::{nag_resource_label(self, incoming_objects)}]": (
                f"Bounded to the {incoming_prefix} prefix of the datasets bucket, where the media the records "
                "reference lives (the training data itself is read from the run's snapshot)"
            ),
            f"AwsSolutions-IAM5[Resource::{nag_resource_label(self, run_objects)}]": (
                f"Bounded to the {runs_prefix} prefix of the artifacts bucket: the rendered recipe and the job output"
            ),
            f"AwsSolutions-IAM5[Resource::{nag_resource_label(self, log_streams)}]": (
                f"Bounded to the streams of training jobs named {training_job_prefix}* in SageMaker's training "
                "log group"
            ),
        }
        for finding, reason in wildcard_bounds.items():
            acknowledge(policy, finding, reason)
        if network:
            network_interfaces = stack.format_arn(service="ec2", resource="network-interface", resource_name="*")
            acknowledge(
                policy,
                f"AwsSolutions-IAM5[Resource::{nag_resource_label(self, network_interfaces)}]",
                "SageMaker creates the training job's network interfaces; their ids are not known in advance and "
                "the statement is bounded to this account and region",
            )


def _network_statements(stack: cdk.Stack, network: TrainingNetwork) -> list[iam.PolicyStatement]:
    subnets = [
        stack.format_arn(service="ec2", resource="subnet", resource_name=subnet) for subnet in network.subnet_ids
    ]
    groups = [
        stack.format_arn(service="ec2", resource="security-group", resource_name=group)
        for group in network.security_group_ids
    ]
    interfaces = stack.format_arn(service="ec2", resource="network-interface", resource_name="*")
    return [
        iam.PolicyStatement(
            sid="TrainingNetworkInterfaces",
            actions=[
                "ec2:CreateNetworkInterface",
                "ec2:CreateNetworkInterfacePermission",
                "ec2:DeleteNetworkInterface",
                "ec2:DeleteNetworkInterfacePermission",
            ],
            resources=[interfaces, *subnets, *groups],
        ),
        iam.PolicyStatement(
            sid="DescribeTrainingNetwork",
            actions=[
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeVpcs",
                "ec2:DescribeDhcpOptions",
                "ec2:DescribeSubnets",
                "ec2:DescribeSecurityGroups",
            ],
            resources=["*"],
        ),
    ]
