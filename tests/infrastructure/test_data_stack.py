"""The stateful stack: bucket hardening, table protection, key rotation and logical IDs that never change."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match

from tests.infrastructure.conftest import SynthesizedApp
from tests.runs_table_schema import GLOBAL_SECONDARY_INDEXES, KEY_SCHEMA

KMS_BUCKETS = ["DatasetsBucket", "ArtifactsBucket"]
ALL_BUCKETS = [*KMS_BUCKETS, "AccessLogBucket"]


@pytest.mark.parametrize(
    ("logical_id", "resource_type"),
    [
        ("DatasetsBucket", "AWS::S3::Bucket"),
        ("ArtifactsBucket", "AWS::S3::Bucket"),
        ("AccessLogBucket", "AWS::S3::Bucket"),
        ("RunsTable", "AWS::DynamoDB::GlobalTable"),
        ("DataKey", "AWS::KMS::Key"),
    ],
)
def test_stateful_resources_keep_their_logical_ids(
    synthesized: SynthesizedApp, logical_id: str, resource_type: str
) -> None:
    resources = synthesized.template_dict("Data")["Resources"]
    assert resources[logical_id]["Type"] == resource_type
    assert resources[logical_id]["DeletionPolicy"] == "Retain"


@pytest.mark.parametrize("logical_id", ALL_BUCKETS)
def test_buckets_block_public_access_and_keep_versions(synthesized: SynthesizedApp, logical_id: str) -> None:
    properties = synthesized.template_dict("Data")["Resources"][logical_id]["Properties"]
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}


@pytest.mark.parametrize(
    ("logical_id", "algorithm"),
    [("DatasetsBucket", "aws:kms"), ("ArtifactsBucket", "aws:kms"), ("AccessLogBucket", "AES256")],
)
def test_bucket_encryption(synthesized: SynthesizedApp, logical_id: str, algorithm: str) -> None:
    properties = synthesized.template_dict("Data")["Resources"][logical_id]["Properties"]
    default = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert default["SSEAlgorithm"] == algorithm
    if algorithm == "aws:kms":
        assert default["KMSMasterKeyID"] == {"Fn::GetAtt": ["DataKey", "Arn"]}


@pytest.mark.parametrize(("logical_id", "prefix"), [("DatasetsBucket", "datasets/"), ("ArtifactsBucket", "artifacts/")])
def test_data_buckets_write_access_logs(synthesized: SynthesizedApp, logical_id: str, prefix: str) -> None:
    properties = synthesized.template_dict("Data")["Resources"][logical_id]["Properties"]
    assert properties["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": "AccessLogBucket"},
        "LogFilePrefix": prefix,
    }


@pytest.mark.parametrize("logical_id", ALL_BUCKETS)
def test_bucket_policies_deny_plain_http(synthesized: SynthesizedApp, logical_id: str) -> None:
    synthesized.data.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": logical_id},
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Action": "s3:*",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            },
        },
    )


def test_datasets_bucket_sends_events_to_eventbridge(synthesized: SynthesizedApp) -> None:
    properties = synthesized.template_dict("Data")["Resources"]["DatasetsBucket"]["Properties"]
    assert properties["NotificationConfiguration"] == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}


def test_no_custom_resource_lambda_for_notifications(synthesized: SynthesizedApp) -> None:
    synthesized.data.resource_count_is("AWS::Lambda::Function", 0)
    synthesized.data.resource_count_is("Custom::S3BucketNotifications", 0)


def test_runs_table_contract(synthesized: SynthesizedApp) -> None:
    # The schema the moto-backed tests create their table from (tests/runs_table_schema.py) is the deployed one.
    synthesized.data.has_resource_properties(
        "AWS::DynamoDB::GlobalTable",
        {
            "KeySchema": KEY_SCHEMA,
            "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS"},
            "Replicas": [
                Match.object_like(
                    {
                        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                        "SSESpecification": {"KMSMasterKeyId": {"Fn::GetAtt": ["DataKey", "Arn"]}},
                        "DeletionProtectionEnabled": True,
                    }
                )
            ],
            "GlobalSecondaryIndexes": Match.array_with(
                [Match.object_like(index) for index in GLOBAL_SECONDARY_INDEXES]
            ),
        },
    )


def test_key_rotates(synthesized: SynthesizedApp) -> None:
    synthesized.data.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
