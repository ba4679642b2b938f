"""S3 URIs (pure)."""

from __future__ import annotations

from novaft.errors import UsageError


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> ``(bucket, key)``."""
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise UsageError(f"{uri!r} is not an s3://bucket/key URI")
    bucket, key = uri[5:].split("/", 1)
    if not bucket or not key:
        raise UsageError(f"{uri!r} is not an s3://bucket/key URI")
    return bucket, key
