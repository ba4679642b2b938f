"""IAM for shipping a model to Amazon Bedrock (docs/deployment.md): the service role Bedrock assumes to import a
checkpoint, and the Bedrock permissions of the two deployment functions.

The service role follows the Bedrock user guide, "Create a service role for importing pre-trained models"
(https://docs.aws.amazon.com/bedrock/latest/userguide/model-import-iam-role.html): trusted by bedrock.amazonaws.com
with ``aws:SourceAccount`` and ``aws:SourceArn`` conditions against the confused deputy, and ``s3:GetObject`` and
``s3:ListBucket`` on the bucket that holds the model files, which for a SageMaker-trained Nova model is the
SageMaker-managed escrow bucket ``customer-escrow-<account>-smtj-*`` (the Nova user guide's job outputs). KMS rights
are added only when the imported model is encrypted with a customer managed key.
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks.constructs.handler_permissions import acknowledge_wildcard_resources
from stacks.security import nag_resource_label

BEDROCK_SERVICE = "bedrock.amazonaws.com"


def escrow_buckets(account: str) -> list[str]:
    """The SageMaker training escrow buckets of ``account`` and their objects (s3://customer-escrow-<acct>-smtj-...)."""
    bucket = f"arn:{cdk.Aws.PARTITION}:s3:::customer-escrow-{account}-smtj-*"
    return [bucket, f"{bucket}/*"]


class BedrockImportRole(Construct):
    """``self.role``: what CreateCustomModel passes to Bedrock to read the run's escrow checkpoint."""

    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey | None = None) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        principal = iam.ServicePrincipal(BEDROCK_SERVICE).with_conditions(
            {
                "StringEquals": {"aws:SourceAccount": stack.account},
                # Any Bedrock resource of this account and region: CreateCustomModel's source ARN is not documented,
                # the import-job example uses model-import-job/*.
                "ArnLike": {"aws:SourceArn": stack.format_arn(service="bedrock", resource="*")},
            }
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=principal,
            description="novaft: Amazon Bedrock reads a run's escrow checkpoint to import the fine-tuned model",
        )
        read_checkpoint = iam.PolicyStatement(
            actions=["s3:GetObject", "s3:ListBucket"], resources=escrow_buckets(stack.account)
        )
        statements = [read_checkpoint]
        if key is not None:
            statements.append(
                iam.PolicyStatement(
                    actions=["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"], resources=[key.key_arn]
                )
            )
        for statement in statements:
            self.role.add_to_principal_policy(statement)
        bucket, objects = escrow_buckets(stack.account)
        acknowledge_wildcard_resources(
            self.role,
            statements,
            {
                nag_resource_label(self, bucket): (
                    "The SageMaker-managed escrow buckets of this account (customer-escrow-<account>-smtj-<id>), where "
                    "Nova training jobs keep their checkpoints; the bucket id is known only after the first job"
                ),
                nag_resource_label(self, objects): "The checkpoints in this account's SageMaker escrow buckets",
            },
        )


@dataclass(frozen=True)
class DeploymentGrantProps:
    import_role: iam.IRole
    deploy_model: iam.IRole
    record_deployment: iam.IRole


class BedrockDeploymentGrants(Construct):
    """Bedrock rights of DeployModel (import, deploy, read status) and RecordDeployment (one Converse request).

    Imported models, deployments and provisioned throughputs are named novaft-<run id>, but their ARNs carry an id
    Bedrock picks, not the name, so the resources are bounded by type, account and region.
    """

    def __init__(self, scope: Construct, construct_id: str, *, props: DeploymentGrantProps) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        models = stack.format_arn(service="bedrock", resource="custom-model", resource_name="*")
        deployments = stack.format_arn(service="bedrock", resource="custom-model-deployment", resource_name="*")
        provisioned = stack.format_arn(service="bedrock", resource="provisioned-model", resource_name="*")
        deploy = [
            iam.PolicyStatement(
                actions=[
                    "bedrock:CreateCustomModel",
                    "bedrock:GetCustomModel",
                    "bedrock:ListTagsForResource",
                    "bedrock:TagResource",
                ],
                resources=[models],
            ),
            iam.PolicyStatement(
                actions=[
                    "bedrock:CreateCustomModelDeployment",
                    "bedrock:GetCustomModelDeployment",
                    "bedrock:CreateProvisionedModelThroughput",
                    "bedrock:GetProvisionedModelThroughput",
                    "bedrock:TagResource",
                ],
                resources=[models, deployments, provisioned],
            ),
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[props.import_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": BEDROCK_SERVICE}},
            ),
        ]
        # Converse on a deployment is authorized as bedrock:InvokeModel on it.
        invoke = [iam.PolicyStatement(actions=["bedrock:InvokeModel"], resources=[deployments, provisioned])]
        bounds = {
            nag_resource_label(self, models): "Models imported into Bedrock in this account and region",
            nag_resource_label(self, deployments): "On-demand custom model deployments in this account and region",
            nag_resource_label(self, provisioned): "Provisioned throughputs in this account and region",
        }
        for role, statements in ((props.deploy_model, deploy), (props.record_deployment, invoke)):
            for statement in statements:
                role.add_to_principal_policy(statement)
            acknowledge_wildcard_resources(role, statements, bounds)
