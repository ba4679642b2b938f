"""The gate between RenderRecipe and StartTraining (docs/policy.md, "Approval" and "Queue"). States only, no resources.

1. A run whose plan asks for approval (``$.plan.approval``) waits in AwaitApproval on a task token until
   ``novaft approve`` / ``novaft reject`` answers, or until the stage's ``approval_timeout_hours`` pass; a rejection
   and a timeout both fail the run with the error ``Rejected`` and no job starts.
2. AcquireSlot takes one of the stage's ``max_concurrent_jobs`` training slots, or the run waits (``Queued``) in a
   bounded Wait loop and asks again; a run that waited ``max_queue_polls`` times fails as ``QueueWaitExhausted``.
3. StartTraining retries SageMaker's ``ResourceLimitExceeded`` / capacity errors with backoff (the run is recorded
   ``Queued`` meanwhile, holding its slot); after the bound it fails as ``QuotaWaitExhausted``.

``release_then`` builds the ReleaseSlot states the workflow passes through on every way a run ends: before
RecordResult (the training job ended) and before RecordFailure (any failure, the gate's own included). A release
that fails never fails the run (the next run that finds no slot evicts holders whose run has ended). stop_run releases
the slot of an aborted or timed-out execution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from novaft.pipeline.facts import (
    APPROVAL_REJECTED_ERROR,
    APPROVAL_TIMED_OUT_CAUSE,
    QUEUE_WAIT_EXHAUSTED_ERROR,
    QUOTA_WAIT_EXHAUSTED_ERROR,
)
from stacks.constructs.job_polling import count_poll, init_polls
from stacks.constructs.retries import retry_with_jitter
from stacks.constructs.workflow_fragment import FragmentTools, WorkflowFunctions

# Raised by the slot step when the semaphore kept changing under it (novaft.pipeline.steps.job_slots).
SLOT_CONTENTION = "SlotContention"
# Wait, CountQueuePoll, AcquireSlot (scheduled, started, succeeded) and SlotAcquired: entered and exited each.
HISTORY_EVENTS_PER_QUEUE_POLL = 11
# How long a run waits in the queue at most when the execution history leaves room for it.
QUEUE_WAIT_HOURS = 24
_TASK_TIMEOUT = "States.Timeout"
_ALL_ERRORS = ["States.ALL"]
_SECONDS_PER_HOUR = 3600


@dataclass(frozen=True)
class GateBounds:
    """How long a run may wait for an answer, for a slot, and for the account's SageMaker quota.

    Each queue poll adds about ten events to the execution's history (at most 25,000), so the queue wait is bounded
    by polls, not only by time: the defaults wait up to 24 hours, polling every 5 minutes.
    """

    approval_timeout_hours: float = 72
    queue_poll_seconds: int = 300
    max_queue_polls: int = 288

    @classmethod
    def within_history(
        cls, *, approval_timeout_hours: float, poll_seconds: int, history_events_left: int
    ) -> GateBounds:
        """Queue polls ``poll_seconds`` apart for up to QUEUE_WAIT_HOURS, fewer if the execution history (what the
        training polls leave of it) has no room for more."""
        wanted = math.ceil(QUEUE_WAIT_HOURS * _SECONDS_PER_HOUR / poll_seconds)
        room = history_events_left // HISTORY_EVENTS_PER_QUEUE_POLL
        return cls(
            approval_timeout_hours=approval_timeout_hours,
            queue_poll_seconds=poll_seconds,
            max_queue_polls=max(1, min(wanted, room)),
        )

    @property
    def queue_wait_hours(self) -> int:
        return math.ceil(self.queue_poll_seconds * self.max_queue_polls / _SECONDS_PER_HOUR)

    @property
    def approval_timeout(self) -> cdk.Duration:
        return cdk.Duration.seconds(round(self.approval_timeout_hours * _SECONDS_PER_HOUR))


@dataclass(frozen=True)
class QuotaThenAll:
    """StartTraining's catchers: capacity errors that outlived their retries become ``QuotaWaitExhausted``; any other
    error goes where every task's errors go. Step Functions requires the States.ALL catcher to be the last."""

    quota_exhausted: sfn.IChainable
    capacity_errors: tuple[str, ...]
    otherwise: sfn.IChainable

    def attach(self, task: sfn.TaskStateBase) -> sfn.TaskStateBase:
        task.add_catch(self.quota_exhausted, errors=list(self.capacity_errors), result_path="$.quota_error")
        task.add_catch(self.otherwise, errors=_ALL_ERRORS, result_path="$.failure")
        return task


