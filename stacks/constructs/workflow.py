"""The run state machine with its log group, plus the two EventBridge rules around it: start on upload, clean up
when an execution ends early (aborted, timed out or failed)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from novaft.pipeline.facts import STOP_RULE_EXECUTION_STATUSES
from stacks.constructs.log_group import retained_log_group
from stacks.security import acknowledge, nag_resource_label

# A run starts on a .jsonl object under the incoming prefix (docs/architecture.md, "Trigger contract"). EventBridge
# ORs the filters of one field, so prefix AND suffix is written as one wildcard; RegisterRun ignores the .jsonl files
# that are not training files (validation.jsonl).
TRAINING_FILE_SUFFIX = ".jsonl"


def upload_event_pattern(bucket_name: str, incoming_prefix: str) -> events.EventPattern:
    return events.EventPattern(
        source=["aws.s3"],
        detail_type=["Object Created"],
        detail={
            "bucket": {"name": [bucket_name]},
            "object": {"key": [{"wildcard": f"{incoming_prefix}*{TRAINING_FILE_SUFFIX}"}]},
        },
    )


def execution_ended_early_pattern(state_machine_arn: str) -> events.EventPattern:
    # FAILED too: a failure the workflow cannot catch (States.Runtime) or a polling failure must not leave a training
    # job running; stop_run leaves a run whose outcome is already recorded as it is.
    return events.EventPattern(
        source=["aws.states"],
        detail_type=["Step Functions Execution Status Change"],
        detail={"status": list(STOP_RULE_EXECUTION_STATUSES), "stateMachineArn": [state_machine_arn]},
    )


class RunWorkflow(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        start: sfn.IChainable,
        timeout: cdk.Duration,
        datasets_bucket: s3.IBucket,
        incoming_prefix: str,
        stop_run: lambda_.IFunction,
        key: kms.IKey,
        invoked_functions: list[lambda_.IFunction],
        training_job_arn_pattern: str,
        training_job_prefix: str,
        log_retention_days: int,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = retained_log_group(
            self, "Logs", retention_days=log_retention_days, removal_policy=removal_policy
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(start),
            state_machine_type=sfn.StateMachineType.STANDARD,
            timeout=timeout,
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
            comment="novaft: validate a dataset, render the Nova recipe, train on SageMaker, record the result",
        )
        # Publishing to the KMS-encrypted topic needs the key (SNS server-side encryption).
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[key.key_arn])
        )

        self.upload_rule = events.Rule(
            self,
            "StartOnUpload",
            description="Start a novaft run when a .jsonl lands under the incoming prefix",
            event_pattern=upload_event_pattern(datasets_bucket.bucket_name, incoming_prefix),
            targets=[targets.SfnStateMachine(self.state_machine)],
        )
        # The construct id predates the FAILED status; it stays so the deployed rule is not replaced.
        self.ended_early_rule = events.Rule(
            self,
            "StopOnAbortOrTimeout",
            description="Stop the training job of a novaft run whose execution was aborted, timed out or failed",
            event_pattern=execution_ended_early_pattern(self.state_machine.state_machine_arn),
            targets=[targets.LambdaFunction(stop_run, retry_attempts=4)],
        )
        self._acknowledge_generated_policy(invoked_functions, training_job_arn_pattern, training_job_prefix)

    def _acknowledge_generated_policy(
        self, invoked_functions: list[lambda_.IFunction], training_jobs: str, training_job_prefix: str
    ) -> None:
        role = self.state_machine.role
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::{nag_resource_label(self, training_jobs)}]",
            f"DescribeTrainingJob and StopTrainingJob on training jobs named {training_job_prefix}* only; names are "
            "generated per run",
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "Step Functions' log delivery (logs:*LogDelivery, logs:Describe*) and X-Ray (xray:PutTraceSegments, "
            "xray:GetSamplingRules, ...) actions have no resource-level permissions",
        )
        for function in invoked_functions:
            cfn_function = function.node.default_child
            assert isinstance(cfn_function, cdk.CfnElement)
            logical_id = cdk.Stack.of(cfn_function).resolve(cfn_function.logical_id)
            acknowledge(
                role,
                f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>:*]",
                "lambda:InvokeFunction on the versions and aliases of this one workflow function",
            )
