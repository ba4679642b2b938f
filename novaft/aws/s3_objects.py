"""S3 reads as binary streams and small writes (JSON, text, bytes)."""

from __future__ import annotations

from typing import Any, BinaryIO, cast

import orjson
from botocore.exceptions import ClientError

from novaft.aws.clients import client
from novaft.errors import InputFileError

_MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchVersion"})


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def open_object(bucket: str, key: str, version_id: str | None = None) -> BinaryIO:
    """A streaming body of the object (read in chunks; the whole object is never held in memory)."""
    kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version_id:
        kwargs["VersionId"] = version_id
    try:
        response = client("s3").get_object(**kwargs)
    except ClientError as error:
        if _error_code(error) in _MISSING_CODES:
            raise InputFileError(f"{s3_uri(bucket, key)} does not exist (or the version is gone)") from None
        raise
    return cast(BinaryIO, response["Body"])


def read_bytes(bucket: str, key: str, version_id: str | None = None) -> bytes:
    """The whole object; only for small objects (job.yaml, output.tar.gz)."""
    body = open_object(bucket, key, version_id)
    try:
        return body.read()
    finally:
        body.close()


def object_exists(bucket: str, key: str) -> bool:
    """Whether ``key`` exists, asked as a listing with the key as prefix.

    A HeadObject on a missing key answers 404 only to callers allowed ``s3:ListBucket`` for that request, and the
    functions' ListBucket grant is bounded by an ``s3:prefix`` condition that a HeadObject request does not carry:
    S3 would answer 403. A listing carries the prefix, and the exact key sorts before any longer key sharing it.
    """
    listing = client("s3").list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
    return any(entry.get("Key") == key for entry in listing.get("Contents", []))


def put_bytes(bucket: str, key: str, body: bytes, content_type: str) -> str:
    """Write an object (the bucket's default encryption applies) and return its s3:// URI."""
    client("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
    return s3_uri(bucket, key)


def put_json(bucket: str, key: str, document: Any) -> str:
    return put_bytes(bucket, key, orjson.dumps(document, option=orjson.OPT_INDENT_2), "application/json")


def put_text(bucket: str, key: str, text: str, content_type: str = "text/plain; charset=utf-8") -> str:
    return put_bytes(bucket, key, text.encode("utf-8"), content_type)


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
