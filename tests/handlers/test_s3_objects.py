"""The S3 adapter: an existence check by prefix listing (the functions' prefix-bounded ListBucket grant suffices),
version pinning with HeadObject, and server-side copies of one version."""

from __future__ import annotations

import pytest

from novaft.aws.s3_objects import S3Objects
from tests.handlers.conftest import ARTIFACTS_BUCKET, DATASETS_BUCKET, Aws


@pytest.mark.parametrize(
    ("stored", "asked", "exists"),
    [
        (["incoming/run/job.yaml"], "incoming/run/job.yaml", True),
        ([], "incoming/run/job.yaml", False),
        # a longer key sharing the prefix is not the file asked for
        (["incoming/run/job.yaml.bak"], "incoming/run/job.yaml", False),
        (["incoming/run/job.yaml", "incoming/run/job.yaml.bak"], "incoming/run/job.yaml", True),
    ],
)
def test_object_exists_is_exact(aws: Aws, stored: list[str], asked: str, exists: bool) -> None:
    for key in stored:
        aws.s3.put_object(Bucket=DATASETS_BUCKET, Key=key, Body=b"x")
    assert S3Objects(aws.s3).exists(DATASETS_BUCKET, asked) is exists


def test_head_pins_the_asked_version_with_its_checksum(aws: Aws) -> None:
    first = aws.upload("incoming/demo/train.jsonl", b"first\n")
    aws.upload("incoming/demo/train.jsonl", b"second, longer\n")
    objects = S3Objects(aws.s3)

    pinned = objects.head(DATASETS_BUCKET, "incoming/demo/train.jsonl", first)
    current = objects.head(DATASETS_BUCKET, "incoming/demo/train.jsonl")

    assert (pinned.version_id, pinned.size) == (first, len(b"first\n"))
    assert pinned.checksum is not None and pinned.checksum.startswith("CRC32:")
    assert current.version_id != first and current.size == len(b"second, longer\n")
    assert current.checksum != pinned.checksum and '"' not in current.etag


def test_head_of_a_version_that_is_gone_is_object_not_found(aws: Aws) -> None:
    from novaft.aws.errors import ObjectNotFound

    aws.upload("incoming/demo/train.jsonl", b"x")
    with pytest.raises(ObjectNotFound, match=r"incoming/demo/train\.jsonl"):
        S3Objects(aws.s3).head(DATASETS_BUCKET, "incoming/demo/train.jsonl", "no-such-version")


def test_copy_version_copies_exactly_that_version_encrypted_with_the_given_key(aws: Aws) -> None:
    key_arn = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    first = aws.upload("incoming/demo/train.jsonl", b"validated\n")
    aws.upload("incoming/demo/train.jsonl", b"swapped in later\n")
    objects = S3Objects(aws.s3)
    source = objects.head(DATASETS_BUCKET, "incoming/demo/train.jsonl", first)

    uri = objects.copy_version(
        DATASETS_BUCKET, source, ARTIFACTS_BUCKET, "runs/r/input/train.jsonl", kms_key_arn=key_arn
    )

    assert uri == f"s3://{ARTIFACTS_BUCKET}/runs/r/input/train.jsonl"
    copy = aws.s3.get_object(Bucket=ARTIFACTS_BUCKET, Key="runs/r/input/train.jsonl")
    assert copy["Body"].read() == b"validated\n"
    assert (copy["ServerSideEncryption"], copy["SSEKMSKeyId"]) == ("aws:kms", key_arn)
