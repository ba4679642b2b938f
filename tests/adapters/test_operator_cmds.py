"""The operator commands end to end in-process (``novaft.cli.main``) against a pipeline on moto."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from novaft.aws.s3_objects import S3Objects
from novaft.aws.sagemaker_jobs import SageMakerTrainingJobs
from novaft.cli import main, operator_cmds
from novaft.pipeline import facts

from .conftest import ARTIFACTS_BUCKET, DATASETS_BUCKET, RUNS_PREFIX, MotoPipeline, client

RECORD = {
    "schemaVersion": "bedrock-conversation-2024",
    "system": [{"text": "You answer briefly."}],
    "messages": [
        {"role": "user", "content": [{"text": "What is the return window?"}]},
        {"role": "assistant", "content": [{"text": "Sixty days with a receipt."}]},
    ],
}
JOB_YAML = "model: lite\nmethod: sft\npeft: lora\n"


@pytest.fixture
def stoppable_jobs(monkeypatch: pytest.MonkeyPatch, moto_pipeline: MotoPipeline) -> list[str]:
    """moto has no StopTrainingJob; stand in for it by flipping the job's status, and record the call."""
    stopped: list[str] = []

    def stop(self: SageMakerTrainingJobs, job_name: str) -> None:
        stopped.append(job_name)
        moto_pipeline.set_training_status(job_name, "Stopped", "Stopped")

    monkeypatch.setattr(SageMakerTrainingJobs, "stop", stop)
    return stopped


def _on_sleep(monkeypatch: pytest.MonkeyPatch, *steps: Callable[[], object]) -> list[float]:
    """Each sleep of the CLI runs the next step (the pipeline moving on) instead of waiting."""
    pending = list(steps)
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if pending:
            pending.pop(0)()

    monkeypatch.setattr(operator_cmds, "sleep", sleep)
    monkeypatch.setattr(operator_cmds, "clock", lambda: float(sum(sleeps)))
    return sleeps


def _training_run(pipeline: MotoPipeline, run_id: str = "exp-abc") -> str:
    arn = pipeline.start_execution(run_id)
    pipeline.create_training_job(f"novaft-{run_id}")
    job = f"novaft-{run_id}"
    job_arn = f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{job}"
    pipeline.put_run(
        run_id=run_id, status=facts.STATUS_TRAINING, execution_arn=arn, training_job_name=job, training_job_arn=job_arn
    )
    return arn


