"""The SageMaker execution role of the training jobs, scoped to one run's worth of data, images, logs and metrics."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.config import NOVA_TRAINING_IMAGE_REPOSITORY, VpcConfig
from stacks.security import acknowledge, nag_resource_label

# SageMaker writes training-job logs to this one group, in streams named "<job name>/algo-<n>-<epoch>".
TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"


class TrainingRole(Construct):
    """Reads ``<incoming_prefix>*`` of the datasets bucket; reads and writes ``<runs_prefix>*`` of the artifacts one."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        datasets_bucket: s3.IBucket,
        artifacts_bucket: s3.IBucket,
        key: kms.IKey,
        incoming_prefix: str,
        runs_prefix: str,
        image_account: str,
        training_job_prefix: str,
        vpc: VpcConfig | None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
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
        incoming_objects = datasets_bucket.arn_for_objects(f"{incoming_prefix}*")
        run_objects = artifacts_bucket.arn_for_objects(f"{runs_prefix}*")
        image_repository = stack.format_arn(
            service="ecr", account=image_account, resource="repository", resource_name=NOVA_TRAINING_IMAGE_REPOSITORY
        )
        log_group = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=TRAINING_LOG_GROUP,
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        log_streams = f"{log_group}:log-stream:{training_job_prefix}*"
        statements = [
            iam.PolicyStatement(
                sid="ReadDatasets", actions=["s3:GetObject", "s3:GetObjectVersion"], resources=[incoming_objects]
            ),
            iam.PolicyStatement(
                sid="ListDatasets",
                actions=["s3:ListBucket"],
                resources=[datasets_bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{incoming_prefix}*"]}},
            ),
            iam.PolicyStatement(
                sid="ReadRecipeWriteOutput",
                actions=["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
                resources=[run_objects],
            ),
            iam.PolicyStatement(
                sid="ListRunArtifacts",
                actions=["s3:ListBucket"],
                resources=[artifacts_bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{runs_prefix}*"]}},
            ),
            iam.PolicyStatement(
                sid="UseDataKey",
                actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                resources=[key.key_arn],
            ),
            iam.PolicyStatement(
                sid="PullNovaImages",
                actions=["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                resources=[image_repository],
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
                conditions={"StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/TrainingJobs"}},
            ),
        ]
        if vpc:
            statements.extend(_vpc_statements(stack, vpc))
        policy = iam.Policy(self, "Policy", statements=statements, roles=[self.role])

        wildcard_bounds = {
            "AwsSolutions-IAM5[Resource::*]": (
                "ecr:GetAuthorizationToken and cloudwatch:PutMetricData have no resource-level permissions; "
                "PutMetricData is bounded by a cloudwatch:namespace condition to /aws/sagemaker/TrainingJobs"
                + (
                    "; the ec2:Describe* calls a VPC training job makes have no resource-level permissions"
                    if vpc
                    else ""
                )
            ),
            f"AwsSolutions-IAM5[Resource::{nag_resource_label(self, incoming_objects)}]": (
                f"Bounded to the {incoming_prefix} prefix of the datasets bucket, where users drop training data"
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
        if vpc:
            network_interfaces = stack.format_arn(service="ec2", resource="network-interface", resource_name="*")
            acknowledge(
                policy,
                f"AwsSolutions-IAM5[Resource::{nag_resource_label(self, network_interfaces)}]",
                "SageMaker creates the training job's network interfaces; their ids are not known in advance and "
                "the statement is bounded to this account and region",
            )


def _vpc_statements(stack: cdk.Stack, vpc: VpcConfig) -> list[iam.PolicyStatement]:
    subnets = [stack.format_arn(service="ec2", resource="subnet", resource_name=subnet) for subnet in vpc.subnet_ids]
    groups = [
        stack.format_arn(service="ec2", resource="security-group", resource_name=group)
        for group in vpc.security_group_ids
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
