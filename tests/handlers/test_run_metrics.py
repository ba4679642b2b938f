"""The run metrics the dashboard shows, as the handlers publish them (EMF documents on stdout)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from lambdas.handlers import acquire_slot, record_evaluation, record_result, runtime
from novaft.local.training import evaluation_archive
from novaft.pipeline.facts import (
    APPROVAL_REJECTED_ERROR,
    EVAL_SIDE_FINE_TUNED,
    METRIC_EVALUATION_GATE_FAILED,
    METRIC_EVALUATION_GATE_PASSED,
    METRIC_EVALUATIONS_FAILED,
    METRIC_QUEUE_DEPTH,
    METRIC_RUNS_FAILED,
    METRIC_RUNS_POLICY_VIOLATION,
    METRIC_RUNS_REJECTED,
    RECORD_TYPE_RUN,
    RUN_COUNT_METRICS,
    STATUS_COMPLETED,
    STATUS_FAILED,
    STATUS_POLICY_VIOLATION,
    STATUS_REJECTED,
    STATUS_VALIDATING,
)
from novaft.policy import PolicyViolation
from tests.handlers.conftest import Aws, FakeLambdaContext, load_event

RUN = load_event("start_training.json")["run"]
EVAL_JOB = "novaft-demo-dbad16161acb-0a1b2c3d"


def _published(output: str) -> dict[str, list[float]]:
    """Every metric the EMF documents in ``output`` publish, with the values of each in order."""
    values: dict[str, list[float]] = {}
    for line in output.splitlines():
        if not line.startswith("{"):
            continue
        document = json.loads(line)
        for directive in document.get("_aws", {}).get("CloudWatchMetrics", []):
            for metric in directive["Metrics"]:
                values.setdefault(metric["Name"], []).extend(document[metric["Name"]])
    return values


@pytest.mark.parametrize(
    ("error", "expected_status", "metric"),
    [
        (PolicyViolation.workflow_error, STATUS_POLICY_VIOLATION, METRIC_RUNS_POLICY_VIOLATION),
        (APPROVAL_REJECTED_ERROR, STATUS_REJECTED, METRIC_RUNS_REJECTED),
        ("States.Timeout", STATUS_FAILED, METRIC_RUNS_FAILED),
    ],
)
def test_a_run_ended_without_training_is_counted_under_its_status_only(
    aws: Aws,
    lambda_context: FakeLambdaContext,
    capsys: pytest.CaptureFixture[str],
    error: str,
    expected_status: str,
    metric: str,
) -> None:
    event = load_event("record_result_failure.json")
    event["failure"] = {"Error": error, "Cause": "refused"}
    capsys.readouterr()

    assert record_result.lambda_handler(event, lambda_context)["status"] == expected_status

    run_counts = {
        name: values for name, values in _published(capsys.readouterr().out).items() if name in RUN_COUNT_METRICS
    }
    assert run_counts == {metric: [1.0]}


def _evaluation_event(aws: Aws, gate_min: float) -> dict[str, Any]:
    validation = load_event("render_recipe.json")["validation"]
    gate = {"metric": "gen_qa.rougeL", "min": gate_min}
    validation["job_spec"] = {**validation["job_spec"], "evaluation": {"tasks": ["gen_qa"], "gate": gate}}
    aws.put_item({"run_id": RUN["run_id"], "record_type": RECORD_TYPE_RUN, "status": STATUS_COMPLETED})
    key = f"{RUN['artifacts_prefix']}evaluation/output/{EVAL_JOB}/output/output.tar.gz"
    aws.s3.put_object(
        Bucket=RUN["artifacts_bucket"], Key=key, Body=evaluation_archive(EVAL_JOB, task="gen_qa", base=False)
    )
    result = {"task": "gen_qa", "side": EVAL_SIDE_FINE_TUNED, "job_name": EVAL_JOB, "status": STATUS_COMPLETED}
    return {"run": RUN, "validation": validation, "results": [result]}


@pytest.mark.parametrize(
    ("gate_min", "metric"), [(0.0, METRIC_EVALUATION_GATE_PASSED), (2.0, METRIC_EVALUATION_GATE_FAILED)]
)
def test_the_gate_verdict_is_counted(
    aws: Aws, lambda_context: FakeLambdaContext, capsys: pytest.CaptureFixture[str], gate_min: float, metric: str
) -> None:
    event = _evaluation_event(aws, gate_min)
    capsys.readouterr()

    record_evaluation.lambda_handler(event, lambda_context)

    assert _published(capsys.readouterr().out) == {metric: [1.0]}


def test_an_evaluation_without_results_is_counted_as_failed_not_judged(
    aws: Aws, lambda_context: FakeLambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    event = {**_evaluation_event(aws, 0.0), "results": [], "failure": {"Error": "States.TaskFailed", "Cause": "boom"}}
    capsys.readouterr()

    assert record_evaluation.lambda_handler(event, lambda_context)["failed"] is True

    assert _published(capsys.readouterr().out) == {METRIC_EVALUATIONS_FAILED: [1.0]}


def _waiting_run(aws: Aws, run_id: str) -> dict[str, Any]:
    aws.put_item(
        {"run_id": run_id, "record_type": RECORD_TYPE_RUN, "status": STATUS_VALIDATING, "execution_arn": run_id}
    )
    run = copy.deepcopy(RUN)
    run["run_id"] = run_id
    return {"run": run}


def test_queue_depth_is_the_number_waiting_after_each_request(
    aws: Aws, lambda_context: FakeLambdaContext, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOVAFT_POLICY", json.dumps({"max_concurrent_jobs": 1}))
    runtime.reset()
    holder, second, third = (_waiting_run(aws, run_id) for run_id in ("depth-a", "depth-b", "depth-c"))
    capsys.readouterr()

    for payload in (holder, second, third):
        acquire_slot.lambda_handler(payload, lambda_context)
    acquire_slot.lambda_handler(second, lambda_context)  # a queued run polls again: still two waiting

    assert _published(capsys.readouterr().out)[METRIC_QUEUE_DEPTH] == [0.0, 1.0, 2.0, 2.0]
