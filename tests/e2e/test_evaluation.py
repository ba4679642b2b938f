"""Evaluating every fine-tuned model on the local emulated AWS (evaluation jobs simulated): an SFT run with a gen_qa
set and a base comparison gets evaluation.json with both sides and the gate; a failing evaluation job is recorded
with its reason; `novaft evaluate` evaluates a completed run later; an invalid evaluation set stops the run before
training."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest

from novaft.cli import main
from novaft.local.assembly import LOCAL_STAGE
from novaft.local.training import TrainingOutcome
from novaft.pipeline.errors import EvalDatasetInvalid, EvaluationFailed
from novaft.pipeline.facts import (
    EVAL_DATA_FILE,
    EVAL_SIDE_BASE,
    EVAL_SIDE_FINE_TUNED,
    EVALUATION_FILE,
    EVALUATION_STATUS_FIELD,
    EVALUATION_STOPPED,
    GATE_PASSED,
    STATUS_COMPLETED,
    STATUS_DATASET_INVALID,
    ExitCode,
)
from tests.e2e.conftest import SAMPLES, DeployedPipeline

pytestmark = pytest.mark.e2e

SFT = (SAMPLES / "sft-valid.jsonl").read_bytes()
EVAL_SET = b"".join(
    json.dumps(record).encode() + b"\n"
    for record in (
        {"query": "What is the capital of France?", "response": "Paris"},
        {"query": "How many legs has a spider?", "response": "Eight", "system": "Answer briefly."},
    )
)
# 12 hours of training: within the stage's max_run_usd together with the evaluation jobs' ceiling.
GEN_QA_JOB = (
    b"model: micro\nmethod: sft\npeft: lora\nmax_runtime_seconds: 43200\n"
    b"evaluation:\n  tasks: [gen_qa]\n  compare_with_base: true\n"
    b"  gate: {metric: gen_qa.rougeL, min: 0.3, min_delta_vs_base: 0.01}\n"
)


def _drop_run(
    pipeline: DeployedPipeline, name: str, job: bytes, eval_set: bytes | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    pipeline.drop(f"incoming/{name}/job.yaml", job)
    if eval_set is not None:
        pipeline.drop(f"incoming/{name}/{EVAL_DATA_FILE}", eval_set)
    pipeline.drop(f"incoming/{name}/train.jsonl", SFT)
    (execution,) = pipeline.executions(f"incoming/{name}/train.jsonl")
    description = pipeline.finished(execution, timeout_seconds=90)
    return description, pipeline.run_for(execution)


def test_an_sft_run_with_a_gen_qa_set_is_compared_with_its_base_model_and_gated(
    pipeline: DeployedPipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    description, run = _drop_run(pipeline, "eval-both", GEN_QA_JOB, EVAL_SET)

    assert description["status"] == "SUCCEEDED", description.get("cause") or description.get("error")
    assert run["status"] == STATUS_COMPLETED
    assert run[EVALUATION_STATUS_FIELD] == STATUS_COMPLETED
    assert run["evaluation_gate"] == GATE_PASSED
    document = pipeline.artifact_json(f"runs/{run['run_id']}/{EVALUATION_FILE}")
    row = document["metrics"]["gen_qa.rougeL"]
    assert row["fine_tuned"] > row["base"] and row["delta"] == pytest.approx(row["fine_tuned"] - row["base"])
    assert {"gen_qa.rouge1", "gen_qa.rouge2", "gen_qa.em", "gen_qa.qem", "gen_qa.f1", "gen_qa.bleu"} <= set(
        document["metrics"]
    )
    assert document["gate"]["result"] == GATE_PASSED and document["gate"]["metric"] == "gen_qa.rougeL"
    jobs = document["jobs"]
    assert set(jobs) == {f"gen_qa.{EVAL_SIDE_FINE_TUNED}", f"gen_qa.{EVAL_SIDE_BASE}"}
    assert all(name.startswith(run["training_job_name"]) for name in jobs.values())
    # The evaluation set was pinned with the run's inputs, under the name the evaluation container reads.
    assert run["inputs"]["eval_s3_uri"].endswith(f"runs/{run['run_id']}/input/gen_qa.jsonl")

    capsys.readouterr()
    for command in ("status", "report"):
        assert main([command, run["run_id"], "--stage", LOCAL_STAGE]) == ExitCode.OK
        shown = capsys.readouterr().out
        assert f"{STATUS_COMPLETED}, gate {GATE_PASSED}" in shown, shown
        assert f"gen_qa.rougeL: {row['fine_tuned']:g} (base {row['base']:g}" in shown


def test_a_failing_evaluation_job_is_recorded_with_its_reason(pipeline: DeployedPipeline) -> None:
    reason = "ClientError: the evaluation container could not read gen_qa.jsonl"
    pipeline.simulator.evaluations_by_job_name["eval-fails"] = TrainingOutcome(
        status="Failed", failure_reason=reason, duration_seconds=0.5
    )

    description, run = _drop_run(pipeline, "eval-fails", GEN_QA_JOB, EVAL_SET)

    assert description["status"] == "FAILED"
    assert description["error"] == EvaluationFailed.workflow_error
    assert reason in description["cause"]
    assert run["status"] == STATUS_COMPLETED  # training succeeded; only the evaluation failed
    assert run[EVALUATION_STATUS_FIELD] == EvaluationFailed.workflow_error
    assert reason in run["evaluation_failure"]
    assert "evaluation_gate" not in run


def test_an_invalid_evaluation_set_stops_the_run_before_training(pipeline: DeployedPipeline) -> None:
    invalid = EVAL_SET + b'{"query": "no answer"}\n'

    description, run = _drop_run(pipeline, "eval-invalid", GEN_QA_JOB, invalid)

    assert description["status"] == "FAILED"
    assert run["status"] == STATUS_DATASET_INVALID
    assert run["failure_error"] == EvalDatasetInvalid.workflow_error
    assert "line 3" in run["failure_cause"]
    assert pipeline.training_jobs_containing("eval-invalid") == []


def test_novaft_evaluate_evaluates_a_completed_run_later(
    pipeline: DeployedPipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _trained_without_evaluation(pipeline, "eval-later", EVAL_SET)

    out, execution_arn = _evaluate_later(run["run_id"], "gen_qa,mmlu", capsys)
    # The estimate comes before the execution starts: two jobs (no base comparison asked for).
    assert out.index("2 evaluation job(s) on 1 x ml.p5.48xlarge: about $") < out.index("execution ")
    later = pipeline.finished(execution_arn, timeout_seconds=90)

    assert later["status"] == "SUCCEEDED", later.get("cause") or later.get("error")
    document = pipeline.artifact_json(f"runs/{run['run_id']}/{EVALUATION_FILE}")
    assert {"gen_qa.rougeL", "mmlu.accuracy"} <= set(document["metrics"])
    assert document["metrics"]["mmlu.accuracy"]["base"] is None  # no base comparison was asked for
    assert pipeline.run_for(run["execution_arn"])[EVALUATION_STATUS_FIELD] == STATUS_COMPLETED

    refused = main(["evaluate", run["run_id"], "--tasks", "mmmu", "--stage", LOCAL_STAGE])
    assert refused == ExitCode.USAGE
    assert "mmmu" in capsys.readouterr().err


def test_aborting_a_novaft_evaluate_execution_stops_its_jobs_and_keeps_the_run_completed(
    pipeline: DeployedPipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _trained_without_evaluation(pipeline, "eval-abort", None)
    # Training is done; the evaluation jobs of this run now take long enough to be caught running.
    pipeline.simulator.set_outcome("eval-abort", TrainingOutcome(duration_seconds=300))
    _out, execution_arn = _evaluate_later(run["run_id"], "mmlu", capsys)
    sagemaker = boto3.client("sagemaker")

    def running_evaluation_jobs() -> list[str]:
        names = [name for name in pipeline.training_jobs_containing("eval-abort") if name != run["training_job_name"]]
        return [
            name
            for name in names
            if sagemaker.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] == "InProgress"
        ]

    _wait_until(lambda: running_evaluation_jobs() != [], "the evaluation job to start")
    (job_name,) = running_evaluation_jobs()

    boto3.client("stepfunctions").stop_execution(executionArn=execution_arn)

    # stop_run is delivered the status change event and stops the round's job; the run keeps its result.
    _wait_until(lambda: running_evaluation_jobs() == [], "the evaluation job to be stopped")
    assert sagemaker.describe_training_job(TrainingJobName=job_name)["TrainingJobStatus"] in ("Stopping", "Stopped")
    record = pipeline.run_for(run["execution_arn"])
    assert record["status"] == STATUS_COMPLETED
    _wait_until(
        lambda: pipeline.run_for(run["execution_arn"])[EVALUATION_STATUS_FIELD] == EVALUATION_STOPPED,
        "the evaluation to be recorded Stopped",
    )


def _trained_without_evaluation(pipeline: DeployedPipeline, name: str, eval_set: bytes | None) -> dict[str, Any]:
    """A completed run whose job spec asks for no evaluation (the record has none)."""
    description, run = _drop_run(pipeline, name, b"model: micro\nmethod: sft\npeft: lora\n", eval_set)
    assert description["status"] == "SUCCEEDED", description.get("cause")
    assert EVALUATION_STATUS_FIELD not in run
    return run


def _evaluate_later(run_id: str, tasks: str, capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    """``novaft evaluate RUN --tasks TASKS``: what it printed, and the ARN of the execution it started."""
    capsys.readouterr()
    code = main(["evaluate", run_id, "--tasks", tasks, "--stage", LOCAL_STAGE])
    out, err = capsys.readouterr()
    assert code == ExitCode.OK, err
    return out, out.split("execution ")[1].split()[0]


def _wait_until(condition: Any, what: str, timeout_seconds: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
