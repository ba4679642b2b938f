"""Read the checkpoint location out of a finished Nova training job's ``output.tar.gz``.

Nova jobs write no weights to the customer's bucket: the checkpoint stays in an AWS-managed escrow bucket and the
job's output path only receives ``<output>/<job>/output/output.tar.gz`` holding ``manifest.json`` with
``checkpoint_s3_bucket`` (SageMaker Developer Guide, "Iterative training" for Nova:
https://docs.aws.amazon.com/sagemaker/latest/dg/nova-iterative-training.html).
"""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass
from typing import Any

from novaft.pipeline.errors import ManifestUnreadable
from novaft.pipeline.facts import OUTPUT_MANIFEST_FILE
from novaft.pipeline.json_object import json_object

CHECKPOINT_KEY = "checkpoint_s3_bucket"
# A manifest is a few hundred bytes; refuse to inflate anything large (a corrupt or unexpected archive).
MAX_MANIFEST_BYTES = 1024 * 1024


@dataclass(frozen=True)
class OutputManifest:
    checkpoint_s3_uri: str
    fields: dict[str, Any]


def output_archive_key(output_prefix: str, job_name: str) -> str:
    """Key of ``output.tar.gz`` given the OutputDataConfig prefix inside the bucket (``runs/<id>/output/``)."""
    return f"{output_prefix.rstrip('/')}/{job_name}/output/output.tar.gz"


def read_output_manifest(archive: bytes, *, source: str = OUTPUT_MANIFEST_FILE) -> OutputManifest:
    """Parse ``manifest.json`` (at any depth) from the archive bytes; ``source`` names the archive in errors."""
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:*") as tar:
            member = next(
                (m for m in tar.getmembers() if m.isfile() and m.name.rsplit("/", 1)[-1] == OUTPUT_MANIFEST_FILE), None
            )
            if member is None:
                raise ManifestUnreadable(f"{source}: no {OUTPUT_MANIFEST_FILE} in the archive")
            if member.size > MAX_MANIFEST_BYTES:
                raise ManifestUnreadable(
                    f"{source}: {OUTPUT_MANIFEST_FILE} is {member.size} bytes, expected a small file"
                )
            extracted = tar.extractfile(member)
            raw = extracted.read() if extracted else b""
    except (tarfile.TarError, OSError, EOFError) as error:
        raise ManifestUnreadable(f"{source}: not a readable tar.gz archive ({error})") from None
    fields = json_object(
        raw,
        not_json=lambda error: ManifestUnreadable(f"{source}: {OUTPUT_MANIFEST_FILE} is not valid JSON ({error})"),
        not_object=lambda _found: ManifestUnreadable(f"{source}: {OUTPUT_MANIFEST_FILE} is not a JSON object"),
    )
    checkpoint = fields.get(CHECKPOINT_KEY)
    if not isinstance(checkpoint, str) or not checkpoint.startswith("s3://"):
        raise ManifestUnreadable(
            f"{source}: {OUTPUT_MANIFEST_FILE} field {CHECKPOINT_KEY} should be an s3:// URI, got {checkpoint!r}"
        )
    return OutputManifest(checkpoint_s3_uri=checkpoint, fields=fields)
