"""The stateless deployment unit: functions, SageMaker role, workflow, rules, topic, dashboard and alarms.

It can be destroyed and redeployed at any time; everything that holds data arrives from the DataStack.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from novaft.pipeline.facts import (
    EVALUATION_IMAGE_REPOSITORY,
    METRICS_NAMESPACE,
    OUTPUT_APPROVER_POLICY,
    OUTPUT_ARTIFACTS_BUCKET,
    OUTPUT_BEDROCK_IMPORT_ROLE,
    OUTPUT_DATASETS_BUCKET,
    OUTPUT_DEFAULT_JOB,
    OUTPUT_INCOMING_PREFIX,
    OUTPUT_RUNS_PREFIX,
    OUTPUT_RUNS_TABLE,
    OUTPUT_STAGE_POLICY,
    OUTPUT_STATE_MACHINE_ARN,
    OUTPUT_TOPIC_ARN,
    service_name,
)
from novaft.pipeline.settings import ENV_NAMES
from novaft.recipes.job_name import PREFIX as JOB_NAME_PREFIX
from stacks.config import (
    HISTORY_EVENT_LIMIT,
    HISTORY_EVENTS_OUTSIDE_POLLING,
    HISTORY_EVENTS_PER_POLL,
    NOVA_TRAINING_IMAGE_REPOSITORY,
    StageConfig,
)
from stacks.constructs.approver_policy import ApproverPolicy
from stacks.constructs.bedrock_import_role import BedrockDeploymentGrants, BedrockImportRole, DeploymentGrantProps
from stacks.constructs.handler_permissions import HandlerPermissions, HandlerPermissionsProps, TrainingJobBounds
from stacks.constructs.house_function import FunctionSizing, HouseFunction
from stacks.constructs.log_group import Retention
from stacks.constructs.monitoring import PipelineMonitoring
from stacks.constructs.notifications import RunNotifications
from stacks.constructs.policy_statements import RunStorage, training_job_arn_pattern
from stacks.constructs.training_role import TrainingNetwork, TrainingRole
from stacks.constructs.workflow import RunWorkflow
from stacks.constructs.workflow_definition import PollingBounds, WorkflowDefinition
from stacks.constructs.workflow_deployment import DeploymentPolling
from stacks.constructs.workflow_evaluation import EvaluationBounds
from stacks.constructs.workflow_fragment import WorkflowFunctions
from stacks.constructs.workflow_gate import GateBounds
from stacks.data_stack import DataExports
from stacks.lambda_code import dependency_layer, shared_code

# Every training job novaft starts is named "novaft-..." (RegisterRun picks the name with training_job_name), which
# bounds the SageMaker permissions to training-job/novaft-*.
TRAINING_JOB_PREFIX = f"{JOB_NAME_PREFIX}-"

FUNCTION_SIZING = {
    "register_run": FunctionSizing(256, cdk.Duration.seconds(30)),
    # One full vCPU (1769 MB) for the streaming validator; 15 minutes is Lambda's ceiling.
    "validate_dataset": FunctionSizing(1769, cdk.Duration.minutes(15)),
    "render_recipe": FunctionSizing(512, cdk.Duration.seconds(60)),
    "start_training": FunctionSizing(256, cdk.Duration.seconds(60)),
    "record_result": FunctionSizing(512, cdk.Duration.seconds(120)),
    "stop_run": FunctionSizing(256, cdk.Duration.seconds(60)),
    "deploy_model": FunctionSizing(256, cdk.Duration.seconds(60)),
    "record_deployment": FunctionSizing(256, cdk.Duration.seconds(120)),
    "await_approval": FunctionSizing(256, cdk.Duration.seconds(30)),
    "acquire_slot": FunctionSizing(256, cdk.Duration.seconds(30)),
    "release_slot": FunctionSizing(256, cdk.Duration.seconds(30)),
    "plan_evaluation": FunctionSizing(512, cdk.Duration.seconds(60)),
    "start_evaluation": FunctionSizing(256, cdk.Duration.seconds(60)),
    "record_evaluation": FunctionSizing(512, cdk.Duration.seconds(120)),
}
FUNCTION_DESCRIPTIONS = {
    "register_run": "novaft: register a run for an uploaded dataset (idempotent)",
    "validate_dataset": "novaft: validate the Converse dataset and write the report",
    "render_recipe": "novaft: render the Nova recipe and the training-job plan",
    "start_training": "novaft: start the SageMaker training job",
    "record_result": "novaft: record a run's result and build its notification",
    "stop_run": "novaft: stop the training job of a run whose execution was aborted, timed out or failed",
    "deploy_model": "novaft: import a completed run's model into Amazon Bedrock and deploy it, one step per call",
    "record_deployment": "novaft: smoke-test a run's Bedrock deployment and record it (or why it failed)",
    "await_approval": "novaft: keep a run's approval task token, record AwaitingApproval and ask for an answer",
    "acquire_slot": "novaft: take one of the stage's training slots for a run, or queue it",
    "release_slot": "novaft: give back a run's training slot (or its place in the queue)",
    "plan_evaluation": "novaft: render and plan the evaluation jobs of a completed run",
    "start_evaluation": "novaft: start one SageMaker evaluation job of a run",
    "record_evaluation": "novaft: record a run's evaluation results and the gate's verdict",
}


class PipelineStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        data: DataExports,
        repo_root: Path,
        layer_dir: Path,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        removal = cdk.RemovalPolicy.RETAIN if config.retain_data else cdk.RemovalPolicy.DESTROY
        retention = Retention(config.log_retention_days, removal)
        datasets_bucket = s3.Bucket.from_bucket_attributes(
            self, "DatasetsBucket", bucket_arn=data.datasets_bucket_arn, bucket_name=data.datasets_bucket_name
        )
        artifacts_bucket = s3.Bucket.from_bucket_attributes(
            self, "ArtifactsBucket", bucket_arn=data.artifacts_bucket_arn, bucket_name=data.artifacts_bucket_name
        )
        key = kms.Key.from_key_arn(self, "DataKey", data.key_arn)
        training_job_arns = training_job_arn_pattern(self, TRAINING_JOB_PREFIX)

        storage = RunStorage(
            datasets_bucket,
            artifacts_bucket,
            key,
            incoming_prefix=config.incoming_prefix,
            runs_prefix=config.runs_prefix,
        )

        training = TrainingRole(
            self,
            "Training",
            storage=storage,
            image_account=config.image_account,
            image_repository=NOVA_TRAINING_IMAGE_REPOSITORY,
            evaluation_image_repository=EVALUATION_IMAGE_REPOSITORY,
            training_job_prefix=TRAINING_JOB_PREFIX,
            network=TrainingNetwork(config.vpc.subnet_ids, config.vpc.security_group_ids) if config.vpc else None,
        )
        notifications = RunNotifications(self, "Notifications", key=key, email=config.notification_email)
        bedrock_import = BedrockImportRole(self, "BedrockImport")
        default_job = json.dumps(config.default_job, sort_keys=True, separators=(",", ":"))
        stage_policy = json.dumps(config.policy.to_dict(), sort_keys=True, separators=(",", ":"))

        environment = {
            ENV_NAMES["stage"]: config.stage,
            ENV_NAMES["datasets_bucket"]: datasets_bucket.bucket_name,
            ENV_NAMES["artifacts_bucket"]: artifacts_bucket.bucket_name,
            ENV_NAMES["runs_table"]: data.runs_table_name,
            ENV_NAMES["kms_key_arn"]: key.key_arn,
            ENV_NAMES["training_role_arn"]: training.role.role_arn,
            ENV_NAMES["bedrock_role_arn"]: bedrock_import.role.role_arn,
            ENV_NAMES["topic_arn"]: notifications.topic.topic_arn,
            ENV_NAMES["default_job"]: default_job,
            ENV_NAMES["incoming_prefix"]: config.incoming_prefix,
            ENV_NAMES["runs_prefix"]: config.runs_prefix,
            ENV_NAMES["max_training_seconds"]: str(config.max_training_hours * 3600),
            ENV_NAMES["policy"]: stage_policy,
            # The workflow has the approval gate: a run that needs approval waits for it (docs/policy.md).
            ENV_NAMES["approval_gate"]: "true",
            "POWERTOOLS_SERVICE_NAME": service_name(config.stage),
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        }
        if config.default_evaluation is not None:
            environment[ENV_NAMES["default_evaluation"]] = json.dumps(
                config.default_evaluation, sort_keys=True, separators=(",", ":")
            )
        if config.vpc:
            environment[ENV_NAMES["subnet_ids"]] = ",".join(config.vpc.subnet_ids)
            environment[ENV_NAMES["security_group_ids"]] = ",".join(config.vpc.security_group_ids)

        code = shared_code(repo_root)
        layer = dependency_layer(self, "Dependencies", layer_dir=layer_dir, repo_root=repo_root)
        sizing = dict(FUNCTION_SIZING)
        sizing["validate_dataset"] = FunctionSizing(config.validation_memory_mb, sizing["validate_dataset"].timeout)
        functions = {
            name: HouseFunction(
                self,
                "".join(part.title() for part in name.split("_")),
                handler_module=name,
                description=FUNCTION_DESCRIPTIONS[name],
                code=code,
                layers=[layer],
                environment=environment,
                sizing=sizing[name],
                retention=retention,
            )
            for name in FUNCTION_SIZING
        }

        HandlerPermissions(
            self,
            "Permissions",
            props=HandlerPermissionsProps(
                storage=storage,
                runs_table_arn=data.runs_table_arn,
                training_job_prefix=TRAINING_JOB_PREFIX,
                training_role=training.role,
                topic=notifications.topic,
                training_job_bounds=TrainingJobBounds.of_stage(
                    config.policy,
                    subnet_ids=config.vpc.subnet_ids if config.vpc else (),
                    security_group_ids=config.vpc.security_group_ids if config.vpc else (),
                ),
            ),
            roles={name: function.role for name, function in functions.items()},
        )
        BedrockDeploymentGrants(
            self,
            "BedrockGrants",
            props=DeploymentGrantProps(
                import_role=bedrock_import.role,
                deploy_model=functions["deploy_model"].role,
                record_deployment=functions["record_deployment"].role,
            ),
        )

        gate_bounds = GateBounds.within_history(
            approval_timeout_hours=config.policy.approval_timeout_hours,
            poll_seconds=config.poll_interval_seconds,
            history_events_left=HISTORY_EVENT_LIMIT
            - HISTORY_EVENTS_OUTSIDE_POLLING
            - config.max_polls * HISTORY_EVENTS_PER_POLL,
        )
        approver = ApproverPolicy(self, "Approver", runs_table_arn=data.runs_table_arn, key=key)
        definition = WorkflowDefinition(
            self,
            "Definition",
            functions=WorkflowFunctions(**{name: functions[name].function for name in WorkflowFunctions.names()}),
            topic=notifications.topic,
            training_job_arn_pattern=training_job_arns,
            polling=PollingBounds(
                interval=cdk.Duration.seconds(config.poll_interval_seconds), max_polls=config.max_polls
            ),
            gate=gate_bounds,
            # Evaluation jobs are checked as often as training, and waited for at most as long.
            evaluation=EvaluationBounds(
                interval=cdk.Duration.seconds(config.poll_interval_seconds), max_polls=config.max_polls
            ),
            # Imports and deployments take tens of minutes; the stage's poll interval paces the checks too.
            deployment=DeploymentPolling(interval_seconds=max(config.poll_interval_seconds, 1)),
        )
        workflow = RunWorkflow(
            self,
            "Workflow",
            start=definition.start,
            # The gate's waits come on top: an execution must outlive the approval timeout and the queue bound.
            timeout=cdk.Duration.hours(
                config.workflow_timeout_hours
                + math.ceil(gate_bounds.approval_timeout_hours)
                + gate_bounds.queue_wait_hours
            ),
            storage=storage,
            stop_run=functions["stop_run"].function,
            invoked_functions=[f.function for name, f in functions.items() if name != "stop_run"],
            training_job_arn_pattern=training_job_arns,
            training_job_prefix=TRAINING_JOB_PREFIX,
            retention=retention,
        )
        monitoring = PipelineMonitoring(
            self,
            "Monitoring",
            stage=config.stage,
            state_machine=workflow.state_machine,
            topic=notifications.topic,
            stop_dead_letter_queue=workflow.stop_dead_letter_queue,
        )
        self.functions = functions
        self.training_role = training.role
        self.topic = notifications.topic
        self.state_machine = workflow.state_machine
        self.dashboard = monitoring.dashboard

        outputs = {
            OUTPUT_STATE_MACHINE_ARN: workflow.state_machine.state_machine_arn,
            OUTPUT_DATASETS_BUCKET: datasets_bucket.bucket_name,
            OUTPUT_ARTIFACTS_BUCKET: artifacts_bucket.bucket_name,
            OUTPUT_RUNS_TABLE: data.runs_table_name,
            OUTPUT_TOPIC_ARN: notifications.topic.topic_arn,
            OUTPUT_INCOMING_PREFIX: config.incoming_prefix,
            OUTPUT_RUNS_PREFIX: config.runs_prefix,
            # The job spec runs without a job.yaml use: `novaft submit` checks data locally against it.
            OUTPUT_DEFAULT_JOB: default_job,
            # What this stage allows; `novaft plan --stage` reads the same policy from cdk.json.
            OUTPUT_STAGE_POLICY: stage_policy,
            OUTPUT_BEDROCK_IMPORT_ROLE: bedrock_import.role.role_arn,
            # Attach it to whoever may answer approvals (novaft approve / novaft reject).
            OUTPUT_APPROVER_POLICY: approver.policy.managed_policy_arn,
        }
        for name, value in outputs.items():
            cdk.CfnOutput(self, name, value=value)
