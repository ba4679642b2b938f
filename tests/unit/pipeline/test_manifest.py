from __future__ import annotations

import io
import tarfile

import orjson
import pytest

from novaft.pipeline.errors import ManifestUnreadable
from novaft.pipeline.manifest import output_archive_key, read_output_manifest

ESCROW = "s3://customer-escrow-111122223333-smtj-abc/job-1/stepID"


def _archive(members: dict[str, bytes], mode: str = "w:gz") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as tar:  # type: ignore[call-overload]
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.mark.parametrize(
    "members",
    [
        {"manifest.json": orjson.dumps({"checkpoint_s3_bucket": ESCROW})},
        {"output/manifest.json": orjson.dumps({"checkpoint_s3_bucket": ESCROW, "other": 1})},
        {"README": b"x", "./manifest.json": orjson.dumps({"checkpoint_s3_bucket": ESCROW})},
    ],
)
def test_read_output_manifest_finds_the_checkpoint(members: dict[str, bytes]) -> None:
    assert read_output_manifest(_archive(members)).checkpoint_s3_uri == ESCROW


@pytest.mark.parametrize(
    ("archive", "message_part"),
    [
        (b"not an archive", "not a readable tar.gz"),
        (_archive({"other.json": b"{}"}), "no manifest.json"),
        (_archive({"manifest.json": b"{oops"}), "not valid JSON"),
        (_archive({"manifest.json": b"[1]"}), "not a JSON object"),
        (_archive({"manifest.json": b'{"checkpoint_s3_bucket": "bucket-without-scheme"}'}), "should be an s3:// URI"),
        (_archive({"manifest.json": b"{}"}), "checkpoint_s3_bucket"),
    ],
)
def test_read_output_manifest_names_what_is_wrong(archive: bytes, message_part: str) -> None:
    with pytest.raises(ManifestUnreadable, match=message_part) as caught:
        read_output_manifest(archive, source="s3://a/out.tar.gz")
    assert str(caught.value).startswith("s3://a/out.tar.gz")


def test_output_archive_key_follows_sagemaker_output_layout() -> None:
    assert output_archive_key("runs/r-1/output/", "job-1") == "runs/r-1/output/job-1/output/output.tar.gz"
