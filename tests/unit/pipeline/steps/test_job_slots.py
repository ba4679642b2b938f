"""The training-slot semaphore: no slot is ever held by more runs than the limit, and none leaks."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from novaft.pipeline.contracts import ExecutionStatusChangeEvent
from novaft.pipeline.facts import (
    EXECUTION_ABORTED,
    EXECUTION_FAILED,
    EXECUTION_TIMED_OUT,
    STATUS_COMPLETED,
    STATUS_FAILED,
    STATUS_QUEUED,
    STATUS_STOPPED,
    STATUS_TRAINING,
    STATUS_VALIDATING,
)
from novaft.pipeline.steps.job_slots import (
    MAX_WRITE_CONFLICTS,
    SlotContention,
    SlotInput,
    SlotPool,
    acquire_slot,
    claim,
    release_slot,
)
from novaft.pipeline.steps.stop import stop_run
from tests.unit.pipeline import fakes
from tests.unit.pipeline.fakes import FakeNotifier, FakeRunStore, FakeTrainingJobs, run_context

POOL = "training"


@dataclass
class FakeJobSlots:
    """The semaphore item in memory, with the adapter's contract: a write wins only at the version it read."""

    pool: SlotPool = field(default_factory=SlotPool)
    # Writes to refuse as if another writer came first (each refusal also bumps the stored version, as that write did).
    conflicts: int = 0
    writes: int = 0

    def read(self, pool: str) -> SlotPool:
        return self.pool

    def write(self, pool: str, new: SlotPool, *, expected_version: int) -> bool:
        if self.conflicts:
            self.conflicts -= 1
            self.pool = replace(self.pool, version=self.pool.version + 1)
            return False
        if self.pool.version != expected_version:
            return False
        self.writes += 1
        self.pool = replace(new, version=expected_version + 1)
        return True


def _runs(*run_ids: str, status: str = STATUS_VALIDATING) -> FakeRunStore:
    return FakeRunStore(
        {
            run_id: {"run_id": run_id, "run_name": "demo", "status": status, "execution_arn": f"exec-{run_id}"}
            for run_id in run_ids
        }
    )


def _acquire(run_id: str, slots: FakeJobSlots, runs: FakeRunStore, *, limit: int = 1, now: str = fakes.NOW) -> Any:
    return acquire_slot(SlotInput(run=run_context(run_id)), limit=limit, slots=slots, runs=runs, now=now)


def test_a_free_slot_is_taken_and_a_second_run_waits_with_its_place() -> None:
    slots, runs = FakeJobSlots(), _runs("run-a", "run-b", "run-c")

    first = _acquire("run-a", slots, runs)
    second = _acquire("run-b", slots, runs, now="2026-01-02T03:05:00Z")
    third = _acquire("run-c", slots, runs, now="2026-01-02T03:06:00Z")

    assert first.acquired and first.holders == 1
    assert (second.acquired, second.place) == (False, 1)
    assert (third.acquired, third.place) == (False, 2)
    assert runs.items["run-b"]["status"] == STATUS_QUEUED
    assert runs.items["run-b"]["queued_at"] == "2026-01-02T03:05:00Z"
    assert runs.items["run-c"]["queue_place"] == 2
    assert runs.items["run-a"]["status"] == STATUS_VALIDATING


def test_asking_again_keeps_the_slot_and_the_arrival_time() -> None:
    slots, runs = FakeJobSlots(), _runs("run-a", "run-b")
    _acquire("run-a", slots, runs)
    _acquire("run-b", slots, runs, now="2026-01-02T03:05:00Z")
    writes = slots.writes

    again = _acquire("run-a", slots, runs, now=fakes.LATER)
    waiting = _acquire("run-b", slots, runs, now=fakes.LATER)

    assert again.acquired and not waiting.acquired
    assert slots.pool.waiting == {"run-b": "2026-01-02T03:05:00Z"}
    assert slots.writes == writes  # nothing changed, nothing written


