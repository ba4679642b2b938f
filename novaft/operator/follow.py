"""Polling loops for ``--wait``: wait for a run to appear, follow it until it ends (pure: I/O comes in as callables)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from novaft.operator.errors import WaitTimedOut
from novaft.operator.runs import RunStatus

DEFAULT_POLL_SECONDS = 15.0
T = TypeVar("T")


def wait_for(
    find: Callable[[], T | None],
    *,
    what: str,
    interval: float,
    timeout: float,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> T:
    """Call ``find`` until it returns something; ``WaitTimedOut`` after ``timeout`` seconds."""
    deadline = clock() + timeout
    while True:
        found = find()
        if found is not None:
            return found
        if clock() >= deadline:
            raise WaitTimedOut(f"{what} did not happen within {timeout:g} s")
        sleep(interval)


def follow_run(
    read: Callable[[], RunStatus],
    on_change: Callable[[RunStatus], None],
    *,
    interval: float,
    timeout: float | None,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    on_poll: Callable[[RunStatus], None] | None = None,
) -> RunStatus:
    """Poll until the run finishes, calling ``on_change`` for the first reading and each change after it, and
    ``on_poll`` (live progress) after every reading of a run still going."""
    deadline = None if timeout is None else clock() + timeout
    last_key: tuple[str | None, ...] | None = None
    while True:
        status = read()
        if status.change_key() != last_key:
            on_change(status)
            last_key = status.change_key()
        if status.finished:
            return status
        if on_poll is not None:
            on_poll(status)
        if deadline is not None and clock() >= deadline:
            raise WaitTimedOut(
                f"run {status.run.run_name} is still {status.run.status} after {timeout:g} s; "
                f"it keeps running, follow it with `novaft status {status.run.run_id} --wait`"
            )
        sleep(interval)
