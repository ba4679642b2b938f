"""IAM statement shapes the training role and the function roles share: the data key, and a prefix of a bucket."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

# SSE-KMS objects and the runs table need all four: read (Decrypt), write (GenerateDataKey, Encrypt), and the key's
# metadata the SDKs ask for (DescribeKey).
DATA_KEY_ACTIONS = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]


def use_data_key(key: kms.IKey, *, sid: str | None = None) -> iam.PolicyStatement:
    return iam.PolicyStatement(sid=sid, actions=DATA_KEY_ACTIONS, resources=[key.key_arn])


def prefix_objects(bucket: s3.IBucket, prefix: str) -> str:
    """The ARN pattern of every object under ``prefix``: the one wildcard resource the bucket grants use."""
    return bucket.arn_for_objects(f"{prefix}*")


def on_prefix_objects(
    bucket: s3.IBucket, prefix: str, actions: list[str], *, sid: str | None = None
) -> iam.PolicyStatement:
    return iam.PolicyStatement(sid=sid, actions=actions, resources=[prefix_objects(bucket, prefix)])


def list_prefix(bucket: s3.IBucket, prefix: str, *, sid: str | None = None) -> iam.PolicyStatement:
    """s3:ListBucket limited to keys under ``prefix`` (the condition bounds what a listing may return)."""
    return iam.PolicyStatement(
        sid=sid,
        actions=["s3:ListBucket"],
        resources=[bucket.bucket_arn],
        conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}},
    )
