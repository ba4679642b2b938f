"""The evaluation fragment of the run workflow (docs/evaluation.md): after a completed run, evaluate it.

States only, no resources. PlanEvaluation builds the jobs (none when the job spec asks for none: the fragment is then
skipped). A Map runs them, at most ``max_concurrency`` at once; each item starts its job and waits for it like
training (Wait + DescribeTrainingJob, bounded, stopped when the polls run out). RecordEvaluation reads the results,
writes evaluation.json and the record, and a notification follows. A failed gate is a result: the fragment goes on to
``done`` (the deployment step reads the gate). A failed evaluation ends the execution as ``EvaluationFailed``; the run
itself stays Completed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from novaft.pipeline.errors import EvaluationFailed, SageMakerCapacityError, SageMakerThrottled

EVALUATION_FAILED_ERROR = EvaluationFailed.workflow_error
RUNNING_STATUSES = ("InProgress", "Stopping")
# What an evaluation job that ran out of polls is recorded as (it is stopped first), and one that never started.
TIMED_OUT_STATUS = "TimedOut"
NOT_STARTED_STATUS = "NotStarted"


@dataclass(frozen=True)
class EvaluationFunctions:
    plan_evaluation: lambda_.IFunction
    start_evaluation: lambda_.IFunction
    record_evaluation: lambda_.IFunction


@dataclass(frozen=True)
class EvaluationBounds:
    """How many evaluation jobs run at once, how often each is checked, and how many checks before it is stopped."""

    interval: cdk.Duration
    max_polls: int
    max_concurrency: int = 2


Invoke = Callable[..., Any]
Publish = Callable[..., Any]


def evaluation_states(
    scope: Construct,
    *,
    functions: EvaluationFunctions,
    bounds: EvaluationBounds,
    training_job_arn_pattern: str,
    sdk_transient_errors: list[str],
    invoke: Invoke,
    publish: Publish,
    catch_to: Callable[[sfn.IChainable, str], Any],
    done: sfn.IChainable,
    prefix: str = "",
    tasks_path: str | None = None,
) -> sfn.IChainable:
    """The first state of the fragment; it ends in ``done`` or in EvaluationFailed.

    ``prefix`` starts every state name, so the fragment can appear twice in one state machine (after training, and for
    ``novaft evaluate``); ``tasks_path`` is where the state holds the tasks asked for instead of the job spec's.
    """
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
    jobs.item_processor(
        _one_job(
            scope,
            prefix=prefix,
            functions=functions,
            bounds=bounds,
            training_job_arn_pattern=training_job_arn_pattern,
            sdk_transient_errors=sdk_transient_errors,
            invoke=invoke,
            catch_to=catch_to,
        )
    )
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
    notify = publish(f"{prefix}NotifyEvaluation", subject="$.evaluation.subject", message="$.evaluation.message")
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
    functions: EvaluationFunctions,
    bounds: EvaluationBounds,
    training_job_arn_pattern: str,
    sdk_transient_errors: list[str],
    invoke: Invoke,
    catch_to: Callable[[sfn.IChainable, str], Any],
) -> sfn.IChainable:
    """Start one evaluation job and wait for it; the item's output is ``{task, side, job_name, status}``."""
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
    start = invoke(
        f"{prefix}StartEvaluation",
        functions.start_evaluation,
        {"run.$": "$.run", "job.$": "$.job"},
        result_path=sfn.JsonPath.DISCARD,
        on_error=catch_to(not_started, "$.start_error"),
    )
    # As StartTraining: a throttled call, or instances SageMaker cannot give yet, are asked again before giving up.
    start.add_retry(
        errors=[SageMakerThrottled.workflow_error, SageMakerCapacityError.workflow_error],
        interval=cdk.Duration.seconds(30),
        max_attempts=6,
        backoff_rate=2,
        max_delay=cdk.Duration.minutes(15),
        jitter_strategy=sfn.JitterType.FULL,
    )
    init = sfn.Pass(
        scope,
        f"{prefix}InitEvaluationPolls",
        result=sfn.Result.from_object({"count": 0}),
        result_path="$.evaluation_polls",
    )
    wait = sfn.Wait(scope, f"{prefix}WaitForEvaluation", time=sfn.WaitTime.duration(bounds.interval))
    describe = tasks.CallAwsService(
        scope,
        f"{prefix}DescribeEvaluationJob",
        service="sagemaker",
        action="describeTrainingJob",
        iam_action="sagemaker:DescribeTrainingJob",
        iam_resources=[training_job_arn_pattern],
        parameters={"TrainingJobName": sfn.JsonPath.string_at("$.job.job_name")},
        result_selector={"status.$": "$.TrainingJobStatus"},
        result_path="$.evaluation_job",
    )
    describe.add_retry(
        errors=sdk_transient_errors,
        interval=cdk.Duration.seconds(5),
        max_attempts=5,
        backoff_rate=2,
        jitter_strategy=sfn.JitterType.FULL,
    )
    count = sfn.Pass(
        scope,
        f"{prefix}CountEvaluationPoll",
        parameters={"count.$": "States.MathAdd($.evaluation_polls.count, 1)"},
        result_path="$.evaluation_polls",
    )
    timed_out = sfn.Pass(
        scope,
        f"{prefix}EvaluationTimedOut",
        result=sfn.Result.from_object({"status": TIMED_OUT_STATUS}),
        result_path="$.evaluation_job",
    )
    stop = tasks.CallAwsService(
        scope,
        f"{prefix}StopTimedOutEvaluation",
        service="sagemaker",
        action="stopTrainingJob",
        iam_action="sagemaker:StopTrainingJob",
        iam_resources=[training_job_arn_pattern],
        parameters={"TrainingJobName": sfn.JsonPath.string_at("$.job.job_name")},
        result_path=sfn.JsonPath.DISCARD,
    )
    stop.add_retry(errors=sdk_transient_errors, interval=cdk.Duration.seconds(5), max_attempts=5, backoff_rate=2)
    # A failed stop is still a timed-out job; the stop error stays visible in $.stop_error.
    catch_to(timed_out, "$.stop_error").attach(stop)
    stop.next(timed_out)
    timed_out.next(finished)
    still_running = sfn.Condition.or_(
        *(sfn.Condition.string_equals("$.evaluation_job.status", s) for s in RUNNING_STATUSES)
    )
    status = (
        sfn.Choice(scope, f"{prefix}EvaluationJobStatus")
        .when(
            sfn.Condition.and_(
                still_running,
                sfn.Condition.number_greater_than_equals("$.evaluation_polls.count", bounds.max_polls),
            ),
            stop,
        )
        .when(still_running, wait)
        # Completed, Failed, Stopped, or anything unexpected: RecordEvaluation treats all but Completed as failed.
        .otherwise(finished)
    )
    return start.next(init).next(wait).next(describe).next(count).next(status)
