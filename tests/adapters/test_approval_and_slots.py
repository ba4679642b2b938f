"""The slot semaphore and the approval answers against moto: conditional writes, task-token errors, the CLI."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from novaft.aws.job_slots import DynamoJobSlots
from novaft.aws.step_functions import StepFunctionsExecutions, TaskNotWaiting
from novaft.cli import main
from novaft.pipeline import facts
from novaft.pipeline.steps.job_slots import SlotPool

from .conftest import MotoPipeline


def test_the_semaphore_is_written_only_at_the_version_read(moto_pipeline: MotoPipeline) -> None:
    slots = DynamoJobSlots(moto_pipeline.table)
    assert slots.read("training") == SlotPool()

    assert slots.write("training", SlotPool(holders={"run-a": "t1"}), expected_version=0)
    assert not slots.write("training", SlotPool(holders={"run-b": "t1"}), expected_version=0)  # created already
    stored = slots.read("training")
    assert stored == SlotPool(holders={"run-a": "t1"}, version=1)

    assert slots.write("training", SlotPool(waiting={"run-b": "t2"}), expected_version=1)
    assert not slots.write("training", SlotPool(), expected_version=1)  # someone wrote version 2 in between
    assert slots.read("training") == SlotPool(waiting={"run-b": "t2"}, version=2)
    # The item is not a run: no index lists it.
    item = moto_pipeline.table.get_item(Key={"run_id": f"{facts.JOB_SLOTS_KEY_PREFIX}training"})["Item"]
    assert facts.BY_CREATED_INDEX_PARTITION_KEY not in item


class _Refusing:
    def __init__(self, code: str) -> None:
        self.code = code

    def _refuse(self, **_: Any) -> None:
        raise ClientError({"Error": {"Code": self.code, "Message": "Task Timed Out"}}, "SendTask")

    send_task_success = send_task_failure = _refuse


@pytest.mark.parametrize("code", ["TaskTimedOut", "TaskDoesNotExist", "InvalidToken"])
def test_an_answer_nothing_waits_for_is_a_named_error(code: str) -> None:
    executions = StepFunctionsExecutions(_Refusing(code))
    with pytest.raises(TaskNotWaiting, match=code):
        executions.send_task_success("tok", output={})
    with pytest.raises(TaskNotWaiting, match=code):
        executions.send_task_failure("tok", error="Rejected", cause="no")


def test_other_errors_pass_through() -> None:
    with pytest.raises(ClientError):
        StepFunctionsExecutions(_Refusing("AccessDeniedException")).send_task_success("tok", output={})


def _waiting_run(pipeline: MotoPipeline) -> None:
    pipeline.put_run(run_id="big-abc", status=facts.STATUS_AWAITING_APPROVAL, approval_task_token="tok-1")


def test_novaft_approve_records_the_caller_and_spends_the_token(
    moto_pipeline: MotoPipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    _waiting_run(moto_pipeline)

    assert main(["approve", "big-abc"]) == 0

    item = moto_pipeline.table.get_item(Key={"run_id": "big-abc"})["Item"]
    assert item["approved_by"].startswith("arn:aws:")  # moto's STS caller
    assert item["approved_at"] and item["approval_task_token"] is None
    assert f"run big-abc approved by {item['approved_by']}" in capsys.readouterr().out
    # Answering twice is refused: the token is spent.
    assert main(["approve", "big-abc"]) == 1
    assert "ApprovalNotPending" in capsys.readouterr().err


def test_novaft_reject_needs_a_reason_and_records_it(
    moto_pipeline: MotoPipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    _waiting_run(moto_pipeline)
    with pytest.raises(SystemExit):
        main(["reject", "big-abc"])  # argparse: --reason is required

    assert main(["reject", "big-abc", "--reason", "too big for a test"]) == 0

    item = moto_pipeline.table.get_item(Key={"run_id": "big-abc"})["Item"]
    assert item["rejection_reason"] == "too big for a test" and item["rejected_by"].startswith("arn:aws:")
    assert "rejected (too big for a test)" in capsys.readouterr().out
