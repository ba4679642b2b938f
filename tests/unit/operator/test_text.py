import io
from datetime import UTC, datetime, timedelta

import pytest

from novaft.operator.runs import ExecutionView, RunStatus, RunView, TrainingView
from novaft.operator.text import (
    format_duration,
    format_progress_line,
    format_report,
    format_runs_table,
    format_status,
    format_time,
)
from novaft.pipeline import facts
from novaft.validation import ValidationOptions, iter_byte_lines, validate_dataset

T0 = datetime(2026, 11, 25, 10, tzinfo=UTC)
EXECUTION_ARN = "arn:aws:states:eu-west-1:123456789012:execution:novaft:r-1"
JOB_ARN = "arn:aws:sagemaker:eu-west-1:123456789012:training-job/novaft-r-1"


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(None, "-"), (0, "0s"), (59.9, "59s"), (185, "3m 05s"), (7620, "2h 07m"), (97200, "1d 03h")],
)
def test_format_duration(seconds: float | None, expected: str) -> None:
    assert format_duration(seconds) == expected


def test_format_time_is_utc_to_the_second() -> None:
    assert format_time(T0) == "2026-11-25 10:00:00Z"


def _running_status() -> RunStatus:
    run = RunView(
        run_id="r-1",
        run_name="r",
        status=facts.STATUS_TRAINING,
        created_at=T0,
        execution_arn=EXECUTION_ARN,
        reserved_job_name="novaft-r-1",
        training_job_arn=JOB_ARN,
    )
    return RunStatus(
        run=run,
        execution=ExecutionView(EXECUTION_ARN, facts.EXECUTION_RUNNING, started_at=T0),
        current_state="WaitForTraining",
        training=TrainingView("novaft-r-1", "InProgress", "Training"),
    )


def test_status_block_shows_state_training_elapsed_and_links() -> None:
    text = format_status(_running_status(), now=T0 + timedelta(minutes=3, seconds=5), console_region="eu-west-1")
    assert "workflow    RUNNING, in state WaitForTraining" in text
    assert "training    InProgress / Training  (job novaft-r-1)" in text
    assert "elapsed     3m 05s (started 2026-11-25 10:00:00Z)" in text
    assert "console     https://eu-west-1.console.aws.amazon.com/states/" in text
    assert "job console https://eu-west-1.console.aws.amazon.com/sagemaker/" in text
    assert "job logs    https://eu-west-1.console.aws.amazon.com/cloudwatch/" in text


def test_status_block_without_console_links_and_with_a_failure() -> None:
    status = _running_status()
    run = RunView(
        run_id="r-1",
        run_name="r",
        status=facts.STATUS_DATASET_INVALID,
        failure_error=facts.STATUS_DATASET_INVALID,
        failure_cause="3 errors\n in   train.jsonl",
        execution_arn=EXECUTION_ARN,
    )
    failed = RunStatus(run, ExecutionView(EXECUTION_ARN, facts.EXECUTION_FAILED), "RunFailed", None)
    text = format_status(failed, now=T0, console_region=None)
    assert "failure     DatasetInvalid: 3 errors in train.jsonl" in text
    assert "workflow    FAILED, ended in state RunFailed" in text
    assert "training    not started" in text
    assert "console" not in text and status.run.run_id in text


@pytest.mark.parametrize("reserved_job_name", [None, "novaft-r-1"])
def test_status_block_of_a_run_that_never_trained_names_no_job(reserved_job_name: str | None) -> None:
    # RegisterRun records the derived job name before any job exists; a run rejected earlier has no job to name.
    run = RunView(run_id="r-1", run_name="r", status=facts.STATUS_DATASET_INVALID, reserved_job_name=reserved_job_name)
    text = format_status(
        RunStatus(run, ExecutionView(EXECUTION_ARN, facts.EXECUTION_FAILED), "RunFailed", None),
        now=T0,
        console_region="eu-west-1",
    )
    assert "training    not started" in text.splitlines()
    assert "novaft-r-1" not in text


def test_progress_line_is_one_line_with_the_changing_parts() -> None:
    line = format_progress_line(_running_status(), now=T0 + timedelta(seconds=42))
    assert line == (
        "2026-11-25 10:00:42Z  Training  workflow RUNNING, in state WaitForTraining  training InProgress/Training"
        "  elapsed 42s"
    )