class WorkflowGate:
    """``entry`` is the gate's first state; ``connect(start)`` sends a run that holds a slot to StartTraining;
    ``on_failure`` (ReleaseSlotOnFailure, then RecordFailure) is where the workflow's failures go."""

    def __init__(
        self,
        scope: Construct,
        *,
        functions: WorkflowFunctions,
        bounds: GateBounds,
        tools: FragmentTools,
        record_failure: sfn.IChainable,
    ) -> None:
        self._scope = scope
        self._functions = functions
        invoke, catch_to = tools.invoke, tools.catch_to
        self._invoke, self._catch_to = invoke, catch_to
        # Every failure from RenderRecipe on passes here: a run that holds a slot (or waits for one) gives it back.
        on_failure = self.release_then("ReleaseSlotOnFailure", record_failure)
        self.on_failure: sfn.IChainable = on_failure
        to_failure = catch_to(on_failure, "$.failure")

        approval_timed_out = sfn.Pass(
            scope,
            "ApprovalTimedOut",
            parameters={"Error": APPROVAL_REJECTED_ERROR, "Cause": APPROVAL_TIMED_OUT_CAUSE},
            result_path="$.failure",
        )
        approval_timed_out.next(on_failure)
        await_approval = tasks.LambdaInvoke(
            scope,
            "AwaitApproval",
            lambda_function=functions.await_approval,
            integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            payload=sfn.TaskInput.from_object(
                {
                    "run": sfn.JsonPath.object_at("$.run"),
                    "ask": sfn.JsonPath.object_at("$.plan.approval"),
                    "task_token": sfn.JsonPath.task_token,
                }
            ),
            task_timeout=sfn.Timeout.duration(bounds.approval_timeout),
            result_path="$.approval",
        )
        # Only Lambda's own failures to run the function are retried: a retry asks again with a new token.
        retry_with_jitter(
            await_approval,
            ["Lambda.ServiceException", "Lambda.TooManyRequestsException", "Lambda.SdkClientException"],
            interval_seconds=2,
            max_attempts=6,
        )
        await_approval.add_catch(approval_timed_out, errors=[_TASK_TIMEOUT], result_path="$.approval_timeout")
        await_approval.add_catch(on_failure, errors=_ALL_ERRORS, result_path="$.failure")

        first_poll = init_polls(scope, "InitQueuePolls", "$.queue_polls")
        acquire = invoke(
            "AcquireSlot", functions.acquire_slot, {"run.$": "$.run"}, result_path="$.slot", on_error=to_failure
        )
        retry_with_jitter(acquire, [SLOT_CONTENTION], interval_seconds=1, max_attempts=5)
        wait = sfn.Wait(
            scope, "WaitForSlot", time=sfn.WaitTime.duration(cdk.Duration.seconds(bounds.queue_poll_seconds))
        )
        queue_exhausted = sfn.Pass(
            scope,
            "QueueWaitExhausted",
            parameters={
                "Error": QUEUE_WAIT_EXHAUSTED_ERROR,
                "Cause": f"No training slot freed up after {bounds.max_queue_polls} checks "
                f"{bounds.queue_poll_seconds} s apart (max_concurrent_jobs of the stage policy); upload again later.",
            },
            result_path="$.failure",
        )
        queue_exhausted.next(on_failure)
        wait.next(count_poll(scope, "CountQueuePoll", "$.queue_polls")).next(acquire)
        first_poll.next(acquire)
        self._acquire, self._wait, self._queue_exhausted = acquire, wait, queue_exhausted
        self._max_queue_polls = bounds.max_queue_polls

        await_approval.next(first_poll)
        self.entry: sfn.IChainable = (
            sfn.Choice(scope, "NeedsApproval")
            # RenderRecipe writes "approval": null for a run that needs none.
            .when(
                sfn.Condition.and_(
                    sfn.Condition.is_present("$.plan.approval"), sfn.Condition.is_not_null("$.plan.approval")
                ),
                await_approval,
            )
            .otherwise(first_poll)
        )

    def connect(self, start: sfn.IChainable) -> None:
        """A run that holds a slot goes on to ``start`` (StartTraining); the slot is checked before the poll bound, so
        a run that gets its slot on the last poll starts."""
        slot_acquired = (
            sfn.Choice(self._scope, "SlotAcquired")
            .when(sfn.Condition.boolean_equals("$.slot.acquired", True), start)
            .when(
                sfn.Condition.number_greater_than_equals("$.queue_polls.count", self._max_queue_polls),
                self._queue_exhausted,
            )
            .otherwise(self._wait)
        )
        self._acquire.next(slot_acquired)

    def start_catchers(self, capacity_errors: tuple[str, ...]) -> QuotaThenAll:
        """StartTraining's ``on_error``: capacity errors left after the retries end as QuotaWaitExhausted."""
        exhausted = sfn.Pass(
            self._scope,
            "QuotaWaitExhausted",
            parameters={
                "Error": QUOTA_WAIT_EXHAUSTED_ERROR,
                "Cause.$": "States.Format('SageMaker still refused the training job for lack of quota or capacity "
                "after the workflow waited and retried: {}', $.quota_error.Cause)",
            },
            result_path="$.failure",
        )
        exhausted.next(self.on_failure)
        return QuotaThenAll(exhausted, capacity_errors, self.on_failure)

    def release_then(self, name: str, next_state: sfn.IChainable) -> sfn.IChainable:
        """A ReleaseSlot task that goes on to ``next_state`` whether or not the release worked."""
        release = self._invoke(
            name,
            self._functions.release_slot,
            {"run.$": "$.run"},
            result_path="$.slot_release",
            on_error=self._catch_to(next_state, "$.slot_release_error"),
        )
        release.next(next_state)
        return release
