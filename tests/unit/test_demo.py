"""How ``make demo`` prints a failed run: the error name and a readable cause, never raw JSON cut mid-string."""

import json

import pytest

from novaft.demo import failure_text
from novaft.pipeline import facts

LAMBDA_CAUSE = json.dumps(
    {
        "errorMessage": "3 of 5 records are invalid in train.jsonl (line 2: role_invalid)",
        "errorType": "DatasetInvalid",
        "stackTrace": ['  File "/var/task/handler.py", line 1'],
    }
)
SAGEMAKER_CAUSE = json.dumps({"TrainingJobName": "novaft-x", "FailureReason": "ClientError: no capacity", "Tags": []})


@pytest.mark.parametrize(
    ("error", "cause", "expected"),
    [
        (
            facts.STATUS_DATASET_INVALID,
            LAMBDA_CAUSE,
            f"{facts.STATUS_DATASET_INVALID}: 3 of 5 records are invalid in train.jsonl (line 2: role_invalid)",
        ),
        ("States.TaskFailed", SAGEMAKER_CAUSE, "States.TaskFailed: ClientError: no capacity"),
        ("StoppedByOperator", "novaft cancel exp\n  (by hand)", "StoppedByOperator: novaft cancel exp (by hand)"),
        ("States.Timeout", None, "States.Timeout"),
        (None, None, ""),
    ],
)
def test_failure_text_names_the_error_and_the_readable_cause(
    error: str | None, cause: str | None, expected: str
) -> None:
    assert failure_text(error, cause) == expected


def test_a_long_cause_is_cut_at_a_word_and_marked() -> None:
    cause = json.dumps({"errorMessage": "word " * 100})
    text = failure_text("RecipeRenderFailed", cause, limit=60)
    assert text.startswith("RecipeRenderFailed: word word")
    assert text.endswith("word...") and len(text) <= len("RecipeRenderFailed: ") + 60


def test_the_evaluation_table_shows_fine_tuned_base_change_and_the_gate() -> None:
    from novaft.demo import evaluation_table

    document = {
        "metrics": {
            "gen_qa.rougeL": {"fine_tuned": 0.58, "base": 0.5336, "delta": 0.0464},
            "mmlu.accuracy": {"fine_tuned": 0.71, "base": None, "delta": None},
        },
        "gate": {"metric": "gen_qa.rougeL", "min": 0.3, "min_delta_vs_base": 0.01, "result": "passed"},
    }
    lines = evaluation_table(document)
    assert lines[1].split() == ["gen_qa.rougeL", "0.58", "0.5336", "+0.0464"]
    assert lines[2].split() == ["mmlu.accuracy", "0.71", "-", "-"]
    assert lines[3].strip() == "gate on gen_qa.rougeL (>= 0.3, change >= 0.01): passed"
