from __future__ import annotations

import orjson
import pytest

from novaft.pipeline.errors import ManifestUnreadable
from novaft.pipeline.manifest import output_archive_key, read_output_manifest
from tests.unit.archives import tar_archive

ESCROW = "s3://customer-escrow-111122223333-smtj-abc/job-1/stepID"


@pytest.mark.parametrize(
    "members",
    [
        {"manifest.json": orjson.dumps({"checkpoint_s3_bucket": ESCROW})},
        {"output/manifest.json": orjson.dumps({"checkpoint_s3_bucket": ESCROW, "other": 1})},
        {"README": b"x", "./manifest.json": orjson.dumps({"checkpoint_s3_bucket": ESCROW})},
    ],
)
def test_read_output_manifest_finds_the_checkpoint(members: dict[str, bytes]) -> None:
    assert read_output_manifest(tar_archive(members)).checkpoint_s3_uri == ESCROW


@pytest.mark.parametrize(
    ("archive", "message_part"),
    [
        (b"not an archive", "not a readable tar.gz"),
        (tar_archive({"other.json": b"{}"}), "no manifest.json"),
        (tar_archive({"manifest.json": b"{oops"}), "not valid JSON"),
        (tar_archive({"manifest.json": b"[1]"}), "not a JSON object"),
        (
            tar_archive({"manifest.json": b'{"checkpoint_s3_bucket": "bucket-without-scheme"}'}),
            "should be an s3:// URI",
        ),
        (tar_archive({"manifest.json": b"{}"}), "checkpoint_s3_bucket"),
    ],
)
def test_read_output_manifest_names_what_is_wrong(archive: bytes, message_part: str) -> None:
    with pytest.raises(ManifestUnreadable, match=message_part) as caught:
        read_output_manifest(archive, source="s3://a/out.tar.gz")
    assert str(caught.value).startswith("s3://a/out.tar.gz")


def test_output_archive_key_follows_sagemaker_output_layout() -> None:
    assert output_archive_key("runs/r-1/output/", "job-1") == "runs/r-1/output/job-1/output/output.tar.gz"
