from pathlib import Path

import pytest

from novaft.operator.errors import SubmitConflict
from novaft.operator.submission import check_no_stale_companions, plan_uploads


@pytest.mark.parametrize(
    ("validation", "job", "expected_files"),
    [
        (None, None, ["train.jsonl"]),
        (Path("v.jsonl"), None, ["validation.jsonl", "train.jsonl"]),
        (Path("v.jsonl"), Path("j.yaml"), ["validation.jsonl", "job.yaml", "train.jsonl"]),
        (None, Path("j.yaml"), ["job.yaml", "train.jsonl"]),
    ],
)
def test_train_is_uploaded_last_under_the_run_folder(
    validation: Path | None, job: Path | None, expected_files: list[str]
) -> None:
    uploads = plan_uploads(
        incoming_prefix="incoming/", run_name="r", train=Path("t.jsonl"), validation=validation, job=job
    )
    assert [upload.key for upload in uploads] == [f"incoming/r/{name}" for name in expected_files]


def test_stale_companions_from_an_earlier_submission_are_refused() -> None:
    uploads = plan_uploads(incoming_prefix="incoming/", run_name="r", train=Path("t"), validation=None, job=Path("j"))
    existing = ["incoming/r/train.jsonl", "incoming/r/job.yaml", "incoming/r/validation.jsonl"]
    with pytest.raises(SubmitConflict, match=r"s3://b/incoming/r/validation.jsonl from an earlier submission"):
        check_no_stale_companions(bucket="b", run_name="r", existing_keys=existing, uploads=uploads)


def test_files_this_submission_replaces_are_not_a_conflict() -> None:
    uploads = plan_uploads(
        incoming_prefix="incoming/", run_name="r", train=Path("t"), validation=Path("v"), job=Path("j")
    )
    existing = ["incoming/r/train.jsonl", "incoming/r/job.yaml", "incoming/r/validation.jsonl"]
    check_no_stale_companions(bucket="b", run_name="r", existing_keys=existing, uploads=uploads)
