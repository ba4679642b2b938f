"""S3 calls the operator needs: upload a file, list what a folder holds, read a small JSON object."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError


class StorageAdapter:
    def __init__(self, s3: Any) -> None:
        self._s3 = s3

    def upload(self, path: Path, bucket: str, key: str) -> None:
        # upload_file switches to multipart for large files, so multi-GB datasets stream from disk.
        self._s3.upload_file(str(path), bucket, key)

    def keys_under(self, bucket: str, prefix: str) -> list[str]:
        keys: list[str] = []
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        return keys

    def read_json(self, bucket: str, key: str) -> Any | None:
        """The parsed object, or None when it does not exist."""
        try:
            body = self._s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404", "NotFound"}:
                return None
            raise
        return json.loads(body)
