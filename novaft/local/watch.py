"""Find the workflow executions a dataset drop started and follow them, state by state, from their history."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

TERMINAL_STATUSES = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


class ExecutionNotFound(Exception):
    """No execution started for the dropped object within the wait."""


@dataclass(frozen=True)
class StateStep:
    """One line of an execution's progress: a state entered or exited, or the execution's end."""

    execution_arn: str
    event_id: int
    kind: str
    state: str
    detail: str = ""


def executions_for_object(stepfunctions: Any, state_machine_arn: str, key: str) -> list[dict[str, Any]]:
    """Executions whose input is the S3 event for ``key`` (oldest first)."""
    found = []
    for page in stepfunctions.get_paginator("list_executions").paginate(stateMachineArn=state_machine_arn):
        for execution in page["executions"]:
            started = stepfunctions.describe_execution(executionArn=execution["executionArn"])
            event = json.loads(started.get("input") or "{}")
            # S3 events carry the key URL-encoded.
            if unquote_plus(str(event.get("detail", {}).get("object", {}).get("key", ""))) == key:
                found.append(started)
    return sorted(found, key=lambda e: e["startDate"])


def wait_for_executions(
    stepfunctions: Any, state_machine_arn: str, key: str, count: int = 1, timeout_seconds: float = 15.0
) -> list[str]:
    """ARNs of the first ``count`` executions started for ``key``; raises when they do not appear in time."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        executions = executions_for_object(stepfunctions, state_machine_arn, key)
        if len(executions) >= count:
            return [e["executionArn"] for e in executions]
        if time.monotonic() > deadline:
            raise ExecutionNotFound(f"no execution started for s3 key {key} within {timeout_seconds:.0f} s")
        time.sleep(0.1)


def steps(history_events: Iterable[dict[str, Any]], execution_arn: str) -> list[StateStep]:
    """The readable progress lines in an execution's history events."""
    found = []
    for event in history_events:
        kind = event["type"]
        if kind.endswith("StateEntered"):
            found.append(StateStep(execution_arn, event["id"], "entered", event["stateEnteredEventDetails"]["name"]))
        elif kind.endswith("StateExited"):
            found.append(StateStep(execution_arn, event["id"], "exited", event["stateExitedEventDetails"]["name"]))
        elif kind in ("ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"):
            details = event.get("executionFailedEventDetails", {})
            detail = f"{details.get('error', '')}: {details.get('cause', '')[:300]}" if details else ""
            found.append(StateStep(execution_arn, event["id"], kind.removeprefix("Execution").upper(), "", detail))
    return found


def follow(
    stepfunctions: Any,
    execution_arns: Iterable[str],
    on_step: Callable[[StateStep], None],
    timeout_seconds: float = 90.0,
    poll_seconds: float = 0.2,
) -> dict[str, str]:
    """Report every new step of the executions as it happens, until all have ended; returns each one's status."""
    pending = list(execution_arns)
    seen: dict[str, int] = dict.fromkeys(pending, 0)
    statuses: dict[str, str] = {}
    deadline = time.monotonic() + timeout_seconds
    while pending and time.monotonic() < deadline:
        for arn in list(pending):
            status = stepfunctions.describe_execution(executionArn=arn)["status"]
            events = stepfunctions.get_execution_history(executionArn=arn, maxResults=1000)["events"]
            for step in steps(events, arn):
                if step.event_id > seen[arn]:
                    seen[arn] = step.event_id
                    on_step(step)
            if status in TERMINAL_STATUSES:
                statuses[arn] = status
                pending.remove(arn)
        time.sleep(poll_seconds)
    for arn in pending:
        statuses[arn] = stepfunctions.describe_execution(executionArn=arn)["status"]
    return statuses


def wait_for_status(stepfunctions: Any, execution_arn: str, timeout_seconds: float = 30.0) -> dict[str, Any]:
    """The execution's description once it has ended (or as it is when the wait runs out)."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        description: dict[str, Any] = stepfunctions.describe_execution(executionArn=execution_arn)
        if description["status"] in TERMINAL_STATUSES or time.monotonic() > deadline:
            return description
        time.sleep(0.1)
