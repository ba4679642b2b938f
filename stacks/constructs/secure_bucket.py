"""House defaults for every novaft bucket: TLS only, no public access, versioned, access-logged, encrypted."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct


def secure_bucket(
    scope: Construct,
    construct_id: str,
    *,
    removal_policy: cdk.RemovalPolicy,
    encryption_key: kms.IKey | None,
    access_log_bucket: s3.IBucket | None,
    access_log_prefix: str | None = None,
) -> s3.Bucket:
    """A bucket with the house defaults; a ``None`` key means S3-managed encryption (only the access-log bucket).

    The bucket is created directly in ``scope`` and its logical ID is pinned to ``construct_id``, so refactoring the
    code never replaces a bucket that holds user data.
    """
    bucket = s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.KMS if encryption_key else s3.BucketEncryption.S3_MANAGED,
        encryption_key=encryption_key,
        # S3 Bucket Keys cut KMS requests (and cost) for the many small objects of a run by about 99%.
        bucket_key_enabled=bool(encryption_key),
        enforce_ssl=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        versioned=True,
        server_access_logs_bucket=access_log_bucket,
        server_access_logs_prefix=access_log_prefix,
        removal_policy=removal_policy,
    )
    _pin_logical_id(bucket, construct_id)
    if encryption_key:
        for statement in deny_other_encryption(bucket, encryption_key):
            bucket.add_to_resource_policy(statement)
    return bucket


def deny_other_encryption(bucket: s3.IBucket, key: kms.IKey) -> list[iam.PolicyStatement]:
    """Refuse writes that ask for any encryption but SSE-KMS with ``key`` (S3 user guide, "Requiring server-side
    encryption with AWS KMS keys").

    Both conditions require the header to be present (``Null: false``): a write without encryption headers gets the
    bucket's default encryption, which is ``key``, so ``novaft submit`` and the functions send none; SageMaker sends
    ``aws:kms`` with the key ARN given as the job's ``OutputDataConfig.KmsKeyId``.
    """
    objects = bucket.arn_for_objects("*")
    return [
        _deny_puts_whose_header_differs(
            "DenyOtherEncryption", objects, header="s3:x-amz-server-side-encryption", expected="aws:kms"
        ),
        _deny_puts_whose_header_differs(
            "DenyOtherKeys", objects, header="s3:x-amz-server-side-encryption-aws-kms-key-id", expected=key.key_arn
        ),
    ]


def _deny_puts_whose_header_differs(sid: str, objects: str, *, header: str, expected: str) -> iam.PolicyStatement:
    """Deny a PutObject that sends ``header`` with any value but ``expected`` (a write without it is not refused)."""
    return iam.PolicyStatement(
        sid=sid,
        effect=iam.Effect.DENY,
        principals=[iam.AnyPrincipal()],
        actions=["s3:PutObject"],
        resources=[objects],
        conditions={"StringNotEquals": {header: expected}, "Null": {header: "false"}},
    )


def _pin_logical_id(bucket: s3.Bucket, logical_id: str) -> None:
    cfn_bucket = bucket.node.default_child
    assert isinstance(cfn_bucket, s3.CfnBucket)
    cfn_bucket.override_logical_id(logical_id)
