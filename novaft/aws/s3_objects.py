"""S3 objects: streaming reads, small writes (JSON, text, bytes), uploads from disk and listings."""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO, cast

import orjson
from botocore.exceptions import ClientError

from novaft.aws.errors import ObjectNotFound, is_not_found
from novaft.errors import UsageError


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> ``(bucket, key)``."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not uri.startswith("s3://") or not bucket or not key:
        raise UsageError(f"{uri!r} is not an s3://bucket/key URI")
    return bucket, key


class S3Objects:
    def __init__(self, s3: Any) -> None:
        self._s3 = s3

    def open(self, bucket: str, key: str, version_id: str | None = None) -> BinaryIO:
        """A streaming body of the object (read in chunks; the whole object is never held in memory)."""
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version_id:
            kwargs["VersionId"] = version_id
        try:
            response = self._s3.get_object(**kwargs)
        except ClientError as error:
            if is_not_found(error):
                raise ObjectNotFound(f"{s3_uri(bucket, key)} does not exist (or the version is gone)") from None
            raise
        return cast(BinaryIO, response["Body"])

    def read_bytes(self, bucket: str, key: str, version_id: str | None = None) -> bytes:
        """The whole object; only for small objects (job.yaml, output.tar.gz, reports)."""
        body = self.open(bucket, key, version_id)
        try:
            return body.read()
        finally:
            body.close()

    def exists(self, bucket: str, key: str) -> bool:
        """Whether ``key`` exists, asked as a listing with the key as prefix.

        A HeadObject on a missing key answers 404 only to callers allowed ``s3:ListBucket`` for that request, and
        the functions' ListBucket grant is bounded by an ``s3:prefix`` condition that a HeadObject request does not
        carry: S3 would answer 403. A listing carries the prefix, and the exact key sorts before any longer key
        sharing it.
        """
        listing = self._s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
        return any(entry.get("Key") == key for entry in listing.get("Contents", []))

    def keys_under(self, bucket: str, prefix: str) -> list[str]:
        keys: list[str] = []
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        return keys

    def put_bytes(self, bucket: str, key: str, body: bytes, content_type: str) -> str:
        """Write an object (the bucket's default encryption applies) and return its s3:// URI."""
        self._s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
        return s3_uri(bucket, key)

    def put_json(self, bucket: str, key: str, document: Any) -> str:
        return self.put_bytes(bucket, key, orjson.dumps(document, option=orjson.OPT_INDENT_2), "application/json")

    def put_text(self, bucket: str, key: str, text: str, content_type: str = "text/plain; charset=utf-8") -> str:
        return self.put_bytes(bucket, key, text.encode("utf-8"), content_type)

    def upload_file(self, path: Path, bucket: str, key: str) -> None:
        # upload_file switches to multipart for large files, so multi-GB datasets stream from disk.
        self._s3.upload_file(str(path), bucket, key)
