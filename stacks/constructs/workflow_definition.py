"""The run workflow as states only (docs/architecture.md, "Workflow"). It creates no resources: functions, topic and
bounds arrive as props, so tests build the definition as data with ``StateGraph(...).to_graph_json()``.
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from novaft.pipeline.facts import (
    RUNNING_TRAINING_STATUSES,
    STATE_DUPLICATE_DELIVERY,
    STATUS_COMPLETED,
    STATUS_STOPPED,
    TERMINAL_TRAINING_STATUSES,
)
from stacks.constructs import job_polling
from stacks.constructs.retries import retry_with_jitter
from stacks.constructs.workflow_deployment import DeploymentPolling, deployment_states
from stacks.constructs.workflow_evaluation import EvaluationBounds, evaluation_states
from stacks.constructs.workflow_fragment import FragmentTools, WorkflowFunctions
from stacks.constructs.workflow_gate import GateBounds, QuotaThenAll, WorkflowGate

ALL_ERRORS = ["States.ALL"]

# Errors a Lambda task retries, beyond the service errors CDK adds (Lambda.ServiceException, ...AWSLambdaException,
# ...SdkClientException, ...ClientExecutionTimeoutException).
LAMBDA_THROTTLING_ERRORS = ["Lambda.TooManyRequestsException"]
# Raised by the start_training handler (novaft.pipeline.errors).
SAGEMAKER_THROTTLED = "SageMakerThrottled"
SAGEMAKER_CAPACITY = "SageMakerCapacityError"
# AWS SDK integrations name errors <ServiceId>.<ErrorCode>, with "Exception" appended when missing (Step Functions
# guide, "Learning to use AWS service SDK integrations"). SageMaker models no throttling error for Describe/Stop, so a
# throttle (and any other unmodelled error) arrives as the catch-all SageMaker.SageMakerException; the explicit
# ThrottlingException is kept in case the service code is passed through.
SAGEMAKER_SDK_TRANSIENT_ERRORS = ["SageMaker.ThrottlingException", "SageMaker.SageMakerException"]
# The optimized sns:publish integration names errors SNS.<ErrorCode>Exception after SNS's error codes Throttled,
# InternalError and KMSThrottling (SNS API reference, Publish errors); the case matters in ErrorEquals.
SNS_TRANSIENT_ERRORS = ["SNS.ThrottledException", "SNS.InternalErrorException", "SNS.KMSThrottlingException"]


@dataclass(frozen=True)
class PollingBounds:
    interval: cdk.Duration
    max_polls: int


@dataclass(frozen=True)
class CatchTo:
    """Where a task goes on any error, and where in the state the error is kept."""

    target: sfn.IChainable
    result_path: str

    def attach(self, task: sfn.TaskStateBase) -> sfn.TaskStateBase:
        task.add_catch(self.target, errors=ALL_ERRORS, result_path=self.result_path)
        return task


@dataclass(frozen=True)
class CapacityRetry:
    """How long StartTraining keeps asking for instances SageMaker cannot give yet."""

    interval_seconds: int = 300
    max_attempts: int = 6
    backoff_rate: float = 2.0
    max_delay_seconds: int = 3600

    @property
    def worst_case_wait_seconds(self) -> int:
        """The longest StartTraining can spend waiting between attempts before it gives up."""
        delays = (self.interval_seconds * self.backoff_rate**attempt for attempt in range(self.max_attempts))
        return int(sum(min(delay, self.max_delay_seconds) for delay in delays))


class WorkflowDefinition(Construct):
    """``self.start`` is the first state of the run workflow."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: WorkflowFunctions,
        topic: sns.ITopic,
        training_job_arn_pattern: str,
        polling: PollingBounds,
        capacity_retry: CapacityRetry | None = None,
        gate: GateBounds | None = None,
        evaluation: EvaluationBounds | None = None,
        deployment: DeploymentPolling | None = None,
    ) -> None:
        """The gate, evaluation and deployment fragments are in the workflow when their bounds are given."""
        super().__init__(scope, construct_id)
        self._topic = topic
        self._functions = functions
        self._tools = FragmentTools(
            invoke=self._invoke,
            publish=self._publish,
            catch_to=CatchTo,
            training_job_arns=training_job_arn_pattern,
            sdk_transient_errors=SAGEMAKER_SDK_TRANSIENT_ERRORS,
        )
        capacity = capacity_retry or CapacityRetry()

        run_failed = sfn.Fail(self, "RunFailed", error_path="$.failure.Error", cause_path="$.failure.Cause")
        notify_failure = self._publish("NotifyFailure", subject="$.record.subject", message="$.record.message")
        CatchTo(run_failed, "$.notification_error").attach(notify_failure)
        notify_failure.next(run_failed)
        # Used when there is no run record to write (registration failed) or writing it failed.
        notify_unrecorded = tasks.SnsPublish(
            self,
            "NotifyUnrecordedFailure",
            topic=topic,
            subject="novaft: a run failed before its result could be recorded",
            message=sfn.TaskInput.from_object(
                {
                    "execution_arn": sfn.JsonPath.execution_id,
                    "error": sfn.JsonPath.string_at("$.failure.Error"),
                    "cause": sfn.JsonPath.string_at("$.failure.Cause"),
                }
            ),
            result_path=sfn.JsonPath.DISCARD,
        )
        notify_unrecorded.add_retry(errors=SNS_TRANSIENT_ERRORS, max_attempts=3, backoff_rate=2)
        CatchTo(run_failed, "$.notification_error").attach(notify_unrecorded)
        notify_unrecorded.next(run_failed)

        record_failure = self._invoke(
            "RecordFailure",
            functions.record_result,
            {"run.$": "$.run", "failure.$": "$.failure"},
            result_path="$.record",
            on_error=CatchTo(notify_unrecorded, "$.record_error"),
        )
        record_failure.next(notify_failure)
        # With the gate, every failure first gives back the run's training slot (ReleaseSlotOnFailure).
        run_gate = self._gate(gate, record_failure)
        failure_entry = run_gate.on_failure if run_gate else record_failure
        fail_run = CatchTo(failure_entry, "$.failure")

        register = self._invoke(
            "RegisterRun",
            functions.register_run,
            {"event.$": "$", "execution_arn.$": "$$.Execution.Id"},
            result_path="$.run",
            # No run record exists yet, so registration failures skip RecordFailure (its payload needs $.run).
            on_error=CatchTo(notify_unrecorded, "$.failure"),
        )
        validate = self._invoke(
            "ValidateDataset", functions.validate_dataset, "$.run", result_path="$.validation", on_error=fail_run
        )
        render = self._invoke(
            "RenderRecipe",
            functions.render_recipe,
            {"run.$": "$.run", "validation.$": "$.validation"},
            result_path="$.plan",
            on_error=fail_run,
        )
        start = self._invoke(
            "StartTraining",
            functions.start_training,
            {"run.$": "$.run", "request.$": "$.plan.request"},
            result_path="$.training",
            on_error=run_gate.start_catchers((SAGEMAKER_CAPACITY,)) if run_gate else fail_run,
        )
        retry_with_jitter(start, [SAGEMAKER_THROTTLED], interval_seconds=10, max_attempts=6)
        start.add_retry(
            errors=[SAGEMAKER_CAPACITY],
            interval=cdk.Duration.seconds(capacity.interval_seconds),
            max_attempts=capacity.max_attempts,
            backoff_rate=capacity.backoff_rate,
            max_delay=cdk.Duration.seconds(capacity.max_delay_seconds),
            jitter_strategy=sfn.JitterType.FULL,
        )

        wait = sfn.Wait(self, "WaitForTraining", time=sfn.WaitTime.duration(polling.interval))
        job_name = "$.training.training_job_name"
        describe = fail_run.attach(
            job_polling.describe_training_job(
                self,
                "DescribeTrainingJob",
                job_arns=training_job_arn_pattern,
                job_name_path=job_name,
                result_selector={"status.$": "$.TrainingJobStatus", "secondary_status.$": "$.SecondaryStatus"},
                result_path="$.job",
                transient_errors=SAGEMAKER_SDK_TRANSIENT_ERRORS,
            )
        )
        stop_timed_out = job_polling.stop_training_job(
            self,
            "StopTimedOutTraining",
            job_arns=training_job_arn_pattern,
            job_name_path=job_name,
            transient_errors=SAGEMAKER_SDK_TRANSIENT_ERRORS,
        )
        timed_out = self._failure(
            "TrainingTimedOut",
            f"States.Format('The training job {{}} was still running after {polling.max_polls} status checks; the "
            "workflow stopped it.', $.training.training_job_name)",
        )
        # A failed stop still ends as TrainingTimedOut; the stop error stays visible in $.stop_error.
        CatchTo(timed_out, "$.stop_error").attach(stop_timed_out)
        stop_timed_out.next(timed_out)
        timed_out.next(failure_entry)
        unexpected_status = self._failure(
            "UnexpectedTrainingStatus",
            "States.Format('SageMaker reported training status {} for {}', $.job.status, $.training.training_job_name)",
        )
        unexpected_status.next(failure_entry)

        record = self._invoke(
            "RecordResult",
            functions.record_result,
            {"run.$": "$.run", "training.$": "$.training"},
            result_path="$.record",
            on_error=fail_run,
        )
        notify_result = self._publish("NotifyResult", subject="$.record.subject", message="$.record.message")
        result_status = (
            sfn.Choice(self, "ResultStatus")
            .when(
                sfn.Condition.string_equals("$.record.status", STATUS_COMPLETED),
                self._evaluate_first(evaluation, self._after_success(deployment)),
            )
            .when(
                sfn.Condition.string_equals("$.record.status", STATUS_STOPPED),
                sfn.Fail(self, "TrainingStopped", error="TrainingStopped", cause_path="$.record.message"),
            )
            .otherwise(sfn.Fail(self, "TrainingFailed", error="TrainingFailed", cause_path="$.record.message"))
        )
        # The result is already recorded; a lost notification must not turn a finished run into a failed one.
        CatchTo(result_status, "$.notification_error").attach(notify_result)

        still_running = job_polling.status_in("$.job.status", RUNNING_TRAINING_STATUSES)
        training_status = (
            sfn.Choice(self, "TrainingStatus")
            .when(
                # Sorted so the synthesized Choice never changes between runs.
                job_polling.status_in("$.job.status", sorted(TERMINAL_TRAINING_STATUSES)),
                # The job has ended: its slot is free before the result is recorded (and before anything after it).
                run_gate.release_then("ReleaseSlot", record) if run_gate else record,
            )
            .when(
                sfn.Condition.and_(
                    still_running, sfn.Condition.number_greater_than_equals("$.polls.count", polling.max_polls)
                ),
                stop_timed_out,
            )
            .when(still_running, wait)
            .otherwise(unexpected_status)
        )
        record.next(notify_result).next(result_status)

        polls = "$.polls"
        start.next(job_polling.init_polls(self, "InitPolls", polls)).next(wait).next(describe)
        describe.next(job_polling.count_poll(self, "CountPoll", polls)).next(training_status)
        if run_gate:
            run_gate.connect(start)
        training = validate.next(render).next(run_gate.entry if run_gate else start)
        route = (
            sfn.Choice(self, "RouteRun")
            .when(sfn.Condition.boolean_equals("$.run.ignored", True), sfn.Succeed(self, "NotATrainingFile"))
            .when(
                sfn.Condition.boolean_equals("$.run.duplicate", True),
                # The execution's output is $.run: the existing run's id and attempt and the execution that has it.
                sfn.Succeed(self, STATE_DUPLICATE_DELIVERY, output_path="$.run"),
            )
            .otherwise(training)
        )
        register.next(route)
        self.start: sfn.IChainable = register
        if evaluation is not None:
            self.start = self._route_start(evaluation, register)

    def _failure(self, error: str, cause_format: str) -> sfn.Pass:
        """A state named ``error`` that writes the failure at $.failure as a caught error would be written, with the
        cause built by the intrinsic ``cause_format``."""
        return sfn.Pass(self, error, parameters={"Error": error, "Cause.$": cause_format}, result_path="$.failure")

    def _gate(self, bounds: GateBounds | None, record_failure: sfn.IChainable) -> WorkflowGate | None:
        if bounds is None:
            return None
        return WorkflowGate(
            self, functions=self._functions, bounds=bounds, tools=self._tools, record_failure=record_failure
        )

    def _route_start(self, evaluation: EvaluationBounds, register: sfn.IChainable) -> sfn.IChainable:
        """``novaft evaluate`` starts an execution with ``evaluate_later`` (the run, its validation, the tasks): it
        runs only the evaluation fragment (state names prefixed ``Later``); an S3 event goes to RegisterRun."""
        later = self._evaluation_states(
            evaluation, sfn.Succeed(self, "EvaluatedLater"), prefix="Later", tasks_path="$.tasks"
        )
        unpack = sfn.Pass(self, "EvaluateLater", input_path="$.evaluate_later")
        return (
            sfn.Choice(self, "RouteStart")
            .when(sfn.Condition.is_present("$.evaluate_later"), unpack.next(later))
            .otherwise(register)
        )

    def _evaluate_first(self, evaluation: EvaluationBounds | None, then: sfn.IChainable) -> sfn.IChainable:
        """The evaluation fragment (docs/evaluation.md) before ``then`` when the workflow has it."""
        if evaluation is None:
            return then
        return self._evaluation_states(evaluation, then)

    def _evaluation_states(
        self, evaluation: EvaluationBounds, done: sfn.IChainable, **placement: str
    ) -> sfn.IChainable:
        """The evaluation fragment ending in ``done``; ``placement`` is its ``prefix`` and ``tasks_path``, if any."""
        return evaluation_states(
            self, functions=self._functions, bounds=evaluation, tools=self._tools, done=done, **placement
        )

    def _after_success(self, deployment: DeploymentPolling | None) -> sfn.IChainable:
        """RunSucceeded, or first the deployment fragment (docs/deployment.md) when the workflow has it."""
        succeeded = sfn.Succeed(self, "RunSucceeded")
        if deployment is None:
            return succeeded
        return deployment_states(self, functions=self._functions, polling=deployment, tools=self._tools, done=succeeded)

    def _invoke(
        self,
        name: str,
        function: lambda_.IFunction,
        payload: dict[str, str] | str,
        *,
        result_path: str,
        on_error: CatchTo | QuotaThenAll,
    ) -> tasks.LambdaInvoke:
        # A path payload becomes InputPath: with payload_response_only, CDK would write it as a string "Parameters",
        # which Step Functions rejects (Parameters must be an object).
        input_path = payload if isinstance(payload, str) else None
        task_input = None if isinstance(payload, str) else sfn.TaskInput.from_object(payload)
        # payload_response_only: the handler's return value lands at result_path as is, without Lambda's envelope.
        task = tasks.LambdaInvoke(
            self,
            name,
            lambda_function=function,
            payload=task_input,
            input_path=input_path,
            payload_response_only=True,
            retry_on_service_exceptions=True,
            result_path=result_path,
        )
        retry_with_jitter(task, LAMBDA_THROTTLING_ERRORS, interval_seconds=2, max_attempts=6)
        on_error.attach(task)
        return task

    def _publish(self, name: str, *, subject: str, message: str) -> tasks.SnsPublish:
        """An SNS task on the run topic; ``subject`` and ``message`` are paths in the state."""
        task = tasks.SnsPublish(
            self,
            name,
            topic=self._topic,
            subject=sfn.JsonPath.string_at(subject),
            message=sfn.TaskInput.from_json_path_at(message),
            result_path=sfn.JsonPath.DISCARD,
        )
        task.add_retry(errors=SNS_TRANSIENT_ERRORS, interval=cdk.Duration.seconds(2), max_attempts=3, backoff_rate=2)
        return task
