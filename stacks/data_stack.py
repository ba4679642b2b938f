"""The stateful deployment unit: buckets, the KMS key and the runs table. Replacing it would lose user data."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from novaft.pipeline.facts import (
    BY_CREATED_INDEX,
    BY_CREATED_INDEX_PARTITION_KEY,
    BY_CREATED_INDEX_SORT_KEY,
    BY_EXECUTION_INDEX,
    BY_EXECUTION_INDEX_KEY,
    RUNS_TABLE_PARTITION_KEY,
    pipeline_stack_name,
)
from stacks.config import StageConfig
from stacks.constructs.secure_bucket import secure_bucket
from stacks.security import acknowledge, checkov_skip


@dataclass(frozen=True)
class DataExports:
    """What the stateless stack may use of this one, as imports of explicitly named exports.

    Named exports (rather than CDK's generated ones) keep the coupling visible and the imported values stable, so
    cdk-nag acknowledgments in the pipeline stack can name them.
    """

    datasets_bucket_name: str
    datasets_bucket_arn: str
    artifacts_bucket_name: str
    artifacts_bucket_arn: str
    key_arn: str
    runs_table_name: str
    runs_table_arn: str


class DataStack(cdk.Stack):
    """Datasets bucket (EventBridge on), artifacts bucket, access-log bucket, KMS key and runs table."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        removal = cdk.RemovalPolicy.RETAIN if config.retain_data else cdk.RemovalPolicy.DESTROY

        self.key = kms.Key(
            self,
            "DataKey",
            description=f"novaft {config.stage}: datasets, artifacts, runs table and notifications",
            enable_key_rotation=True,
            removal_policy=removal,
        )
        self._let_alarms_publish_to_encrypted_topics(self.key)
        self._let_logs_encrypt_pipeline_log_groups(self.key, pipeline_stack_name(config.stage))

        self.access_log_bucket = secure_bucket(
            self, "AccessLogBucket", removal_policy=removal, encryption_key=None, access_log_bucket=None
        )
        acknowledge(
            self.access_log_bucket,
            "AwsSolutions-S1",
            "This is the access-log bucket itself; logging it into itself would loop.",
        )
        checkov_skip(
            self.access_log_bucket,
            "CKV_AWS_18",
            "This is the access-log bucket itself; logging it into itself would loop (cdk-nag AwsSolutions-S1 alike)",
        )
        self.datasets_bucket = self._data_bucket("DatasetsBucket", removal, access_log_prefix="datasets/")
        self.artifacts_bucket = self._data_bucket("ArtifactsBucket", removal, access_log_prefix="artifacts/")
        # The native CloudFormation property, rather than event_bridge_enabled=True: CDK's variant deploys a
        # custom-resource Lambda whose role may call s3:PutBucketNotification on every bucket ("Resource": "*").
        cfn_datasets = self.datasets_bucket.node.default_child
        assert isinstance(cfn_datasets, s3.CfnBucket)
        cfn_datasets.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(event_bridge_enabled=True)
        )

        self.runs_table = dynamodb.TableV2(
            self,
            "RunsTable",
            partition_key=_string_attribute(RUNS_TABLE_PARTITION_KEY),
            billing=dynamodb.Billing.on_demand(),
            encryption=dynamodb.TableEncryptionV2.customer_managed_key(self.key),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=config.retain_data,
            removal_policy=removal,
            global_secondary_indexes=[
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name=BY_EXECUTION_INDEX,
                    partition_key=_string_attribute(BY_EXECUTION_INDEX_KEY),
                ),
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name=BY_CREATED_INDEX,
                    partition_key=_string_attribute(BY_CREATED_INDEX_PARTITION_KEY),
                    sort_key=_string_attribute(BY_CREATED_INDEX_SORT_KEY),
                ),
            ],
        )
        cfn_table = self.runs_table.node.default_child
        assert isinstance(cfn_table, cdk.CfnResource)
        cfn_table.override_logical_id("RunsTable")
        cfn_key = self.key.node.default_child
        assert isinstance(cfn_key, cdk.CfnResource)
        cfn_key.override_logical_id("DataKey")

        self.exports = DataExports(
            datasets_bucket_name=self._export("DatasetsBucketName", self.datasets_bucket.bucket_name),
            datasets_bucket_arn=self._export("DatasetsBucketArn", self.datasets_bucket.bucket_arn),
            artifacts_bucket_name=self._export("ArtifactsBucketName", self.artifacts_bucket.bucket_name),
            artifacts_bucket_arn=self._export("ArtifactsBucketArn", self.artifacts_bucket.bucket_arn),
            key_arn=self._export("DataKeyArn", self.key.key_arn),
            runs_table_name=self._export("RunsTableName", self.runs_table.table_name),
            runs_table_arn=self._export("RunsTableArn", self.runs_table.table_arn),
        )

    def _data_bucket(self, logical_id: str, removal: cdk.RemovalPolicy, *, access_log_prefix: str) -> s3.Bucket:
        """A bucket of user data: encrypted with the data key, access-logged under its own prefix."""
        return secure_bucket(
            self,
            logical_id,
            removal_policy=removal,
            encryption_key=self.key,
            access_log_bucket=self.access_log_bucket,
            access_log_prefix=access_log_prefix,
        )

    def _export(self, name: str, value: str) -> str:
        return self.export_value(value, name=f"{self.stack_name}-{name}")

    def _let_alarms_publish_to_encrypted_topics(self, key: kms.Key) -> None:
        # CloudWatch alarm actions publish to the notification topic, which this key encrypts; the service needs
        # the key for that (SNS developer guide, "Enable compatibility between event sources and encrypted topics").
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],  # in a key policy "*" means this key only
                conditions={"StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID}},
            )
        )

    def _let_logs_encrypt_pipeline_log_groups(self, key: kms.Key, pipeline_stack: str) -> None:
        # The pipeline stack's log groups are encrypted with this key (CloudWatch Logs user guide, "Encrypt log data
        # in CloudWatch Logs using AWS KMS"). The encryption-context condition bounds the grant to log groups of
        # this account and region whose names start with the pipeline stack's name, which CloudFormation puts first
        # in the names it generates (the log groups are unnamed, so a redeployed stack never collides with a
        # retained group).
        log_groups = self.format_arn(
            service="logs",
            resource="log-group",
            resource_name=f"{pipeline_stack}-*",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchLogsOfThePipeline",
                principals=[iam.ServicePrincipal(f"logs.{cdk.Aws.REGION}.amazonaws.com")],
                # The guide's Encrypt*, Decrypt*, ReEncrypt*, GenerateDataKey*, Describe* spelled out (symmetric key).
                actions=[
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncryptFrom",
                    "kms:ReEncryptTo",
                    "kms:GenerateDataKey",
                    "kms:GenerateDataKeyWithoutPlaintext",
                    "kms:DescribeKey",
                ],
                resources=["*"],  # in a key policy "*" means this key only
                conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}},
            )
        )


def _string_attribute(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)