def test_runs_table_aligns_columns_newest_first() -> None:
    runs = [
        RunView(
            run_id="long-name-abc",
            run_name="long-name",
            status=facts.STATUS_TRAINING,
            created_at=T0,
            reserved_job_name="novaft-long",
            training_job_arn=JOB_ARN,
            attempt=12,
        ),
        RunView(run_id="b-1", run_name="b", status=facts.STATUS_COMPLETED, created_at=T0 - timedelta(hours=2)),
    ]
    lines = format_runs_table(runs, now=T0 + timedelta(minutes=1)).splitlines()
    assert lines[0].split() == ["RUN", "ATTEMPT", "RUN", "ID", "STATUS", "CREATED", "AGE", "TRAINING", "JOB"]
    assert lines[1].index("12") == lines[2].index("-") == lines[0].index("ATTEMPT")
    assert lines[1].index("long-name-abc") == lines[2].index("b-1") == lines[0].index("RUN ID")
    assert lines[1].split()[-1] == "novaft-long"
    assert lines[2].split()[-3:] == ["2h", "01m", "-"]


def test_runs_table_names_no_job_for_a_run_that_never_started_one() -> None:
    run = RunView(
        run_id="bad-1", run_name="bad", status=facts.STATUS_DATASET_INVALID, created_at=T0, reserved_job_name="novaft-b"
    )
    (row,) = format_runs_table([run], now=T0).splitlines()[1:]
    assert row.split()[-1] == "-"
    assert "novaft-b" not in row


def test_runs_table_with_no_runs_says_how_to_start_one() -> None:
    assert "novaft submit" in format_runs_table([], now=T0)


def test_report_text_lists_verdict_counts_stats_and_issues_last() -> None:
    report = {
        "valid": False,
        "records": 1200,
        "errors": [
            {"line": 7, "code": "role_invalid", "path": "$.messages[0].role", "message": "bad role", "file": "train"}
        ],
        "error_counts": {"role_invalid": 1},
        "warnings": [],
        "warning_counts": {},
        "stats": {"records": 1200, "tokens": {"p50": 310.5}},
        "model": "lite",
    }
    lines = format_report(report, run_name="r", run_id="r-1").splitlines()
    assert lines[0] == "validation report of run r (r-1): INVALID"
    assert "  records: 1,200" in lines and "  model: lite" in lines and "    role_invalid: 1" in lines
    issue_line = lines.index("    train:7  role_invalid  $.messages[0].role  bad role")
    assert issue_line > lines.index("  error_counts:") and issue_line > lines.index("  stats:")
    assert lines[-1] == "  warnings: none"


def test_report_text_renders_the_validators_own_report() -> None:
    lines = [b'{"messages": [{"role": "User", "content": [{"text": "hi"}]}]}', b"", b"[1]"]
    report = validate_dataset(
        iter_byte_lines(io.BytesIO(b"\n".join(lines))), ValidationOptions(model="lite", method="sft")
    ).to_dict()
    text = format_report(report, run_name="r", run_id="r-1")
    assert text.startswith("validation report of run r (r-1): INVALID")
    assert "    train:1  role_invalid  $.messages[0].role" in text
    assert "    train:3  not_an_object  " in text
    assert "    train (file)  too_few_records  " in text


def test_status_shows_the_evaluation_gate_and_each_metric_against_the_base() -> None:
    from novaft.operator.text import evaluation_rows

    evaluation = {
        "status": "Completed",
        "gate": "passed",
        "metrics": {
            "gen_qa.rougeL": {"fine_tuned": 0.58, "base": 0.5336, "delta": 0.0464},
            "mmlu.accuracy": {"fine_tuned": 0.71, "base": None, "delta": None},
        },
    }
    assert evaluation_rows(evaluation) == [
        ("evaluation", "Completed, gate passed"),
        ("", "gen_qa.rougeL: 0.58 (base 0.5336, change +0.0464)"),
        ("", "mmlu.accuracy: 0.71"),
    ]
    failed = evaluation_rows({"status": "EvaluationFailed", "metrics": {}, "failure": "job x ended Failed: OOM"})
    assert failed == [("evaluation", "EvaluationFailed"), ("eval failed", "job x ended Failed: OOM")]
    assert evaluation_rows({}) == []
