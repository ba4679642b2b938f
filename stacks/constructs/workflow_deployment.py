"""The deployment fragment of the run workflow (docs/deployment.md): after a completed run, import, deploy, smoke-test.

States only, no resources. DeployModel advances the deployment one step per call; a bounded Wait loop calls it again
until the deployment is ready, failed, skipped, or the polls run out. RecordDeployment then smoke-tests and records
it, or records why it failed; either way a notification follows. A failed deployment ends the execution as
``DeploymentFailed`` (the run itself stays Completed: its training succeeded).
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks.constructs.job_polling import count_poll, init_polls
from stacks.constructs.retries import retry_with_jitter
from stacks.constructs.workflow_fragment import FragmentTools, WorkflowFunctions

# Raised by the Bedrock adapter (novaft.aws.bedrock.BedrockThrottled).
BEDROCK_THROTTLED = "BedrockThrottled"
DEPLOYMENT_FAILED_ERROR = "DeploymentFailed"


@dataclass(frozen=True)
class DeploymentPolling:
    """How often DeployModel looks again and how many times; imports and deployments take tens of minutes."""

    interval_seconds: int = 60
    max_polls: int = 240

    @property
    def interval(self) -> cdk.Duration:
        return cdk.Duration.seconds(self.interval_seconds)


def deployment_states(
    scope: Construct,
    *,
    functions: WorkflowFunctions,
    polling: DeploymentPolling,
    tools: FragmentTools,
    done: sfn.IChainable,
) -> sfn.IChainable:
    """The first state of the fragment; it ends in ``done`` (skipped or recorded) or in DeploymentFailed."""
    invoke, publish, catch_to = tools.invoke, tools.publish, tools.catch_to
    failed = sfn.Fail(
        scope, "DeploymentFailedEnd", error=DEPLOYMENT_FAILED_ERROR, cause_path="$.deployment_record.message"
    )
    failed_unrecorded = sfn.Fail(
        scope, "DeploymentFailedUnrecorded", error=DEPLOYMENT_FAILED_ERROR, cause_path="$.deployment_failure.Cause"
    )
    notify_failure = publish(
        "NotifyDeploymentFailure", subject="$.deployment_record.subject", message="$.deployment_record.message"
    )
    catch_to(failed, "$.notification_error").attach(notify_failure)
    notify_failure.next(failed)
    # The whole state goes in: $.deployment and $.deployment_failure may each be absent.
    record_failure = invoke(
        "RecordDeploymentFailure",
        functions.record_deployment,
        "$",
        result_path="$.deployment_record",
        on_error=catch_to(failed_unrecorded, "$.record_error"),
    )
    record_failure.next(notify_failure)
    to_failure = catch_to(record_failure, "$.deployment_failure")

    deploy = invoke("DeployModel", functions.deploy_model, "$", result_path="$.deployment", on_error=to_failure)
    retry_with_jitter(deploy, [BEDROCK_THROTTLED], interval_seconds=10, max_attempts=6)
    record = invoke(
        "RecordDeployment", functions.record_deployment, "$", result_path="$.deployment_record", on_error=to_failure
    )
    record.add_retry(errors=[BEDROCK_THROTTLED], interval=cdk.Duration.seconds(10), max_attempts=4, backoff_rate=2)
    notify = publish("NotifyDeployment", subject="$.deployment_record.subject", message="$.deployment_record.message")
    catch_to(done, "$.notification_error").attach(notify)
    record.next(notify).next(done)

    first_poll = init_polls(scope, "InitDeploymentPolls", "$.deployment_polls")
    wait = sfn.Wait(scope, "WaitForDeployment", time=sfn.WaitTime.duration(polling.interval))
    timed_out = sfn.Pass(
        scope,
        "DeploymentTimedOut",
        parameters={
            "Error": "DeploymentTimedOut",
            "Cause.$": f"States.Format('The deployment was still {{}} after {polling.max_polls} status checks; what "
            "exists is on the run record (novaft runs) and novaft deploy continues it.', $.deployment.phase)",
        },
        result_path="$.deployment_failure",
    )
    timed_out.next(record_failure)
    phase = (
        sfn.Choice(scope, "DeploymentPhase")
        .when(sfn.Condition.string_equals("$.deployment.phase", "skipped"), done)
        .when(sfn.Condition.string_equals("$.deployment.phase", "active"), record)
        .when(sfn.Condition.string_equals("$.deployment.phase", "failed"), record_failure)
        .when(sfn.Condition.number_greater_than_equals("$.deployment_polls.count", polling.max_polls), timed_out)
        .otherwise(wait)
    )
    wait.next(count_poll(scope, "CountDeploymentPoll", "$.deployment_polls")).next(deploy)
    first_poll.next(deploy).next(phase)
    return first_poll
