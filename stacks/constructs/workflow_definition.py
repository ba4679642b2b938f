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
    STATE_DUPLICATE_DELIVERY,
    STATUS_COMPLETED,
    STATUS_STOPPED,
    TERMINAL_TRAINING_STATUSES,
)
from stacks.constructs.workflow_deployment import DeploymentFunctions, DeploymentPolling, deployment_states
from stacks.constructs.workflow_evaluation import EvaluationBounds, EvaluationFunctions, evaluation_states
from stacks.constructs.workflow_gate import GateBounds, GateFunctions, QuotaThenAll, WorkflowGate

# Non-terminal values of DescribeTrainingJob's TrainingJobStatus (botocore sagemaker model); the terminal ones are
# facts.TERMINAL_TRAINING_STATUSES, sorted so the synthesized Choice never changes between runs.
RUNNING_TRAINING_STATUSES = ("InProgress", "Stopping")
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
class WorkflowFunctions:
    register_run: lambda_.IFunction
    validate_dataset: lambda_.IFunction
    render_recipe: lambda_.IFunction
    start_training: lambda_.IFunction
    record_result: lambda_.IFunction


@dataclass(frozen=True)
class DeploymentProps:
    functions: DeploymentFunctions
    polling: DeploymentPolling


@dataclass(frozen=True)
class GateProps:
    """Approval and the training-slot queue between RenderRecipe and StartTraining (constructs/workflow_gate.py)."""

    functions: GateFunctions
    bounds: GateBounds


