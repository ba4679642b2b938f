"""The state a Step Functions execution is in, read from its event history (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def current_state_from_history(events_newest_first: Iterable[Mapping[str, Any]]) -> str | None:
    """The name of the state entered last, or None before any state was entered.

    Events come newest first (``get_execution_history(reverseOrder=True)``), so the first ``*StateEntered`` event
    wins; after the execution ends this is the state it ended in (a Succeed/Fail state or the one that failed).
    """
    for event in events_newest_first:
        if str(event.get("type", "")).endswith("StateEntered"):
            details = event.get("stateEnteredEventDetails") or {}
            name = details.get("name")
            if name:
                return str(name)
    return None
