"""The stateless deployment unit: functions, SageMaker role, workflow, rules, topic, dashboard and alarms.

It can be destroyed and redeployed at any time; everything that holds data arrives from the DataStack.
"""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from novaft.pipeline.settings import ENV_NAMES
from stacks.config import StageConfig
from stacks.constructs.house_function import FunctionSizing, HouseFunction
from stacks.constructs.monitoring import METRICS_NAMESPACE, PipelineMonitoring, service_name
from stacks.constructs.notifications import RunNotifications
from stacks.constructs.training_role import TrainingRole
from stacks.constructs.workflow import RunWorkflow
from stacks.constructs.workflow_definition import PollingBounds, WorkflowDefinition, WorkflowFunctions
from stacks.data_stack import BY_CREATED_INDEX, BY_EXECUTION_INDEX, DataExports
from stacks.lambda_code import dependency_layer, shared_code
from stacks.security import acknowledge, nag_resource_label

# Every training job novaft starts is named "novaft-..." (RegisterRun picks the name), which bounds the SageMaker
# permissions to training-job/novaft-*.
TRAINING_JOB_PREFIX = "novaft-"

# CloudWatch Logs retention values (days) and their CDK names; StageConfig accepts exactly these keys.
LOG_RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS,
    2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}

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
    "stop_run": "novaft: stop the training job of an aborted or timed-out run",
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
        log_retention = LOG_RETENTION[config.log_retention_days]
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
            training_job_prefix=TRAINING_JOB_PREFIX,
            vpc=config.vpc,
        )
        notifications = RunNotifications(self, "Notifications", key=key, email=config.notification_email)

        environment = {
            ENV_NAMES["stage"]: config.stage,
            ENV_NAMES["datasets_bucket"]: datasets_bucket.bucket_name,
            ENV_NAMES["artifacts_bucket"]: artifacts_bucket.bucket_name,
            ENV_NAMES["runs_table"]: data.runs_table_name,
            ENV_NAMES["kms_key_arn"]: key.key_arn,
            ENV_NAMES["training_role_arn"]: training.role.role_arn,
            ENV_NAMES["topic_arn"]: notifications.topic.topic_arn,
            ENV_NAMES["default_job"]: json.dumps(config.default_job, sort_keys=True, separators=(",", ":")),
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
                log_retention=log_retention,
                removal_policy=removal,
            )
            for name in FUNCTION_SIZING
        }

        # Grants: explicit actions on explicit resources (no grant_* helpers, which add action wildcards).
        incoming_objects = datasets_bucket.arn_for_objects(f"{config.incoming_prefix}*")
        run_objects = artifacts_bucket.arn_for_objects(f"{config.runs_prefix}*")
        table_resources = [
            data.runs_table_arn,
            f"{data.runs_table_arn}/index/{BY_EXECUTION_INDEX}",
            f"{data.runs_table_arn}/index/{BY_CREATED_INDEX}",
        ]
        use_key = iam.PolicyStatement(
            actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
            resources=[key.key_arn],
        )
        runs_table = iam.PolicyStatement(
            actions=[
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:Query",
                "dynamodb:ConditionCheckItem",
            ],
            resources=table_resources,
        )
        read_incoming = iam.PolicyStatement(
            actions=["s3:GetObject", "s3:GetObjectVersion"], resources=[incoming_objects]
        )
        list_incoming = iam.PolicyStatement(
            actions=["s3:ListBucket"],
            resources=[datasets_bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{config.incoming_prefix}*"]}},
        )
        read_write_runs = iam.PolicyStatement(actions=["s3:GetObject", "s3:PutObject"], resources=[run_objects])
        training_jobs = [training_job_arns]
        describe_jobs = iam.PolicyStatement(actions=["sagemaker:DescribeTrainingJob"], resources=training_jobs)
        # ListTags: on a name conflict StartTraining reads the job's run-id tag to tell its own job from another's.
        start_jobs = iam.PolicyStatement(
            actions=[
                "sagemaker:CreateTrainingJob",
                "sagemaker:DescribeTrainingJob",
                "sagemaker:AddTags",
                "sagemaker:ListTags",
            ],
            resources=training_jobs,
        )
        stop_jobs = iam.PolicyStatement(
            actions=["sagemaker:StopTrainingJob", "sagemaker:DescribeTrainingJob"], resources=training_jobs
        )
        pass_training_role = iam.PolicyStatement(
            actions=["iam:PassRole"],
            resources=[training.role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        )
        publish = iam.PolicyStatement(actions=["sns:Publish"], resources=[notifications.topic.topic_arn])

        grants = {
            "register_run": [runs_table, use_key, read_incoming, list_incoming],
            "validate_dataset": [runs_table, use_key, read_incoming, read_write_runs],
            "render_recipe": [runs_table, use_key, read_incoming, read_write_runs],
            "start_training": [runs_table, use_key, start_jobs, pass_training_role],
            "record_result": [runs_table, use_key, read_write_runs, describe_jobs],
            "stop_run": [runs_table, use_key, read_write_runs, stop_jobs, publish],
        }
        for name, statements in grants.items():
            functions[name].add_to_policy(*statements)
        wildcard_bounds = {
            incoming_objects: f"Bounded to the {config.incoming_prefix} prefix of the datasets bucket (the drop zone)",
            run_objects: f"Bounded to the {config.runs_prefix} prefix of the artifacts bucket (one folder per run)",
            training_job_arns: f"Bounded to training jobs named {TRAINING_JOB_PREFIX}* in this account and region; "
            "job names are generated per run, so the exact ARN is not known at deploy time",
        }
        for name, statements in grants.items():
            acknowledge_wildcard_resources(functions[name].role, statements, wildcard_bounds)

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
            log_retention=log_retention,
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
            "StateMachineArn": workflow.state_machine.state_machine_arn,
            "DatasetsBucketName": datasets_bucket.bucket_name,
            "ArtifactsBucketName": artifacts_bucket.bucket_name,
            "RunsTableName": data.runs_table_name,
            "TopicArn": notifications.topic.topic_arn,
            "IncomingPrefix": config.incoming_prefix,
            # The job spec runs without a job.yaml use: `novaft submit` checks data locally against it.
            "DefaultJob": json.dumps(config.default_job, sort_keys=True, separators=(",", ":")),
        }
        for name, value in outputs.items():
            cdk.CfnOutput(self, name, value=value)


def acknowledge_wildcard_resources(
    construct: Construct, statements: list[iam.PolicyStatement], bounds: dict[str, str]
) -> None:
    """Acknowledge each wildcard resource of ``statements`` with its stated bound; an unbounded one is a bug here."""
    for statement in statements:
        for resource in statement.resources:
            if "*" not in nag_resource_label(construct, resource):
                continue
            if resource not in bounds:
                raise ValueError(f"wildcard resource {nag_resource_label(construct, resource)} has no stated bound")
            acknowledge(
                construct, f"AwsSolutions-IAM5[Resource::{nag_resource_label(construct, resource)}]", bounds[resource]
            )
