"""Step Functions executions: describe, read the newest history events, stop."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from novaft.aws.errors import ExecutionNotFound, is_not_found

# Enough newest events to reach the last StateEntered even past a task's scheduled/started/succeeded events.
_HISTORY_EVENTS = 50
# The error name a stopped execution shows as its failure; stop_run keys off the ABORTED status, not this.
STOPPED_BY_OPERATOR = "StoppedByOperator"


class StepFunctionsExecutions:
    def __init__(self, stepfunctions: Any) -> None:
        self._sfn = stepfunctions

    def describe(self, execution_arn: str) -> dict[str, Any]:
        """DescribeExecution's answer; ``ExecutionNotFound`` when no execution has that ARN."""
        try:
            return dict(self._sfn.describe_execution(executionArn=execution_arn))
        except ClientError as error:
            if is_not_found(error):
                raise ExecutionNotFound(f"no execution {execution_arn}") from None
            raise

    def newest_events(self, execution_arn: str) -> list[dict[str, Any]]:
        response = self._sfn.get_execution_history(
            executionArn=execution_arn, reverseOrder=True, maxResults=_HISTORY_EVENTS, includeExecutionData=False
        )
        return [dict(event) for event in response.get("events", [])]

    def stop(self, execution_arn: str, *, cause: str) -> None:
        self._sfn.stop_execution(executionArn=execution_arn, error=STOPPED_BY_OPERATOR, cause=cause)
