"""Step Functions calls the operator needs: describe an execution, its current state, stop it."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from novaft.operator.execution_history import current_state_from_history
from novaft.operator.run_status import ExecutionView

# Enough newest events to reach the last StateEntered even past a task's scheduled/started/succeeded events.
_HISTORY_EVENTS = 50


class WorkflowAdapter:
    def __init__(self, stepfunctions: Any) -> None:
        self._sfn = stepfunctions

    def describe(self, execution_arn: str) -> ExecutionView | None:
        try:
            response = self._sfn.describe_execution(executionArn=execution_arn)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ExecutionDoesNotExist":
                return None
            raise
        return ExecutionView(
            execution_arn=execution_arn,
            status=str(response["status"]),
            started_at=response.get("startDate"),
            stopped_at=response.get("stopDate"),
            error=response.get("error"),
            cause=response.get("cause"),
        )

    def current_state(self, execution_arn: str) -> str | None:
        response = self._sfn.get_execution_history(
            executionArn=execution_arn, reverseOrder=True, maxResults=_HISTORY_EVENTS, includeExecutionData=False
        )
        return current_state_from_history(response.get("events", []))

    def stop(self, execution_arn: str, *, cause: str) -> None:
        # The error name is what the execution shows as its failure; stop_run keys off the ABORTED status, not this.
        self._sfn.stop_execution(executionArn=execution_arn, error="StoppedByOperator", cause=cause)
