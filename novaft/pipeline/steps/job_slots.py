"""AcquireSlot / ReleaseSlot: at most ``max_concurrent_jobs`` training jobs per stage at once (docs/policy.md, Queue).

The slots are one item of the runs table (a semaphore): the runs holding a slot and the runs waiting for one, each
with the time it arrived, and a version. Every change is a read, a decision made here, and a write that succeeds only
if nobody wrote in between (``JobSlotStore.write`` is conditional on the version), so two runs never take the last
slot together. A waiting run gets a slot when it is among the oldest waiters that fit the free slots, so runs start in
arrival order as far as the workflow's polling allows.

A slot is released on every way a run ends (RecordResult, RecordFailure, stop_run for an aborted or timed-out
execution); releasing twice, or releasing a run that never held a slot, changes nothing. If a release is ever lost
anyway, the next run that finds no free slot evicts holders and waiters whose run has a final status, so a lost release
delays the queue by one poll at most instead of closing a slot for good.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict

from novaft.errors import NovaftError
from novaft.pipeline.contracts import RunContext
from novaft.pipeline.facts import FINAL_RUN_STATUSES, STATUS_QUEUED, TRAINING_SLOT_POOL
from novaft.pipeline.steps.ports import RunStore

_Answer = TypeVar("_Answer")

# How often one acquire or release re-reads the semaphore after another writer changed it in between.
MAX_WRITE_CONFLICTS = 8


class SlotContention(NovaftError):
    """The semaphore changed under every attempt to write it; the workflow retries the task."""


@dataclass(frozen=True)
class SlotPool:
    """The semaphore item: who holds a slot and who waits (run id -> ISO time), and its version."""

    holders: Mapping[str, str] = field(default_factory=dict)
    waiting: Mapping[str, str] = field(default_factory=dict)
    version: int = 0

    def queue(self) -> list[str]:
        """Waiting run ids in arrival order (the run id breaks a tie between equal times)."""
        return sorted(self.waiting, key=lambda run_id: (self.waiting[run_id], run_id))

    def without(self, run_ids: set[str]) -> SlotPool:
        return replace(
            self,
            holders={k: v for k, v in self.holders.items() if k not in run_ids},
            waiting={k: v for k, v in self.waiting.items() if k not in run_ids},
        )


class JobSlotStore(Protocol):
    def read(self, pool: str) -> SlotPool:
        """The pool as stored; an empty pool at version 0 when it was never written."""
        ...

    def write(self, pool: str, new: SlotPool, *, expected_version: int) -> bool:
        """Store ``new`` at version ``expected_version + 1`` unless the stored version is no longer
        ``expected_version``; False when someone else wrote first (nothing is changed then)."""
        ...


class SlotClaim(BaseModel):
    """``$.slot``: whether the run holds a slot now, and otherwise its place in the queue (1 = next)."""

    model_config = ConfigDict(frozen=True)

    acquired: bool
    place: int | None = None
    holders: int = 0
    limit: int = 0
    # How many runs wait for a slot after this answer (the queue depth metric).
    waiting: int = 0


class SlotInput(BaseModel):
    """AcquireSlot's and ReleaseSlot's payload: ``{"run": $.run}``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    run: RunContext


class SlotRelease(BaseModel):
    model_config = ConfigDict(frozen=True)

    released: bool


def claim(pool: SlotPool, run_id: str, *, limit: int, now: str) -> tuple[SlotPool, SlotClaim]:
    """The pool after ``run_id`` asks for a slot, and the answer. Pure: the caller writes the pool."""
    if run_id in pool.holders:
        return pool, SlotClaim(acquired=True, holders=len(pool.holders), limit=limit)
    waiting = {**pool.waiting, run_id: pool.waiting.get(run_id, now)}
    queued = replace(pool, waiting=waiting)
    free = max(limit - len(pool.holders), 0)
    position = queued.queue().index(run_id)
    if position < free:
        holders = {**pool.holders, run_id: now}
        del waiting[run_id]
        return replace(pool, holders=holders, waiting=waiting), SlotClaim(
            acquired=True, holders=len(holders), limit=limit
        )
    return queued, SlotClaim(acquired=False, place=position - free + 1, holders=len(pool.holders), limit=limit)


def acquire_slot(
    payload: SlotInput,
    *,
    limit: int,
    slots: JobSlotStore,
    runs: RunStore,
    now: str,
    pool_name: str = TRAINING_SLOT_POOL,
) -> SlotClaim:
    """Take a slot for the run, or keep it waiting (recorded ``Queued`` with its place and arrival time)."""
    run_id = payload.run.run_id

    def decide(pool: SlotPool) -> tuple[SlotPool, SlotClaim]:
        new, answer = claim(pool, run_id, limit=limit, now=now)
        if answer.acquired:
            return new, answer
        # No slot: before waiting, drop holders and waiters whose run has ended (a release that was lost).
        ended = {other for other in {*pool.holders, *pool.waiting} - {run_id} if _has_ended(runs, other)}
        if not ended:
            return new, answer
        return claim(pool.without(ended), run_id, limit=limit, now=now)

    pool, answer = _change(slots, pool_name, decide)
    answer = answer.model_copy(update={"waiting": len(pool.waiting)})
    if not answer.acquired:
        runs.update(
            run_id,
            {
                "status": STATUS_QUEUED,
                "queued_at": pool.waiting[run_id],
                "queue_place": answer.place,
                "updated_at": now,
            },
        )
    return answer


def release_slot(run_id: str, *, slots: JobSlotStore, pool_name: str = TRAINING_SLOT_POOL) -> SlotRelease:
    """Give back the run's slot (or its place in the queue); true when it had either. Safe to call twice."""

    def decide(pool: SlotPool) -> tuple[SlotPool, SlotRelease]:
        had = run_id in pool.holders or run_id in pool.waiting
        return (pool.without({run_id}) if had else pool), SlotRelease(released=had)

    return _change(slots, pool_name, decide)[1]


def _change(
    slots: JobSlotStore, pool_name: str, decide: Callable[[SlotPool], tuple[SlotPool, _Answer]]
) -> tuple[SlotPool, _Answer]:
    for _ in range(MAX_WRITE_CONFLICTS):
        pool = slots.read(pool_name)
        new, answer = decide(pool)
        if new == pool or slots.write(pool_name, new, expected_version=pool.version):
            return new, answer
    raise SlotContention(
        f"job slots {pool_name!r}: the semaphore changed under each of {MAX_WRITE_CONFLICTS} attempts to write it"
    )


def _has_ended(runs: RunStore, run_id: str) -> bool:
    item: dict[str, Any] | None = runs.find(run_id)
    return item is None or str(item.get("status", "")) in FINAL_RUN_STATUSES
