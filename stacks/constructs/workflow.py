"""The run state machine with its log group, plus the two EventBridge rules around it: start on upload, clean up
when an execution ends early (aborted, timed out or failed)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from novaft.pipeline.facts import STOP_RULE_EXECUTION_STATUSES
from stacks.constructs.log_group import Retention
from stacks.constructs.policy_statements import KeyUser, RunStorage, use_data_key
from stacks.security import acknowledge, checkov_skip, nag_resource_label

# A run starts on a .jsonl object under the incoming prefix (docs/architecture.md, "Trigger contract"). EventBridge
# ORs the filters of one field, so prefix AND suffix is written as one wildcard; RegisterRun ignores the .jsonl files
# that are not training files (validation.jsonl).
TRAINING_FILE_SUFFIX = ".jsonl"
# EventBridge retries a failed stop_run delivery for up to a day; what still fails waits in the dead-letter queue
# (an alarm fires on the first message) for SQS's longest retention, so an operator can replay it.
STOP_DEAD_LETTER_RETENTION = cdk.Duration.days(14)


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
        storage: RunStorage,
        stop_run: lambda_.IFunction,
        invoked_functions: list[lambda_.IFunction],
        training_job_arn_pattern: str,
        training_job_prefix: str,
        retention: Retention,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = retention.log_group(self)
        # Execution data (inputs and outputs, so dataset paths and failure causes) is logged: encrypted with the
        # data key, whose policy lets CloudWatch Logs use it for this stack's log groups (DataStack).
        cfn_log_group = self.log_group.node.default_child
        assert isinstance(cfn_log_group, logs.CfnLogGroup)
        cfn_log_group.kms_key_id = storage.key.key_arn
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
            use_data_key(storage.key, via=(KeyUser.SNS,), actions=["kms:GenerateDataKey", "kms:Decrypt"])
        )

        stack = cdk.Stack.of(self)
        # Named, so the role below can trust exactly this rule: a reference to the rule's ARN would be circular
        # (the rule's target names the role). Stage names are at most 16 characters: this stays within 64.
        upload_rule_name = f"{stack.stack_name}-start-on-upload"
        self.start_role = iam.Role(
            self,
            "StartRole",
            description="novaft: lets the upload rule start the run workflow",
            assumed_by=iam.ServicePrincipal(
                "events.amazonaws.com",
                # Confused-deputy guard: only this rule of this account may assume the role.
                conditions={
                    "StringEquals": {
                        "aws:SourceAccount": cdk.Aws.ACCOUNT_ID,
                        "aws:SourceArn": stack.format_arn(
                            service="events", resource="rule", resource_name=upload_rule_name
                        ),
                    }
                },
            ),
        )
        self.upload_rule = events.Rule(
            self,
            "StartOnUpload",
            rule_name=upload_rule_name,
            description="Start a novaft run when a .jsonl lands under the incoming prefix",
            event_pattern=upload_event_pattern(storage.datasets_bucket.bucket_name, storage.incoming_prefix),
            targets=[targets.SfnStateMachine(self.state_machine, role=self.start_role)],
        )
        # A stop that is never delivered lets a training job run (and bill) to its maximum runtime.
        self.stop_dead_letter_queue = sqs.Queue(
            self,
            "StopDeadLetters",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=STOP_DEAD_LETTER_RETENTION,
            removal_policy=retention.removal_policy,
        )
        acknowledge(
            self.stop_dead_letter_queue,
            "AwsSolutions-SQS3",
            "This queue is itself the dead-letter queue of the stop rule's target; an alarm fires on its first message",
        )
        checkov_skip(
            self.stop_dead_letter_queue,
            "CKV_AWS_27",
            "Encrypted with SQS-managed keys (SqsManagedSseEnabled); the check only recognizes KmsMasterKeyId",
        )
        # EventBridge invokes stop_run asynchronously: the rule's dead-letter queue takes the events it could not
        # deliver, the function's the ones stop_run failed on (after Lambda's two retries). Same queue, same alarm.
        cfn_stop_run = stop_run.node.default_child
        assert isinstance(cfn_stop_run, lambda_.CfnFunction)
        cfn_stop_run.dead_letter_config = lambda_.CfnFunction.DeadLetterConfigProperty(
            target_arn=self.stop_dead_letter_queue.queue_arn
        )
        stop_run.add_to_role_policy(
            iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[self.stop_dead_letter_queue.queue_arn])
        )
        for function in invoked_functions:
            checkov_skip(
                function,
                "CKV_AWS_116",
                "Invoked synchronously by the run workflow, which catches and records its failures; a dead-letter "
                "queue only receives asynchronous invocations",
            )
        # The construct id predates the FAILED status; it stays so the deployed rule is not replaced.
        self.ended_early_rule = events.Rule(
            self,
            "StopOnAbortOrTimeout",
            description="Stop the training job of a novaft run whose execution was aborted, timed out or failed",
            event_pattern=execution_ended_early_pattern(self.state_machine.state_machine_arn),
            targets=[targets.LambdaFunction(stop_run, retry_attempts=4, dead_letter_queue=self.stop_dead_letter_queue)],
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
