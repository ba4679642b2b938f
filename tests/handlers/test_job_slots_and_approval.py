"""AcquireSlot, ReleaseSlot and AwaitApproval handlers on moto: real table writes, the real topic."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from lambdas.handlers import acquire_slot, await_approval, release_slot, runtime, stop_run
from novaft.pipeline import facts
from tests.handlers.conftest import Aws, FakeLambdaContext, load_event

RUN = load_event("start_training.json")["run"]
RUN_ID = RUN["run_id"]
EXECUTION = load_event("stop_run.json")["detail"]["executionArn"]


def _register(aws: Aws, run_id: str, execution_arn: str) -> dict[str, Any]:
    aws.put_item(
        {
            "run_id": run_id,
            "run_name": "demo",
            "record_type": facts.RECORD_TYPE_RUN,
            "status": facts.STATUS_VALIDATING,
            "execution_arn": execution_arn,
            "training_job_name": f"novaft-{run_id}",
            "dataset": RUN["dataset"],
        }
    )
    run = copy.deepcopy(RUN)
    run["run_id"] = run_id
    return {"run": run}


@pytest.fixture
def one_slot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOVAFT_POLICY", json.dumps({"max_concurrent_jobs": 1}))
    runtime.reset()


def test_second_run_queues_until_the_first_releases(
    aws: Aws, lambda_context: FakeLambdaContext, one_slot: None
) -> None:
    first = _register(aws, "first-1", "exec-first")
    second = _register(aws, "second-2", "exec-second")

    assert acquire_slot.lambda_handler(first, lambda_context)["acquired"] is True
    waiting = acquire_slot.lambda_handler(second, lambda_context)
    assert (waiting["acquired"], waiting["place"], waiting["limit"]) == (False, 1, 1)
    assert aws.item("second-2")["status"] == facts.STATUS_QUEUED

    assert release_slot.lambda_handler(first, lambda_context) == {"released": True}
    assert release_slot.lambda_handler(first, lambda_context) == {"released": False}
    assert acquire_slot.lambda_handler(second, lambda_context)["acquired"] is True


def test_an_aborted_execution_frees_its_slot_through_stop_run(
    aws: Aws, lambda_context: FakeLambdaContext, one_slot: None
) -> None:
    holder = _register(aws, RUN_ID, EXECUTION)
    queued = _register(aws, "next-3", "exec-next")
    acquire_slot.lambda_handler(holder, lambda_context)
    assert acquire_slot.lambda_handler(queued, lambda_context)["acquired"] is False

    stop_run.lambda_handler(load_event("stop_run.json"), lambda_context)

    assert acquire_slot.lambda_handler(queued, lambda_context)["acquired"] is True


def test_await_approval_keeps_the_token_and_notifies(aws: Aws, lambda_context: FakeLambdaContext) -> None:
    payload = _register(aws, RUN_ID, EXECUTION)
    payload["task_token"] = "token-xyz"
    payload["ask"] = {
        "model": "lite",
        "method": "sft",
        "peft": "lora",
        "instance_type": "ml.p5.48xlarge",
        "instance_count": 2,
        "max_runtime_hours": 10,
        "estimated_cost_usd": 900.0,
        "cost_ceiling_usd": 1100.0,
        "reasons": ["estimated cost $900.00 is above approval_above_usd $500.00"],
    }

    result = await_approval.lambda_handler(payload, lambda_context)

    item = aws.item(RUN_ID)
    assert item["status"] == facts.STATUS_AWAITING_APPROVAL and item["approval_task_token"] == "token-xyz"
    assert result["deadline"] == item["approval_deadline"]
    [note] = aws.notifications()
    assert f"novaft approve {RUN_ID}" in note["Message"] and "2 x ml.p5.48xlarge" in note["Message"]
