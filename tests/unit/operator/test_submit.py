"""What submit does before uploading: the run name, and which files go where in which order."""

from pathlib import Path

import pytest

from novaft.errors import UsageError
from novaft.operator.errors import SubmitConflict
from novaft.operator.submit import check_no_stale_companions, plan_uploads, run_name_for
from novaft.pipeline.facts import JOB_FILE, TRAIN_FILE, VALIDATION_FILE


@pytest.mark.parametrize(
    ("data_file", "expected"),
    [
        ("data/train.jsonl", "train"),
        ("My Data_v2.jsonl", "my-data-v2"),
        ("a" * 60 + ".jsonl", "a" * 40),
        ("--weird..name--.jsonl", "weird-name"),
    ],
)
def test_run_name_defaults_to_the_sanitized_file_stem(data_file: str, expected: str) -> None:
    assert run_name_for(data_file, None) == expected


def test_a_clean_requested_name_is_kept() -> None:
    assert run_name_for("x.jsonl", "exp-7") == "exp-7"


@pytest.mark.parametrize(("requested", "suggestion"), [("Exp_7", "exp-7"), ("a--b", "a-b"), ("x" * 41, "x" * 40)])
def test_a_name_the_pipeline_would_change_is_refused_with_a_suggestion(requested: str, suggestion: str) -> None:
    with pytest.raises(UsageError, match=f"--run '{requested}' is not a valid run name.*'{suggestion}'"):
        run_name_for("x.jsonl", requested)


@pytest.mark.parametrize(
    ("validation", "job", "expected_files"),
    [
        (None, None, [TRAIN_FILE]),
        (Path("v.jsonl"), None, [VALIDATION_FILE, TRAIN_FILE]),
        (Path("v.jsonl"), Path("j.yaml"), [VALIDATION_FILE, JOB_FILE, TRAIN_FILE]),
        (None, Path("j.yaml"), [JOB_FILE, TRAIN_FILE]),
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
    existing = [f"incoming/r/{name}" for name in (TRAIN_FILE, JOB_FILE, VALIDATION_FILE)]
    with pytest.raises(SubmitConflict, match=rf"s3://b/incoming/r/{VALIDATION_FILE} from an earlier submission"):
        check_no_stale_companions(bucket="b", run_name="r", existing_keys=existing, uploads=uploads)


def test_files_this_submission_replaces_are_not_a_conflict() -> None:
    uploads = plan_uploads(
        incoming_prefix="incoming/", run_name="r", train=Path("t"), validation=Path("v"), job=Path("j")
    )
    existing = [f"incoming/r/{name}" for name in (TRAIN_FILE, JOB_FILE, VALIDATION_FILE)]
    check_no_stale_companions(bucket="b", run_name="r", existing_keys=existing, uploads=uploads)
