"""Step Functions executions: describe, read the newest history events, stop, answer a waiting task."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from novaft.aws.errors import ExecutionNotFound, error_code, error_message, missing_as
from novaft.errors import NovaftError

# Enough newest events to reach the last StateEntered even past a task's scheduled/started/succeeded events.
_HISTORY_EVENTS = 50
# The error name a stopped execution shows as its failure; stop_run keys off the ABORTED status, not this.
STOPPED_BY_OPERATOR = "StoppedByOperator"


class TaskNotWaiting(NovaftError):
    """The task token was answered already, timed out, or belongs to no waiting task."""


class StepFunctionsExecutions:
    def __init__(self, stepfunctions: Any) -> None:
        self._sfn = stepfunctions

    def describe(self, execution_arn: str) -> dict[str, Any]:
        """DescribeExecution's answer; ``ExecutionNotFound`` when no execution has that ARN."""
        with missing_as(ExecutionNotFound(f"no execution {execution_arn}")):
            return dict(self._sfn.describe_execution(executionArn=execution_arn))

    def newest_events(self, execution_arn: str) -> list[dict[str, Any]]:
        response = self._sfn.get_execution_history(
            executionArn=execution_arn, reverseOrder=True, maxResults=_HISTORY_EVENTS, includeExecutionData=False
        )
        return [dict(event) for event in response.get("events", [])]

    def stop(self, execution_arn: str, *, cause: str) -> None:
        self._sfn.stop_execution(executionArn=execution_arn, error=STOPPED_BY_OPERATOR, cause=cause)

    def start(self, state_machine_arn: str, *, name: str, document: dict[str, Any]) -> str:
        """StartExecution with ``document`` as its JSON input; the execution's ARN."""
        response = self._sfn.start_execution(
            stateMachineArn=state_machine_arn, name=name, input=json.dumps(document, separators=(",", ":"))
        )
        return str(response["executionArn"])

    def send_task_success(self, task_token: str, *, output: dict[str, Any]) -> None:
        """Answer a waiting task; ``TaskNotWaiting`` when the token was answered already, expired or is unknown."""
        try:
            self._sfn.send_task_success(taskToken=task_token, output=json.dumps(output))
        except ClientError as error:
            _raise_task_not_waiting(error)
            raise

    def send_task_failure(self, task_token: str, *, error: str, cause: str) -> None:
        try:
            self._sfn.send_task_failure(taskToken=task_token, error=error, cause=cause[:_TASK_CAUSE_MAX_CHARS])
        except ClientError as client_error:
            _raise_task_not_waiting(client_error)
            raise


# SendTaskFailure's cause is at most 32,768 characters (Step Functions API reference).
_TASK_CAUSE_MAX_CHARS = 32768
# The answers of SendTaskSuccess/SendTaskFailure for a token that nothing waits on any more (API reference).
_TASK_NOT_WAITING_CODES = frozenset({"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"})


def _raise_task_not_waiting(error: ClientError) -> None:
    if error_code(error) in _TASK_NOT_WAITING_CODES:
        raise TaskNotWaiting(
            f"the workflow no longer waits for this answer ({error_code(error)}: {error_message(error)})"
        ) from None