def test_a_freed_slot_goes_to_the_earliest_waiter_even_when_a_later_one_asks_first() -> None:
    slots, runs = FakeJobSlots(), _runs("run-a", "run-b", "run-c")
    _acquire("run-a", slots, runs)
    _acquire("run-b", slots, runs, now="2026-01-02T03:05:00Z")
    _acquire("run-c", slots, runs, now="2026-01-02T03:06:00Z")
    release_slot("run-a", slots=slots)

    late = _acquire("run-c", slots, runs, now=fakes.LATER)
    early = _acquire("run-b", slots, runs, now=fakes.LATER)

    assert (late.acquired, late.place) == (False, 1)
    assert early.acquired
    assert set(slots.pool.holders) == {"run-b"}


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_never_more_holders_than_the_limit(limit: int) -> None:
    run_ids = [f"run-{index}" for index in range(5)]
    slots, runs = FakeJobSlots(), _runs(*run_ids)

    answers = [_acquire(run_id, slots, runs, limit=limit) for run_id in run_ids]

    assert [answer.acquired for answer in answers] == [True] * limit + [False] * (5 - limit)
    assert len(slots.pool.holders) == limit


def test_release_is_idempotent_and_a_run_that_held_nothing_releases_nothing() -> None:
    slots, runs = FakeJobSlots(), _runs("run-a")
    _acquire("run-a", slots, runs)

    assert release_slot("run-a", slots=slots).released
    assert not release_slot("run-a", slots=slots).released
    assert not release_slot("never-queued", slots=slots).released
    assert slots.pool.holders == {} and slots.pool.waiting == {}


def test_a_waiting_run_that_ends_gives_up_its_place() -> None:
    slots, runs = FakeJobSlots(), _runs("run-a", "run-b", "run-c")
    _acquire("run-a", slots, runs)
    _acquire("run-b", slots, runs, now="2026-01-02T03:05:00Z")
    _acquire("run-c", slots, runs, now="2026-01-02T03:06:00Z")

    assert release_slot("run-b", slots=slots).released

    assert _acquire("run-c", slots, runs, now=fakes.LATER).place == 1


@pytest.mark.parametrize("final_status", [STATUS_COMPLETED, STATUS_FAILED, STATUS_STOPPED])
def test_a_lost_release_is_repaired_by_the_next_run_that_finds_no_slot(final_status: str) -> None:
    slots, runs = FakeJobSlots(), _runs("run-a", "run-b", "run-c")
    _acquire("run-a", slots, runs)
    _acquire("run-b", slots, runs, now="2026-01-02T03:05:00Z")
    runs.items["run-a"]["status"] = final_status  # the run ended, its release never arrived
    runs.items["run-b"]["status"] = final_status  # a waiter ended too (aborted while queued)

    answer = _acquire("run-c", slots, runs, now=fakes.LATER)

    assert answer.acquired
    assert slots.pool.holders == {"run-c": fakes.LATER} and slots.pool.waiting == {}


def test_a_run_still_training_keeps_its_slot() -> None:
    slots, runs = FakeJobSlots(), _runs("run-a", "run-b")
    _acquire("run-a", slots, runs)
    runs.items["run-a"]["status"] = STATUS_TRAINING

    assert not _acquire("run-b", slots, runs).acquired
    assert set(slots.pool.holders) == {"run-a"}


def test_a_concurrent_writer_makes_the_step_read_again() -> None:
    slots, runs = FakeJobSlots(conflicts=2), _runs("run-a")

    assert _acquire("run-a", slots, runs).acquired
    assert set(slots.pool.holders) == {"run-a"}


def test_endless_contention_is_a_named_error_and_changes_nothing() -> None:
    slots, runs = FakeJobSlots(conflicts=MAX_WRITE_CONFLICTS), _runs("run-a")

    with pytest.raises(SlotContention, match=f"{MAX_WRITE_CONFLICTS} attempts"):
        _acquire("run-a", slots, runs)
    assert slots.pool.holders == {} and runs.items["run-a"]["status"] == STATUS_VALIDATING


def test_claim_breaks_a_tie_of_arrival_times_by_run_id() -> None:
    pool = SlotPool(holders={"run-x": fakes.NOW}, waiting={"run-b": fakes.NOW})

    _, answer = claim(pool, "run-a", limit=1, now=fakes.NOW)

    assert answer.place == 1


# --- stop_run: an aborted, timed-out or failed execution gives its slot back --------------------------------------


