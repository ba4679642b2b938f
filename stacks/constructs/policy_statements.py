"""IAM statement shapes the training role and the function roles share: the data key, and a prefix of a bucket."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import IConstruct

# What a principal needs to read and write through a service that encrypts with the key (S3 SSE-KMS, DynamoDB,
# SNS): GenerateDataKey to write, Decrypt to read, DescribeKey for the key's metadata. No kms:Encrypt: these
# services encrypt with data keys (envelope encryption) and never call Encrypt for the caller.
DATA_KEY_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
# The SageMaker execution role is the exception: CreateTrainingJob API reference, OutputDataConfig.KmsKeyId: "the
# SageMaker execution role must include permissions to call kms:Encrypt".
TRAINING_OUTPUT_KEY_ACTIONS = [*DATA_KEY_ACTIONS, "kms:Encrypt"]


@dataclass(frozen=True)
class RunStorage:
    """Where a stage keeps run data: uploads under ``incoming_prefix`` of the datasets bucket, one folder per run under
    ``runs_prefix`` of the artifacts bucket, both encrypted with the data key. The roles that touch it take it whole."""

    datasets_bucket: s3.IBucket
    artifacts_bucket: s3.IBucket
    key: kms.IKey
    incoming_prefix: str
    runs_prefix: str


class KeyUser(StrEnum):
    """The AWS services through which novaft's principals use the data key (the ``kms:ViaService`` values)."""

    S3 = "s3"
    DYNAMODB = "dynamodb"
    SNS = "sns"
    SAGEMAKER = "sagemaker"


def via_service(service: KeyUser) -> str:
    """The ``kms:ViaService`` value of ``service`` in the stack's region, e.g. ``s3.us-east-1.amazonaws.com``."""
    return f"{service}.{cdk.Aws.REGION}.amazonaws.com"


def use_data_key(
    key: kms.IKey,
    *,
    via: Sequence[KeyUser],
    actions: Sequence[str] = DATA_KEY_ACTIONS,
    sid: str | None = None,
) -> iam.PolicyStatement:
    """The key, only when one of ``via`` uses it on the principal's behalf (never a direct KMS call)."""
    return iam.PolicyStatement(
        sid=sid,
        actions=list(actions),
        resources=[key.key_arn],
        conditions={"StringEquals": {"kms:ViaService": [via_service(service) for service in via]}},
    )


def training_job_data_key(key: kms.IKey, *, sid: str | None = None) -> iam.PolicyStatement:
    """The training role's use of the key: reading the dataset and writing the output through S3, and SageMaker
    encrypting the job output with it (``OutputDataConfig.KmsKeyId``)."""
    return use_data_key(key, via=(KeyUser.S3, KeyUser.SAGEMAKER), actions=TRAINING_OUTPUT_KEY_ACTIONS, sid=sid)


def training_job_arn_pattern(scope: IConstruct, job_name_prefix: str) -> str:
    """Every SageMaker training job named ``<job_name_prefix>*`` in the stack's account and region (an ARN pattern)."""
    return cdk.Stack.of(scope).format_arn(
        service="sagemaker", resource="training-job", resource_name=f"{job_name_prefix}*"
    )


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