def test_runs_lists_recent_runs_as_a_table(moto_pipeline: MotoPipeline, capsys: pytest.CaptureFixture[str]) -> None:
    moto_pipeline.put_run(run_id="a-1", status=facts.STATUS_COMPLETED, created_at="2026-11-25T08:00:00+00:00")
    moto_pipeline.put_run(run_id="b-2", status=facts.STATUS_TRAINING, created_at="2026-11-25T09:00:00+00:00", attempt=2)
    assert main(["runs", "--limit", "5"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("RUN  ATTEMPT  RUN ID ")
    # Records from before attempts were counted show "-".
    assert [line.split()[1:3] for line in lines[1:]] == [["2", "b-2"], ["-", "a-1"]]


def test_status_shows_workflow_training_and_elapsed(
    moto_pipeline: MotoPipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    _training_run(moto_pipeline)
    assert main(["status", "exp"]) == 0
    out = capsys.readouterr().out
    assert "run         exp (exp-abc)" in out
    assert "workflow    RUNNING, in state" in out
    assert "training    InProgress / Training  (job novaft-exp-abc)" in out
    assert "elapsed" in out and "console     https://us-east-1.console.aws.amazon.com/states/" in out


def test_status_wait_prints_each_change_and_exits_0_on_completion(
    moto_pipeline: MotoPipeline, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    moto_pipeline.put_run(run_id="exp-abc", status=facts.STATUS_VALIDATING)
    sleeps = _on_sleep(
        monkeypatch,
        lambda: None,
        lambda: moto_pipeline.put_run(run_id="exp-abc", status=facts.STATUS_TRAINING),
        lambda: moto_pipeline.put_run(run_id="exp-abc", status=facts.STATUS_COMPLETED),
    )
    assert main(["status", "exp-abc", "--wait", "--interval", "7"]) == 0
    out = capsys.readouterr().out
    progress = [line for line in out.splitlines() if line.startswith("20")]
    expected = [facts.STATUS_VALIDATING, facts.STATUS_TRAINING, facts.STATUS_COMPLETED]
    assert [line.split()[2] for line in progress] == expected
    assert sleeps == [7, 7, 7]


def test_status_wait_exits_1_when_the_run_ends_badly(
    moto_pipeline: MotoPipeline, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    arn = _training_run(moto_pipeline)
    _on_sleep(monkeypatch, lambda: client("stepfunctions").stop_execution(executionArn=arn))
    assert main(["status", "exp", "--wait", "--interval", "1"]) == 1
    assert "workflow    ABORTED" in capsys.readouterr().out


def test_status_wait_timeout_is_exit_2_with_a_hint(
    moto_pipeline: MotoPipeline, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _training_run(moto_pipeline)
    _on_sleep(monkeypatch)
    assert main(["status", "exp", "--wait", "--interval", "10", "--timeout", "30"]) == 2
    assert "keeps running, follow it with `novaft status exp-abc --wait`" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("stop_recorded", "args", "shown"),
    [
        pytest.param(
            True,
            ["cancel", "exp"],
            [
                "stopping training job novaft-exp-abc",
                "stopping execution exp-abc",
                "status      Stopped",
                "workflow    ABORTED",
                "training    Stopped / Stopped",
            ],
            id="shows-the-recorded-stop",
        ),
        pytest.param(
            False,
            ["cancel", "exp-abc", "--timeout", "4"],
            [
                "note: the pipeline recording the stop did not happen within 4 s",
                "status      Training",
                "workflow    ABORTED",
            ],
            id="shows-the-state-even-when-the-stop-is-not-recorded-in-time",
        ),
    ],
)
def test_cancel_stops_job_then_execution(
    moto_pipeline: MotoPipeline,
    stoppable_jobs: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    stop_recorded: bool,
    args: list[str],
    shown: list[str],
) -> None:
    _training_run(moto_pipeline)

    def record_stop() -> None:  # what the pipeline's stop_run function does a moment later
        moto_pipeline.set_status("exp-abc", facts.STATUS_STOPPED)

    _on_sleep(monkeypatch, *([record_stop] if stop_recorded else []))
    assert main(args) == 0
    out = capsys.readouterr().out
    assert stoppable_jobs == ["novaft-exp-abc"]
    assert [text for text in shown if text not in out] == []


def test_cancel_still_stops_the_execution_when_the_job_refuses_to_stop(
    moto_pipeline: MotoPipeline, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(self: SageMakerTrainingJobs, job_name: str) -> None:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "StopTrainingJob")

    monkeypatch.setattr(SageMakerTrainingJobs, "stop", refuse)
    _training_run(moto_pipeline)
    _on_sleep(monkeypatch, lambda: moto_pipeline.set_status("exp-abc", facts.STATUS_STOPPED))
    assert main(["cancel", "exp"]) == 0
    captured = capsys.readouterr()
    assert "warning: could not stop training job novaft-exp-abc: AWS refused StopTrainingJob" in captured.err
    assert "stopping execution exp-abc" in captured.out and "workflow    ABORTED" in captured.out


def test_cancel_of_a_finished_run_stops_nothing(
    moto_pipeline: MotoPipeline, stoppable_jobs: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    moto_pipeline.put_run(run_id="done-1", status=facts.STATUS_COMPLETED)
    assert main(["cancel", "done-1"]) == 0
    assert "nothing to stop: run done is Completed" in capsys.readouterr().out
    assert stoppable_jobs == []


def _evaluated_later(pipeline: MotoPipeline, evaluation_round: str, evaluation_status: str) -> str:
    """A completed run (its own execution over) with `novaft evaluate` execution ``evaluation-1`` running; the record
    names ``evaluation_round`` as the round of its planned jobs. Returns the evaluation execution's ARN."""
    own = pipeline.start_execution("done-2")
    client("stepfunctions").stop_execution(executionArn=own)
    later = pipeline.start_execution("evaluation-1")
    pipeline.put_run(
        run_id="done-2",
        status=facts.STATUS_COMPLETED,
        execution_arn=own,
        **{facts.EVALUATION_ROUND_FIELD: evaluation_round, facts.EVALUATION_STATUS_FIELD: evaluation_status},
    )
    return later


def test_cancel_stops_the_novaft_evaluate_execution_evaluating_a_completed_run(
    moto_pipeline: MotoPipeline, stoppable_jobs: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    later = _evaluated_later(moto_pipeline, "evaluation-1", facts.EVALUATION_PLANNED)
    assert main(["cancel", "done-2"]) == 0
    assert "stopping evaluation execution evaluation-1" in capsys.readouterr().out
    assert client("stepfunctions").describe_execution(executionArn=later)["status"] == "ABORTED"
    assert stoppable_jobs == []


@pytest.mark.parametrize(
    ("evaluation_round", "evaluation_status"),
    [
        ("evaluation-1", facts.STATUS_COMPLETED),  # that round is over
        ("evaluation-1", facts.EVALUATION_STOPPED),
        ("done-2", facts.EVALUATION_PLANNED),  # the run's own round: its execution is over
        ("evaluation-9", facts.EVALUATION_PLANNED),  # no such execution
    ],
)
def test_cancel_leaves_an_execution_that_is_not_evaluating_the_run_alone(
    moto_pipeline: MotoPipeline, capsys: pytest.CaptureFixture[str], evaluation_round: str, evaluation_status: str
) -> None:
    later = _evaluated_later(moto_pipeline, evaluation_round, evaluation_status)
    assert main(["cancel", "done-2"]) == 0
    assert "nothing to stop: run done is Completed" in capsys.readouterr().out
    assert client("stepfunctions").describe_execution(executionArn=later)["status"] == "RUNNING"


REPORT = {
    "valid": False,
    "records": 3,
    "errors": [{"line": 2, "code": "role_invalid", "path": "$.messages[0].role", "message": "bad", "file": "train"}],
    "error_counts": {"role_invalid": 1},
}


@pytest.mark.parametrize("use_recorded_uri", [True, False])
def test_report_text_and_json(
    moto_pipeline: MotoPipeline, capsys: pytest.CaptureFixture[str], use_recorded_uri: bool
) -> None:
    key = (
        "reports/x.json"
        if use_recorded_uri
        else facts.run_artifact_key(RUNS_PREFIX, "bad-1", facts.VALIDATION_REPORT_FILE)
    )
    client("s3").put_object(Bucket=ARTIFACTS_BUCKET, Key=key, Body=json.dumps(REPORT))
    extra = {"report_s3_uri": f"s3://{ARTIFACTS_BUCKET}/{key}"} if use_recorded_uri else {}
    moto_pipeline.put_run(run_id="bad-1", status=facts.STATUS_DATASET_INVALID, **extra)
    assert main(["report", "bad"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("validation report of run bad (bad-1): INVALID")
    assert "train:2  role_invalid  $.messages[0].role  bad" in text
    assert main(["report", "bad-1", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == REPORT


def test_report_missing_is_exit_2_naming_where_it_looked(
    moto_pipeline: MotoPipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    moto_pipeline.put_run(run_id="new-1", status=facts.STATUS_REGISTERED)
    assert main(["report", "new-1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    key = facts.run_artifact_key(RUNS_PREFIX, "new-1", facts.VALIDATION_REPORT_FILE)
    assert f"has no validation report at s3://{ARTIFACTS_BUCKET}/{key} yet" in err


# --- submit ---------------------------------------------------------------------------------------------------------


@pytest.fixture
def upload_order(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    order: list[str] = []
    original = S3Objects.upload_file

    def recording(self: S3Objects, path: Path, bucket: str, key: str) -> None:
        order.append(key)
        original(self, path, bucket, key)

    monkeypatch.setattr(S3Objects, "upload_file", recording)
    return order


def _write_jsonl(path: Path, records: list[object]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


Registers = Callable[..., list[float]]


@pytest.fixture
def registers(monkeypatch: pytest.MonkeyPatch, moto_pipeline: MotoPipeline) -> Registers:
    """``registers(key, **kw)``: the trigger fires while the CLI waits: RegisterRun runs for the upload of ``key``."""

    def on_upload_of(key: str, **kw: Any) -> list[float]:
        return _on_sleep(monkeypatch, lambda: moto_pipeline.register(key, **kw))

    return on_upload_of


def test_submit_validates_then_uploads_train_last(
    tmp_path: Path, upload_order: list[str], capsys: pytest.CaptureFixture[str], registers: Registers
) -> None:
    data = _write_jsonl(tmp_path / "My Data.jsonl", [RECORD] * 8)
    validation = _write_jsonl(tmp_path / "v.jsonl", [RECORD])
    job = tmp_path / "job.yaml"
    job.write_text(JOB_YAML)
    registers("incoming/my-data/train.jsonl")
    assert main(["submit", str(data), "--validation", str(validation), "--job", str(job)]) == 0
    out = capsys.readouterr().out
    files = (facts.VALIDATION_FILE, facts.JOB_FILE, facts.TRAIN_FILE)
    assert upload_order == [f"{facts.DEFAULT_INCOMING_PREFIX}my-data/{name}" for name in files]
    assert "VALID for model lite, method sft" in out
    assert "submitted run my-data: attempt 1, run id my-data-" in out and "novaft status my-data-" in out
    body = client("s3").get_object(Bucket=DATASETS_BUCKET, Key=upload_order[-1])["Body"]
    assert body.read() == data.read_bytes()


@pytest.mark.parametrize(
    ("records", "job_text", "expected"),
    [
        ([{"messages": []}], JOB_YAML, "INVALID for model lite"),
        ([RECORD], "model: lite\nmethod: sft\npeft: lora\nhyperparameters: {lr: -1}\n", "hyperparameters.lr"),
        ([RECORD], "model: giant\nmethod: sft\npeft: lora\n", "model"),
    ],
)
def test_submit_uploads_nothing_when_the_local_check_fails(
    moto_pipeline: MotoPipeline,
    tmp_path: Path,
    upload_order: list[str],
    capsys: pytest.CaptureFixture[str],
    records: list[object],
    job_text: str,
    expected: str,
) -> None:
    data = _write_jsonl(tmp_path / "d.jsonl", records)
    job = tmp_path / "job.yaml"
    job.write_text(job_text)
    assert main(["submit", str(data), "--job", str(job)]) == 1
    out = capsys.readouterr().out
    assert expected in out and "nothing uploaded" in out
    assert upload_order == []


def test_submit_without_job_or_stack_default_skips_the_local_check(
    tmp_path: Path, upload_order: list[str], capsys: pytest.CaptureFixture[str], registers: Registers
) -> None:
    data = _write_jsonl(tmp_path / "d.jsonl", [RECORD])
    registers("incoming/exp-1/train.jsonl")
    assert main(["submit", str(data), "--run", "exp-1"]) == 0
    assert "skipped the local check" in capsys.readouterr().out
    assert upload_order == ["incoming/exp-1/train.jsonl"]


def test_submit_checks_against_the_stacks_default_job(
    moto_pipeline: MotoPipeline,
    tmp_path: Path,
    upload_order: list[str],
    capsys: pytest.CaptureFixture[str],
    registers: Registers,
) -> None:
    default_job = {"model": "micro", "method": "sft", "peft": "lora"}
    moto_pipeline.create_stack("WithDefault", DefaultJob=json.dumps(default_job))
    data = _write_jsonl(tmp_path / "d.jsonl", [RECORD] * 8)
    registers("incoming/d/train.jsonl", default_job=default_job)
    assert main(["submit", str(data), "--stack", "WithDefault"]) == 0
    out = capsys.readouterr().out
    assert "VALID for model micro, method sft" in out and "--stack WithDefault" in out
    assert upload_order == ["incoming/d/train.jsonl"]


def test_submit_refuses_stale_companions_of_an_earlier_submission(
    moto_pipeline: MotoPipeline, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client("s3").put_object(Bucket=DATASETS_BUCKET, Key="incoming/d/job.yaml", Body=b"x")
    data = _write_jsonl(tmp_path / "d.jsonl", [RECORD])
    assert main(["submit", str(data)]) == 2
    assert "already has s3://" in capsys.readouterr().err


def test_submit_wait_follows_the_new_run_to_the_end(
    moto_pipeline: MotoPipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    moto_pipeline.put_run(
        run_id="d-old", run_name="d", status=facts.STATUS_COMPLETED, created_at="2026-11-24T00:00:00+00:00"
    )

    def new_run() -> dict[str, Any]:
        return next(item for item in moto_pipeline.table.scan()["Items"] if item.get("attempt") == 1)

    def invalid() -> None:
        moto_pipeline.set_status(new_run()["run_id"], facts.STATUS_DATASET_INVALID)
        client("stepfunctions").stop_execution(executionArn=new_run()["execution_arn"])

    _on_sleep(
        monkeypatch,
        lambda: None,  # the trigger has not fired yet
        lambda: moto_pipeline.register("incoming/d/train.jsonl"),
        lambda: moto_pipeline.set_status(new_run()["run_id"], facts.STATUS_VALIDATING),
        invalid,
    )
    data = _write_jsonl(tmp_path / "d.jsonl", [RECORD])
    assert main(["submit", str(data), "--wait", "--interval", "1"]) == 1
    out = capsys.readouterr().out
    assert f"run id {new_run()['run_id']}" in out and "status      DatasetInvalid" in out


def test_submit_of_files_a_run_already_has_is_a_duplicate(
    moto_pipeline: MotoPipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _write_jsonl(tmp_path / "d.jsonl", [RECORD])
    _on_sleep(
        monkeypatch,
        lambda: moto_pipeline.register("incoming/d/train.jsonl"),
        lambda: moto_pipeline.register("incoming/d/train.jsonl"),
    )
    assert main(["submit", str(data)]) == facts.ExitCode.OK
    first = capsys.readouterr().out
    assert main(["submit", str(data)]) == facts.ExitCode.DUPLICATE
    out = capsys.readouterr().out
    run_id = first.split("run id ", 1)[1].split()[0]
    assert "submitted" not in out
    assert f"duplicate: run d already has exactly these files (attempt 1, run id {run_id}" in out
    assert len(moto_pipeline.table.scan()["Items"]) == 2  # the run and the attempt counter


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["submit", "missing.jsonl"], "data file missing.jsonl: no such file"),
        (["submit", "{data}", "--run", "Bad_Name"], "--run 'Bad_Name' is not a valid run name"),
        (["status", "nope"], "no run with id or name 'nope'"),
        (["runs", "--stage", "prod"], "no stack Novaft-prod-Pipeline in region us-east-1"),
        (["runs", "--stack", "Custom"], "no stack Custom in region us-east-1"),
    ],
)
def test_usage_and_lookup_errors_are_one_line_and_exit_2(
    moto_pipeline: MotoPipeline, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    data = _write_jsonl(tmp_path / "d.jsonl", [RECORD])
    assert main([arg.format(data=data) for arg in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("novaft: ") and message in err and err.count("\n") == 1


def test_stage_comes_from_the_environment(
    moto_pipeline: MotoPipeline, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(facts.STAGE_ENV, "staging")
    assert main(["runs"]) == 2
    assert "Novaft-staging-Pipeline" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None}, "no usable AWS credentials"),
        ({"AWS_DEFAULT_REGION": None}, "no AWS region set"),
        ({"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}, "cannot reach http://127.0.0.1:9"),
    ],
)
def test_missing_credentials_region_or_endpoint_is_exit_2_without_traceback(
    aws_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str | None],
    message: str,
) -> None:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never probe instance metadata for credentials
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert main(["runs"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"novaft: {message}") and "Traceback" not in err and err.count("\n") == 1