@dataclass(frozen=True)
class EvaluationProps:
    functions: EvaluationFunctions
    bounds: EvaluationBounds


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
        deployment: DeploymentProps | None = None,
        gate: GateProps | None = None,
        evaluation: EvaluationProps | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        capacity = capacity_retry or CapacityRetry()

        run_failed = sfn.Fail(self, "RunFailed", error_path="$.failure.Error", cause_path="$.failure.Cause")
        notify_failure = self._publish("NotifyFailure", topic, subject="$.record.subject", message="$.record.message")
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
        start.add_retry(
            errors=[SAGEMAKER_THROTTLED],
            interval=cdk.Duration.seconds(10),
            max_attempts=6,
            backoff_rate=2,
            jitter_strategy=sfn.JitterType.FULL,
        )
        start.add_retry(
            errors=[SAGEMAKER_CAPACITY],
            interval=cdk.Duration.seconds(capacity.interval_seconds),
            max_attempts=capacity.max_attempts,
            backoff_rate=capacity.backoff_rate,
            max_delay=cdk.Duration.seconds(capacity.max_delay_seconds),
            jitter_strategy=sfn.JitterType.FULL,
        )

        init_polls = sfn.Pass(self, "InitPolls", result=sfn.Result.from_object({"count": 0}), result_path="$.polls")
        wait = sfn.Wait(self, "WaitForTraining", time=sfn.WaitTime.duration(polling.interval))
        describe = fail_run.attach(
            tasks.CallAwsService(
                self,
                "DescribeTrainingJob",
                service="sagemaker",
                action="describeTrainingJob",
                iam_action="sagemaker:DescribeTrainingJob",
                iam_resources=[training_job_arn_pattern],
                parameters={"TrainingJobName": sfn.JsonPath.string_at("$.training.training_job_name")},
                result_selector={
                    "status.$": "$.TrainingJobStatus",
                    "secondary_status.$": "$.SecondaryStatus",
                },
                result_path="$.job",
            )
        )
        describe.add_retry(
            errors=SAGEMAKER_SDK_TRANSIENT_ERRORS,
            interval=cdk.Duration.seconds(5),
            max_attempts=5,
            backoff_rate=2,
            jitter_strategy=sfn.JitterType.FULL,
        )
        count_poll = sfn.Pass(
            self,
            "CountPoll",
            parameters={"count.$": "States.MathAdd($.polls.count, 1)"},
            result_path="$.polls",
        )
        stop_timed_out = tasks.CallAwsService(
            self,
            "StopTimedOutTraining",
            service="sagemaker",
            action="stopTrainingJob",
            iam_action="sagemaker:StopTrainingJob",
            iam_resources=[training_job_arn_pattern],
            parameters={"TrainingJobName": sfn.JsonPath.string_at("$.training.training_job_name")},
            result_path=sfn.JsonPath.DISCARD,
        )
        stop_timed_out.add_retry(
            errors=SAGEMAKER_SDK_TRANSIENT_ERRORS, interval=cdk.Duration.seconds(5), max_attempts=5, backoff_rate=2
        )
        timed_out = sfn.Pass(
            self,
            "TrainingTimedOut",
            parameters={
                "Error": "TrainingTimedOut",
                "Cause.$": f"States.Format('The training job {{}} was still running after {polling.max_polls} status "
                "checks; the workflow stopped it.', $.training.training_job_name)",
            },
            result_path="$.failure",
        )
        # A failed stop still ends as TrainingTimedOut; the stop error stays visible in $.stop_error.
        CatchTo(timed_out, "$.stop_error").attach(stop_timed_out)
        stop_timed_out.next(timed_out)
        timed_out.next(failure_entry)
        unexpected_status = sfn.Pass(
            self,
            "UnexpectedTrainingStatus",
            parameters={
                "Error": "UnexpectedTrainingStatus",
                "Cause.$": "States.Format('SageMaker reported training status {} for {}', $.job.status, "
                "$.training.training_job_name)",
            },
            result_path="$.failure",
        )
        unexpected_status.next(failure_entry)

        record = self._invoke(
            "RecordResult",
            functions.record_result,
            {"run.$": "$.run", "training.$": "$.training"},
            result_path="$.record",
            on_error=fail_run,
        )
        notify_result = self._publish("NotifyResult", topic, subject="$.record.subject", message="$.record.message")
        result_status = (
            sfn.Choice(self, "ResultStatus")
            .when(
                sfn.Condition.string_equals("$.record.status", STATUS_COMPLETED),
                self._evaluate_first(
                    topic, evaluation, training_job_arn_pattern, self._after_success(topic, deployment)
                ),
            )
            .when(
                sfn.Condition.string_equals("$.record.status", STATUS_STOPPED),
                sfn.Fail(self, "TrainingStopped", error="TrainingStopped", cause_path="$.record.message"),
            )
            .otherwise(sfn.Fail(self, "TrainingFailed", error="TrainingFailed", cause_path="$.record.message"))
        )
        # The result is already recorded; a lost notification must not turn a finished run into a failed one.
        CatchTo(result_status, "$.notification_error").attach(notify_result)

        still_running = sfn.Condition.or_(
            *(sfn.Condition.string_equals("$.job.status", s) for s in RUNNING_TRAINING_STATUSES)
        )
        training_status = (
            sfn.Choice(self, "TrainingStatus")
            .when(
                sfn.Condition.or_(
                    *(sfn.Condition.string_equals("$.job.status", s) for s in sorted(TERMINAL_TRAINING_STATUSES))
                ),
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

        start.next(init_polls).next(wait).next(describe).next(count_poll).next(training_status)
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
            self.start = self._route_start(topic, evaluation, training_job_arn_pattern, register)

    def _gate(self, gate: GateProps | None, record_failure: sfn.IChainable) -> WorkflowGate | None:
        if gate is None:
            return None
        return WorkflowGate(
            self,
            functions=gate.functions,
            bounds=gate.bounds,
            invoke=self._invoke,
            catch_to=CatchTo,
            record_failure=record_failure,
        )

    def _route_start(
        self, topic: sns.ITopic, evaluation: EvaluationProps, job_arns: str, register: sfn.IChainable
    ) -> sfn.IChainable:
        """``novaft evaluate`` starts an execution with ``evaluate_later`` (the run, its validation, the tasks): it
        runs only the evaluation fragment (state names prefixed ``Later``); an S3 event goes to RegisterRun."""
        later = evaluation_states(
            self,
            functions=evaluation.functions,
            bounds=evaluation.bounds,
            training_job_arn_pattern=job_arns,
            sdk_transient_errors=SAGEMAKER_SDK_TRANSIENT_ERRORS,
            invoke=self._invoke,
            publish=lambda name, *, subject, message: self._publish(name, topic, subject=subject, message=message),
            catch_to=CatchTo,
            done=sfn.Succeed(self, "EvaluatedLater"),
            prefix="Later",
            tasks_path="$.tasks",
        )
        unpack = sfn.Pass(self, "EvaluateLater", input_path="$.evaluate_later")
        return (
            sfn.Choice(self, "RouteStart")
            .when(sfn.Condition.is_present("$.evaluate_later"), unpack.next(later))
            .otherwise(register)
        )

    def _evaluate_first(
        self, topic: sns.ITopic, evaluation: EvaluationProps | None, job_arns: str, then: sfn.IChainable
    ) -> sfn.IChainable:
        """The evaluation fragment (docs/evaluation.md) before ``then`` when the stack has its functions."""
        if evaluation is None:
            return then
        return evaluation_states(
            self,
            functions=evaluation.functions,
            bounds=evaluation.bounds,
            training_job_arn_pattern=job_arns,
            sdk_transient_errors=SAGEMAKER_SDK_TRANSIENT_ERRORS,
            invoke=self._invoke,
            publish=lambda name, *, subject, message: self._publish(name, topic, subject=subject, message=message),
            catch_to=CatchTo,
            done=then,
        )

    def _after_success(self, topic: sns.ITopic, deployment: DeploymentProps | None) -> sfn.IChainable:
        """RunSucceeded, or first the deployment fragment (docs/deployment.md) when the stack has its functions."""
        succeeded = sfn.Succeed(self, "RunSucceeded")
        if deployment is None:
            return succeeded
        return deployment_states(
            self,
            functions=deployment.functions,
            polling=deployment.polling,
            invoke=self._invoke,
            publish=lambda name, *, subject, message: self._publish(name, topic, subject=subject, message=message),
            catch_to=CatchTo,
            done=succeeded,
        )

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
        task.add_retry(
            errors=LAMBDA_THROTTLING_ERRORS,
            interval=cdk.Duration.seconds(2),
            max_attempts=6,
            backoff_rate=2,
            jitter_strategy=sfn.JitterType.FULL,
        )
        on_error.attach(task)
        return task

    def _publish(self, name: str, topic: sns.ITopic, *, subject: str, message: str) -> tasks.SnsPublish:
        task = tasks.SnsPublish(
            self,
            name,
            topic=topic,
            subject=sfn.JsonPath.string_at(subject),
            message=sfn.TaskInput.from_json_path_at(message),
            result_path=sfn.JsonPath.DISCARD,
        )
        task.add_retry(errors=SNS_TRANSIENT_ERRORS, interval=cdk.Duration.seconds(2), max_attempts=3, backoff_rate=2)
        return task
