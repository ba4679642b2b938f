"""The state a Step Functions execution is in, read from its event history (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def _state_entered(event: Mapping[str, Any]) -> str | None:
    if not str(event.get("type", "")).endswith("StateEntered"):
        return None
    name = (event.get("stateEnteredEventDetails") or {}).get("name")
    return str(name) if name else None


def current_state_from_history(events_newest_first: Iterable[Mapping[str, Any]]) -> str | None:
    """The name of the state entered last, or None before any state was entered.

    Events are asked for newest first (``get_execution_history(reverseOrder=True)``); after the execution ends this
    is the state it ended in (a Succeed/Fail state or the one that failed). When every event carries its ``id``
    (ascending in time), the highest id wins whatever the order: an endpoint that ignores ``reverseOrder`` (the
    local emulation does) would otherwise report the first state of the run as its current one.
    """
    entered = [(event.get("id"), name) for event in events_newest_first if (name := _state_entered(event))]
    if not entered:
        return None
    ids = [event_id for event_id, _ in entered if isinstance(event_id, int)]
    if len(ids) == len(entered):
        return entered[ids.index(max(ids))][1]
    return entered[0][1]
