"""Checks on a media block's ``source``: an ``s3://`` URI with safe characters, in the dataset's bucket when known."""

from __future__ import annotations

import re
from typing import Any

from novaft.validation.issues import Code, show_value

# The AWS sample validators allow only word characters, '-', '/' and '.' after ``s3://`` (stricter than S3 itself).
_URI_BODY = re.compile(r"^[\w\-/\.]+$")

Finding = tuple[str, str, str]  # code, path, message


def check_media_source(
    block: Any, path: str, dataset_bucket: str | None, media_prefix: str | None = None
) -> list[Finding]:
    """Findings for ``{"source": {"s3Location": {"uri": ..., "bucketOwner": ...}}}`` at ``path`` (the media block).

    With ``dataset_bucket`` known the media must be in it [Nova user guide: media in the same bucket as the data];
    with ``media_prefix`` too, under that prefix, since the training job can read only there.
    """
    source = block.get("source") if isinstance(block, dict) else None
    location = source.get("s3Location") if isinstance(source, dict) else None
    uri = location.get("uri") if isinstance(location, dict) else None
    if not isinstance(uri, str):
        return [
            (
                Code.MEDIA_SOURCE_INVALID,
                f"{path}.source",
                'media needs "source": {"s3Location": {"uri": "s3://<bucket>/<key>", "bucketOwner": "<account id>"}}',
            )
        ]
    uri_path = f"{path}.source.s3Location.uri"
    if not uri.startswith("s3://"):
        return [(Code.MEDIA_URI_NOT_S3, uri_path, f"uri {show_value(uri)} must start with 's3://'")]
    body = uri[5:]
    findings: list[Finding] = []
    if not _URI_BODY.match(body):
        findings.append(
            (
                Code.MEDIA_URI_CHARACTERS,
                uri_path,
                f"uri {show_value(uri)} may only contain letters, digits, '_', '-', '/' and '.' after 's3://'",
            )
        )
    bucket, _, key = body.partition("/")
    if dataset_bucket is not None and bucket != dataset_bucket:
        findings.append(
            (
                Code.MEDIA_BUCKET_MISMATCH,
                uri_path,
                f"media must be in the dataset's bucket '{dataset_bucket}', this uri is in bucket '{bucket}'",
            )
        )
    elif dataset_bucket is not None and media_prefix and not key.startswith(media_prefix):
        findings.append(
            (
                Code.MEDIA_OUTSIDE_PREFIX,
                uri_path,
                f"media must be under s3://{dataset_bucket}/{media_prefix} (the training job reads only there); "
                f"this uri is {show_value(uri)}",
            )
        )
    return findings
