"""The stateless deployment unit: functions, SageMaker role, workflow, rules, topic, dashboard and alarms.

It can be destroyed and redeployed at any time; everything that holds data arrives from the DataStack.
"""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from novaft.pipeline.facts import (
    METRICS_NAMESPACE,
    OUTPUT_ARTIFACTS_BUCKET,
    OUTPUT_DATASETS_BUCKET,
    OUTPUT_DEFAULT_JOB,
    OUTPUT_INCOMING_PREFIX,
    OUTPUT_RUNS_PREFIX,
    OUTPUT_RUNS_TABLE,
    OUTPUT_STATE_MACHINE_ARN,
    OUTPUT_TOPIC_ARN,
    service_name,
)
from novaft.pipeline.settings import ENV_NAMES
from novaft.recipes.job_name import PREFIX as JOB_NAME_PREFIX
from stacks.config import NOVA_TRAINING_IMAGE_REPOSITORY, StageConfig
from stacks.constructs.handler_permissions import HandlerPermissions, HandlerPermissionsProps
from stacks.constructs.house_function import FunctionSizing, HouseFunction
from stacks.constructs.monitoring import PipelineMonitoring
from stacks.constructs.notifications import RunNotifications
from stacks.constructs.training_role import TrainingNetwork, TrainingRole
from stacks.constructs.workflow import RunWorkflow
from stacks.constructs.workflow_definition import PollingBounds, WorkflowDefinition, WorkflowFunctions
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
}
FUNCTION_DESCRIPTIONS = {
    "register_run": "novaft: register a run for an uploaded dataset (idempotent)",
    "validate_dataset": "novaft: validate the Converse dataset and write the report",
    "render_recipe": "novaft: render the Nova recipe and the training-job plan",
    "start_training": "novaft: start the SageMaker training job",
    "record_result": "novaft: record a run's result and build its notification",
    "stop_run": "novaft: stop the training job of a run whose execution was aborted, timed out or failed",
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
        datasets_bucket = s3.Bucket.from_bucket_attributes(
            self, "DatasetsBucket", bucket_arn=data.datasets_bucket_arn, bucket_name=data.datasets_bucket_name
        )
        artifacts_bucket = s3.Bucket.from_bucket_attributes(
            self, "ArtifactsBucket", bucket_arn=data.artifacts_bucket_arn, bucket_name=data.artifacts_bucket_name
        )
        key = kms.Key.from_key_arn(self, "DataKey", data.key_arn)
        training_job_arns = self.format_arn(
            service="sagemaker", resource="training-job", resource_name=f"{TRAINING_JOB_PREFIX}*"
        )

        training = TrainingRole(
            self,
            "Training",
            datasets_bucket=datasets_bucket,
            artifacts_bucket=artifacts_bucket,
            key=key,
            incoming_prefix=config.incoming_prefix,
            runs_prefix=config.runs_prefix,
            image_account=config.image_account,
            image_repository=NOVA_TRAINING_IMAGE_REPOSITORY,
            training_job_prefix=TRAINING_JOB_PREFIX,
            network=TrainingNetwork(config.vpc.subnet_ids, config.vpc.security_group_ids) if config.vpc else None,
        )
        notifications = RunNotifications(self, "Notifications", key=key, email=config.notification_email)
        default_job = json.dumps(config.default_job, sort_keys=True, separators=(",", ":"))

        environment = {
            ENV_NAMES["stage"]: config.stage,
            ENV_NAMES["datasets_bucket"]: datasets_bucket.bucket_name,
            ENV_NAMES["artifacts_bucket"]: artifacts_bucket.bucket_name,
            ENV_NAMES["runs_table"]: data.runs_table_name,
            ENV_NAMES["kms_key_arn"]: key.key_arn,
            ENV_NAMES["training_role_arn"]: training.role.role_arn,
            ENV_NAMES["topic_arn"]: notifications.topic.topic_arn,
            ENV_NAMES["default_job"]: default_job,
            ENV_NAMES["incoming_prefix"]: config.incoming_prefix,
            ENV_NAMES["runs_prefix"]: config.runs_prefix,
            ENV_NAMES["max_training_seconds"]: str(config.max_training_hours * 3600),
            "POWERTOOLS_SERVICE_NAME": service_name(config.stage),
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        }
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
                log_retention_days=config.log_retention_days,
                removal_policy=removal,
            )
            for name in FUNCTION_SIZING
        }

        HandlerPermissions(
            self,
            "Permissions",
            props=HandlerPermissionsProps(
                datasets_bucket=datasets_bucket,
                artifacts_bucket=artifacts_bucket,
                key=key,
                runs_table_arn=data.runs_table_arn,
                incoming_prefix=config.incoming_prefix,
                runs_prefix=config.runs_prefix,
                training_job_arns=training_job_arns,
                training_job_prefix=TRAINING_JOB_PREFIX,
                training_role=training.role,
                topic=notifications.topic,
            ),
            roles={name: function.role for name, function in functions.items()},
        )

        definition = WorkflowDefinition(
            self,
            "Definition",
            functions=WorkflowFunctions(
                register_run=functions["register_run"].function,
                validate_dataset=functions["validate_dataset"].function,
                render_recipe=functions["render_recipe"].function,
                start_training=functions["start_training"].function,
                record_result=functions["record_result"].function,
            ),
            topic=notifications.topic,
            training_job_arn_pattern=training_job_arns,
            polling=PollingBounds(
                interval=cdk.Duration.seconds(config.poll_interval_seconds), max_polls=config.max_polls
            ),
        )
        workflow = RunWorkflow(
            self,
            "Workflow",
            start=definition.start,
            timeout=cdk.Duration.hours(config.workflow_timeout_hours),
            datasets_bucket=datasets_bucket,
            incoming_prefix=config.incoming_prefix,
            stop_run=functions["stop_run"].function,
            key=key,
            invoked_functions=[f.function for name, f in functions.items() if name != "stop_run"],
            training_job_arn_pattern=training_job_arns,
            training_job_prefix=TRAINING_JOB_PREFIX,
            log_retention_days=config.log_retention_days,
            removal_policy=removal,
        )
        monitoring = PipelineMonitoring(
            self, "Monitoring", stage=config.stage, state_machine=workflow.state_machine, topic=notifications.topic
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
        }
        for name, value in outputs.items():
            cdk.CfnOutput(self, name, value=value)