def _execution_ended(status: str, run_id: str, slots: FakeJobSlots, runs: FakeRunStore, *, now: str) -> None:
    """What the stop rule does when the run's execution ends with ``status``."""
    event = ExecutionStatusChangeEvent.model_validate(
        {
            "detail-type": "Step Functions Execution Status Change",
            "detail": {"executionArn": f"exec-{run_id}", "status": status},
        }
    )
    stop_run(
        event,
        settings=fakes.settings(),
        runs=runs,
        jobs=FakeTrainingJobs(),
        notifier=FakeNotifier(),
        now=now,
        slots=slots,
    )


@pytest.mark.parametrize("execution_status", [EXECUTION_ABORTED, EXECUTION_TIMED_OUT, EXECUTION_FAILED])
@pytest.mark.parametrize("held", [True, False])
def test_stop_run_releases_the_slot_or_the_place_of_the_run(execution_status: str, held: bool) -> None:
    slots, runs = FakeJobSlots(), _runs("run-a", "run-b")
    _acquire("run-a", slots, runs)
    _acquire("run-b", slots, runs, now=fakes.LATER)
    ended = "run-a" if held else "run-b"

    for _ in range(2):  # EventBridge may deliver the event twice
        _execution_ended(execution_status, ended, slots, runs, now=fakes.LATER)

    assert ended not in slots.pool.holders and ended not in slots.pool.waiting
    other = "run-b" if held else "run-a"
    assert _acquire(other, slots, runs, now=fakes.LATER).acquired


# --- Property: any sequence of acquire, release and abort leaks no slot ---------------------------------------------

RUN_IDS = [f"run-{index}" for index in range(6)]
_operations = st.lists(
    st.tuples(st.sampled_from(["acquire", "release", "abort", "finish-without-release"]), st.sampled_from(RUN_IDS)),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(operations=_operations, limit=st.integers(min_value=1, max_value=3), conflicts=st.integers(0, 3))
def test_no_sequence_of_acquires_releases_and_aborts_leaks_a_slot(
    operations: list[tuple[str, str]], limit: int, conflicts: int
) -> None:
    slots, runs = FakeJobSlots(conflicts=conflicts), _runs(*RUN_IDS)
    holding: set[str] = set()
    for step, (operation, run_id) in enumerate(operations):
        now = f"2026-01-02T03:{step // 60:02d}:{step % 60:02d}Z"
        if operation == "acquire":
            if runs.items[run_id]["status"] in (STATUS_COMPLETED, STATUS_STOPPED):
                runs.items[run_id]["status"] = STATUS_VALIDATING  # a new attempt of the same id, for the model
            if _acquire(run_id, slots, runs, limit=limit, now=now).acquired:
                holding.add(run_id)
        elif operation == "release":
            had = run_id in slots.pool.holders or run_id in slots.pool.waiting
            assert release_slot(run_id, slots=slots).released is had
            holding.discard(run_id)
            runs.items[run_id]["status"] = STATUS_COMPLETED
        elif operation == "abort":
            _execution_ended(EXECUTION_ABORTED, run_id, slots, runs, now=now)
            holding.discard(run_id)
        else:
            # The run ended but its release was lost: the slot may stay held until someone finds no free slot.
            runs.items[run_id]["status"] = STATUS_COMPLETED
            holding.discard(run_id)
        assert len(slots.pool.holders) <= limit
        assert set(slots.pool.holders) >= holding
        assert not set(slots.pool.holders) & set(slots.pool.waiting)
    # Once every run has ended, one new run finds a slot: nothing leaked for good.
    runs.items["late"] = {"run_id": "late", "run_name": "demo", "status": STATUS_VALIDATING, "execution_arn": "x"}
    for run_id in holding:
        release_slot(run_id, slots=slots)
        runs.items[run_id]["status"] = STATUS_COMPLETED
    for run_id, item in runs.items.items():
        if run_id != "late" and item["status"] not in (STATUS_COMPLETED, STATUS_STOPPED):
            runs.items[run_id]["status"] = STATUS_STOPPED  # waiting runs the test never finished: aborted
    assert _acquire("late", slots, runs, limit=limit, now="2026-01-03T00:00:00Z").acquired
