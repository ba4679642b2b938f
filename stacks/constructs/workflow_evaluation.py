"""The evaluation fragment of the run workflow (docs/evaluation.md): after a completed run, evaluate it.

States only, no resources. PlanEvaluation builds the jobs (none when the job spec asks for none: the fragment is then
skipped). A Map runs them, at most ``max_concurrency`` at once; each item starts its job and waits for it like
training (Wait + DescribeTrainingJob, bounded, stopped when the polls run out). RecordEvaluation reads the results,
writes evaluation.json and the record, and a notification follows. A failed gate is a result: the fragment goes on to
``done`` (the deployment step reads the gate). A failed evaluation ends the execution as ``EvaluationFailed``; the run
itself stays Completed.
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from novaft.pipeline.errors import EvaluationFailed, SageMakerCapacityError, SageMakerThrottled
from novaft.pipeline.facts import RUNNING_TRAINING_STATUSES
from stacks.constructs.job_polling import (
    count_poll,
    describe_training_job,
    init_polls,
    status_in,
    stop_training_job,
)
from stacks.constructs.retries import retry_with_jitter
from stacks.constructs.workflow_fragment import FragmentTools, WorkflowFunctions

EVALUATION_FAILED_ERROR = EvaluationFailed.workflow_error
# What an evaluation job that ran out of polls is recorded as (it is stopped first), and one that never started.
TIMED_OUT_STATUS = "TimedOut"
NOT_STARTED_STATUS = "NotStarted"


@dataclass(frozen=True)
class EvaluationBounds:
    """How many evaluation jobs run at once, how often each is checked, and how many checks before it is stopped."""

    interval: cdk.Duration
    max_polls: int
    max_concurrency: int = 2


def evaluation_states(
    scope: Construct,
    *,
    functions: WorkflowFunctions,
    bounds: EvaluationBounds,
    tools: FragmentTools,
    done: sfn.IChainable,
    prefix: str = "",
    tasks_path: str | None = None,
) -> sfn.IChainable:
    """The first state of the fragment; it ends in ``done`` or in EvaluationFailed.

    ``prefix`` starts every state name, so the fragment can appear twice in one state machine (after training, and for
    ``novaft evaluate``); ``tasks_path`` is where the state holds the tasks asked for instead of the job spec's.
    """
    invoke, catch_to = tools.invoke, tools.catch_to
    failed = sfn.Fail(
        scope, f"{prefix}EvaluationFailedEnd", error=EVALUATION_FAILED_ERROR, cause_path="$.evaluation.message"
    )
    # Recording failed too: the error that stopped the evaluation is still the execution's cause.
    failed_unrecorded = sfn.Fail(
        scope,
        f"{prefix}EvaluationFailedUnrecorded",
        error=EVALUATION_FAILED_ERROR,
        cause_path="$.evaluation_failure.Cause",
    )
    record_failure = invoke(
        f"{prefix}RecordEvaluationFailure",
        functions.record_evaluation,
        {"run.$": "$.run", "validation.$": "$.validation", "failure.$": "$.evaluation_failure"},
        result_path="$.evaluation",
        on_error=catch_to(failed_unrecorded, "$.record_error"),
    )
    to_failure = catch_to(record_failure, "$.evaluation_failure")
    plan = invoke(
        f"{prefix}PlanEvaluation",
        functions.plan_evaluation,
        {
            "run.$": "$.run",
            "validation.$": "$.validation",
            "round.$": "$$.Execution.Name",
            **({"tasks.$": tasks_path} if tasks_path else {}),
        },
        result_path="$.evaluation_plan",
        on_error=to_failure,
    )
    jobs = sfn.Map(
        scope,
        f"{prefix}EvaluationJobs",
        items_path="$.evaluation_plan.jobs",
        item_selector={"run.$": "$.run", "job.$": "$$.Map.Item.Value"},
        max_concurrency=bounds.max_concurrency,
        result_path="$.evaluation_results",
    )
    jobs.item_processor(_one_job(scope, prefix=prefix, functions=functions, bounds=bounds, tools=tools))
    catch_to(record_failure, "$.evaluation_failure").attach(jobs)
    record = invoke(
        f"{prefix}RecordEvaluation",
        functions.record_evaluation,
        {"run.$": "$.run", "validation.$": "$.validation", "results.$": "$.evaluation_results"},
        result_path="$.evaluation",
        on_error=to_failure,
    )
    outcome = (
        sfn.Choice(scope, f"{prefix}EvaluationOutcome")
        .when(sfn.Condition.boolean_equals("$.evaluation.failed", True), failed)
        .otherwise(done)
    )
    notify = tools.publish(f"{prefix}NotifyEvaluation", subject="$.evaluation.subject", message="$.evaluation.message")
    # The result is recorded; a lost notification must not change the outcome.
    catch_to(outcome, "$.notification_error").attach(notify)
    record.next(notify).next(outcome)
    record_failure.next(notify)
    jobs.next(record)
    has_jobs = (
        sfn.Choice(scope, f"{prefix}HasEvaluationJobs")
        .when(sfn.Condition.is_present("$.evaluation_plan.jobs[0]"), jobs)
        .otherwise(done)
    )
    plan.next(has_jobs)
    return plan


def _one_job(
    scope: Construct,
    *,
    prefix: str,
    functions: WorkflowFunctions,
    bounds: EvaluationBounds,
    tools: FragmentTools,
) -> sfn.IChainable:
    """Start one evaluation job and wait for it; the item's output is ``{task, side, job_name, status}``."""
    catch_to = tools.catch_to
    # A Catch inside a Map can only go to a state of the same Map: a job that could not start is an item result with
    # the error's cause as its reason.
    not_started = sfn.Pass(
        scope,
        f"{prefix}EvaluationNotStarted",
        parameters={
            "task.$": "$.job.task",
            "side.$": "$.job.side",
            "job_name.$": "$.job.job_name",
            "status": NOT_STARTED_STATUS,
            "reason.$": "$.start_error.Cause",
        },
    )
    finished = sfn.Pass(
        scope,
        f"{prefix}EvaluationJobFinished",
        parameters={
            "task.$": "$.job.task",
            "side.$": "$.job.side",
            "job_name.$": "$.job.job_name",
            "status.$": "$.evaluation_job.status",
        },
    )
    start = tools.invoke(
        f"{prefix}StartEvaluation",
        functions.start_evaluation,
        {"run.$": "$.run", "job.$": "$.job"},
        result_path=sfn.JsonPath.DISCARD,
        on_error=catch_to(not_started, "$.start_error"),
    )
    # As StartTraining: a throttled call, or instances SageMaker cannot give yet, are asked again before giving up.
    retry_with_jitter(
        start,
        [SageMakerThrottled.workflow_error, SageMakerCapacityError.workflow_error],
        interval_seconds=30,
        max_attempts=6,
        max_delay=cdk.Duration.minutes(15),
    )
    polls = "$.evaluation_polls"
    init = init_polls(scope, f"{prefix}InitEvaluationPolls", polls)
    wait = sfn.Wait(scope, f"{prefix}WaitForEvaluation", time=sfn.WaitTime.duration(bounds.interval))
    describe = describe_training_job(
        scope,
        f"{prefix}DescribeEvaluationJob",
        job_arns=tools.training_job_arns,
        job_name_path="$.job.job_name",
        result_selector={"status.$": "$.TrainingJobStatus"},
        result_path="$.evaluation_job",
        transient_errors=tools.sdk_transient_errors,
    )
    count = count_poll(scope, f"{prefix}CountEvaluationPoll", polls)
    timed_out = sfn.Pass(
        scope,
        f"{prefix}EvaluationTimedOut",
        result=sfn.Result.from_object({"status": TIMED_OUT_STATUS}),
        result_path="$.evaluation_job",
    )
    stop = stop_training_job(
        scope,
        f"{prefix}StopTimedOutEvaluation",
        job_arns=tools.training_job_arns,
        job_name_path="$.job.job_name",
        transient_errors=tools.sdk_transient_errors,
    )
    # A failed stop is still a timed-out job; the stop error stays visible in $.stop_error.
    catch_to(timed_out, "$.stop_error").attach(stop)
    stop.next(timed_out)
    timed_out.next(finished)
    still_running = status_in("$.evaluation_job.status", RUNNING_TRAINING_STATUSES)
    status = (
        sfn.Choice(scope, f"{prefix}EvaluationJobStatus")
        .when(
            sfn.Condition.and_(
                still_running,
                sfn.Condition.number_greater_than_equals(f"{polls}.count", bounds.max_polls),
            ),
            stop,
        )
        .when(still_running, wait)
        # Completed, Failed, Stopped, or anything unexpected: RecordEvaluation treats all but Completed as failed.
        .otherwise(finished)
    )
    return start.next(init).next(wait).next(describe).next(count).next(status)
