"""S3 objects: streaming reads, small writes (JSON, text, bytes), uploads from disk and listings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, cast

import orjson

from novaft.aws.errors import ObjectNotFound, missing_as
from novaft.errors import UsageError
from novaft.pipeline.contracts import PinnedObject

# HeadObject's checksum fields (with ChecksumMode ENABLED); an object has at most one.
_CHECKSUM_FIELDS = (
    "ChecksumCRC64NVME",
    "ChecksumCRC32",
    "ChecksumCRC32C",
    "ChecksumSHA1",
    "ChecksumSHA256",
)
# CopyObject copies at most 5 GB in one request (S3 CopyObject API reference); larger objects go in parts.
_SINGLE_COPY_MAX_BYTES = 5 * 1000**3
_COPY_PART_BYTES = 512 * 1024**2


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
        response = self._version_request(self._s3.get_object, bucket, key, version_id)
        return cast(BinaryIO, response["Body"])

    @staticmethod
    def _version_request(
        operation: Callable[..., dict[str, Any]], bucket: str, key: str, version_id: str | None, **extra: Any
    ) -> dict[str, Any]:
        """GetObject or HeadObject of the version (the current one when ``version_id`` is None)."""
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key, **extra}
        if version_id:
            kwargs["VersionId"] = version_id
        with missing_as(ObjectNotFound(f"{s3_uri(bucket, key)} does not exist (or the version is gone)")):
            return operation(**kwargs)

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

    def head(self, bucket: str, key: str, version_id: str | None = None) -> PinnedObject:
        """HeadObject of the version (the current one when ``version_id`` is None), with its checksum if S3 keeps one.

        Only for keys known to exist (the event's, or a listing's): for a missing key the functions' roles get 403,
        not 404 (see ``exists``).
        """
        response = self._version_request(self._s3.head_object, bucket, key, version_id, ChecksumMode="ENABLED")
        checksum = next(
            (f"{name.removeprefix('Checksum')}:{response[name]}" for name in _CHECKSUM_FIELDS if response.get(name)),
            None,
        )
        return PinnedObject(
            key=key,
            version_id=response.get("VersionId") or version_id,
            etag=str(response.get("ETag", "")).strip('"'),
            size=int(response.get("ContentLength", 0)),
            checksum=checksum,
        )

    def copy_version(
        self, source_bucket: str, source: PinnedObject, bucket: str, key: str, *, kms_key_arn: str | None
    ) -> str:
        """Server-side copy of exactly that version. boto3's managed copy uses one CopyObject up to the threshold and
        UploadPartCopy above it (CopyObject stops at 5 GB)."""
        from boto3.s3.transfer import TransferConfig

        copy_source: dict[str, str] = {"Bucket": source_bucket, "Key": source.key}
        if source.version_id:
            copy_source["VersionId"] = source.version_id
        extra: dict[str, str] = {}
        if kms_key_arn:
            extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_arn}
        config = TransferConfig(multipart_threshold=_SINGLE_COPY_MAX_BYTES, multipart_chunksize=_COPY_PART_BYTES)
        with missing_as(ObjectNotFound(f"{s3_uri(source_bucket, source.key)} version {source.version_id} is gone")):
            self._s3.copy(copy_source, bucket, key, ExtraArgs=extra, Config=config)
        return s3_uri(bucket, key)

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
