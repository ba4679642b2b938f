import pytest

from novaft.errors import UsageError
from novaft.operator.run_names import run_name_for


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
