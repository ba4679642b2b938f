"""The S3 adapter's existence check: a prefix listing, so the functions' prefix-bounded ListBucket grant suffices."""

from __future__ import annotations

import pytest

from novaft.aws.s3_objects import S3Objects
from tests.handlers.conftest import DATASETS_BUCKET, Aws


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
