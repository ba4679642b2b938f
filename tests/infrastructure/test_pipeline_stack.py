"""The stateless stack: functions, IAM bounds, trigger rules, topic, monitoring and outputs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match

from novaft.pipeline.facts import (
    DEFAULT_INCOMING_PREFIX,
    DEFAULT_RUNS_PREFIX,
    METRIC_TRAINING_HOURS,
    METRICS_NAMESPACE,
    OUTPUT_DEFAULT_JOB,
    OUTPUT_INCOMING_PREFIX,
    OUTPUT_RUNS_PREFIX,
    OUTPUT_STAGE_POLICY,
    PLATFORM_JOB_TAGS,
    REQUIRED_PIPELINE_OUTPUTS,
    RUN_COUNT_METRICS,
    STOP_RULE_EXECUTION_STATUSES,
    data_stack_name,
    service_name,
)
from novaft.pipeline.settings import ENV_NAMES
from novaft.policy import StagePolicy, allowed_instance_types
from stacks.constructs.training_role import TRAINING_METRICS_NAMESPACE
from stacks.pipeline_stack import TRAINING_JOB_PREFIX
from stacks.security import ACTIONS_WITHOUT_RESOURCE_LEVEL
from tests.infrastructure.conftest import HANDLERS, REGION, STAGE, TEST_STAGE_SETTINGS, SynthesizedApp


def _resources(synthesized: SynthesizedApp, which: str, resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in synthesized.template_dict(which)["Resources"].items()
        if resource["Type"] == resource_type
    }


def _functions(synthesized: SynthesizedApp) -> dict[str, dict[str, Any]]:
    """Workflow functions by handler module name."""
    found = {}
    for resource in _resources(synthesized, "Pipeline", "AWS::Lambda::Function").values():
        handler = resource["Properties"]["Handler"]
        found[handler.removeprefix("lambdas.handlers.").removesuffix(".lambda_handler")] = resource["Properties"]
    return found


def _statements(synthesized: SynthesizedApp) -> list[tuple[str, dict[str, Any]]]:
    statements = []
    for which in ("Data", "Pipeline"):
        for policy_type in ("AWS::IAM::Policy", "AWS::IAM::Role"):
            for logical_id, resource in _resources(synthesized, which, policy_type).items():
                documents = [resource["Properties"].get("PolicyDocument")]
                documents += [p["PolicyDocument"] for p in resource["Properties"].get("Policies", [])]
                for document in filter(None, documents):
                    statements += [(logical_id, statement) for statement in document["Statement"]]
    return statements


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_every_workflow_handler_has_a_function(synthesized: SynthesizedApp) -> None:
    assert len(HANDLERS) == 14
    assert sorted(_functions(synthesized)) == HANDLERS


@pytest.mark.parametrize("handler", HANDLERS)
def test_function_house_defaults(synthesized: SynthesizedApp, handler: str) -> None:
    properties = _functions(synthesized)[handler]
    assert properties["Runtime"] == "python3.14"
    assert properties["Architectures"] == ["arm64"]
    assert properties["TracingConfig"] == {"Mode": "Active"}
    assert len(properties["Layers"]) == 1
    assert "LoggingConfig" in properties


@pytest.mark.parametrize("handler", HANDLERS)
def test_function_environment_is_the_settings_contract(synthesized: SynthesizedApp, handler: str) -> None:
    variables = _functions(synthesized)[handler]["Environment"]["Variables"]
    # Set only when the stage has a VPC, or a default evaluation (the test stage has neither).
    optional = {ENV_NAMES["subnet_ids"], ENV_NAMES["security_group_ids"], ENV_NAMES["default_evaluation"]}
    assert set(variables) == (set(ENV_NAMES.values()) - optional) | {
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
    }
    assert variables[ENV_NAMES["stage"]] == STAGE
    assert variables[ENV_NAMES["incoming_prefix"]] == DEFAULT_INCOMING_PREFIX
    assert variables[ENV_NAMES["runs_prefix"]] == DEFAULT_RUNS_PREFIX
    assert json.loads(variables[ENV_NAMES["default_job"]]) == {"model": "micro", "method": "sft", "peft": "lora"}
    assert variables["POWERTOOLS_SERVICE_NAME"] == service_name(STAGE)
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == METRICS_NAMESPACE


@pytest.mark.parametrize(
    ("handler", "memory", "timeout"),
    [("validate_dataset", 1769, 900), ("register_run", 256, 30), ("record_result", 512, 120)],
)
def test_function_sizing(synthesized: SynthesizedApp, handler: str, memory: int, timeout: int) -> None:
    properties = _functions(synthesized)[handler]
    assert (properties["MemorySize"], properties["Timeout"]) == (memory, timeout)


def test_every_log_group_has_retention(synthesized: SynthesizedApp) -> None:
    log_groups = _resources(synthesized, "Pipeline", "AWS::Logs::LogGroup")
    assert len(log_groups) == len(HANDLERS) + 1  # one per function plus the state machine's
    assert {group["Properties"].get("RetentionInDays") for group in log_groups.values()} == {30}


def test_no_managed_policies(synthesized: SynthesizedApp) -> None:
    for role in _resources(synthesized, "Pipeline", "AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role["Properties"]


def test_no_wildcard_actions(synthesized: SynthesizedApp) -> None:
    for logical_id, statement in _statements(synthesized):
        if statement.get("Effect") == "Deny":
            continue
        for action in _as_list(statement.get("Action", [])):
            assert "*" not in action, f"{logical_id} allows {action}"


# The bounded wildcards: a prefix of a bucket, a job-name pattern, a function's versions, a log-stream pattern.
BOUNDED_SUFFIXES = (
    f"/{DEFAULT_INCOMING_PREFIX}*",
    f"/{DEFAULT_RUNS_PREFIX}*",
    f":training-job/{TRAINING_JOB_PREFIX}*",
    f":log-stream:{TRAINING_JOB_PREFIX}*",
    ":*",
    # Bedrock (stacks/constructs/bedrock_import_role.py): the account's SageMaker escrow buckets, and the imported
    # models, deployments and provisioned throughputs of this account and region (their ARNs carry no name).
    "-smtj-*",
    "-smtj-*/*",
    ":custom-model/*",
    ":custom-model-deployment/*",
    ":provisioned-model/*",
)


def test_wildcard_resources_are_bounded(synthesized: SynthesizedApp) -> None:
    for logical_id, statement in _statements(synthesized):
        if statement.get("Effect") == "Deny" or "Principal" in statement:
            continue  # bucket/key resource policies, not identity policies
        for resource in _as_list(statement.get("Resource", [])):
            text = json.dumps(resource)
            if resource == "*":
                unbounded = set(_as_list(statement["Action"])) - ACTIONS_WITHOUT_RESOURCE_LEVEL
                assert not unbounded, f"{logical_id}: Resource * for {unbounded}"
            elif "*" in text:
                assert text.rstrip('"]}').endswith(BOUNDED_SUFFIXES), f"{logical_id}: unbounded {text}"


def test_put_metric_data_is_limited_to_the_training_namespace(synthesized: SynthesizedApp) -> None:
    metric_statements = [s for _, s in _statements(synthesized) if "cloudwatch:PutMetricData" in _as_list(s["Action"])]
    assert metric_statements
    for statement in metric_statements:
        assert statement["Condition"] == {"StringEquals": {"cloudwatch:namespace": TRAINING_METRICS_NAMESPACE}}


def test_pass_role_only_to_the_service_of_each_role(synthesized: SynthesizedApp) -> None:
    # StartTraining and StartEvaluation pass the training role with the same statement.
    granted = [s for _, s in _statements(synthesized) if "iam:PassRole" in _as_list(s["Action"])]
    pass_role = [json.loads(text) for text in {json.dumps(s, sort_keys=True) for s in granted}]
    passed = {s["Resource"]["Fn::GetAtt"][0]: s["Condition"]["StringEquals"]["iam:PassedToService"] for s in pass_role}
    assert len(pass_role) == len(passed) == 2
    by_prefix = {role.rstrip("0123456789ABCDEF")[: len("BedrockImport")]: service for role, service in passed.items()}
    assert by_prefix == {"TrainingRole": "sagemaker.amazonaws.com", "BedrockImport": "bedrock.amazonaws.com"}


def test_training_role_pulls_only_the_nova_repository_of_its_region(synthesized: SynthesizedApp) -> None:
    pulls = [s for _, s in _statements(synthesized) if "ecr:BatchGetImage" in _as_list(s["Action"])]
    assert len(pulls) == 1
    resource = json.dumps(pulls[0]["Resource"])
    assert f":ecr:{REGION}:176779409107:repository/nova-fine-tune-repo" in resource


def test_training_role_trusts_only_sagemaker_of_this_account(synthesized: SynthesizedApp) -> None:
    roles = _resources(synthesized, "Pipeline", "AWS::IAM::Role")
    (training,) = [r for lid, r in roles.items() if lid.startswith("TrainingRole")]
    (statement,) = training["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert "aws:SourceAccount" in statement["Condition"]["StringEquals"]


def test_training_role_reads_only_the_current_media_in_incoming(synthesized: SynthesizedApp) -> None:
    # The training data is read from the run's snapshot under runs/; incoming/ only for media the records reference.
    statements = {s.get("Sid"): s for lid, s in _statements(synthesized) if lid.startswith("TrainingPolicy")}
    media = statements["ReadDatasetMedia"]
    assert _as_list(media["Action"]) == ["s3:GetObject"]
    assert DEFAULT_INCOMING_PREFIX in json.dumps(media["Resource"])


def test_render_recipe_reads_nothing_in_incoming(synthesized: SynthesizedApp) -> None:
    roles = {
        resource["Properties"]["Role"]["Fn::GetAtt"][0]
        for resource in _resources(synthesized, "Pipeline", "AWS::Lambda::Function").values()
        if resource["Properties"]["Handler"].endswith("render_recipe.lambda_handler")
    }
    (role,) = roles
    policies = _resources(synthesized, "Pipeline", "AWS::IAM::Policy").values()
    statements = [
        statement
        for policy in policies
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert statements and not any(DEFAULT_INCOMING_PREFIX in json.dumps(s["Resource"]) for s in statements)


def test_upload_rule_pattern(synthesized: SynthesizedApp) -> None:
    synthesized.pipeline.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.s3"],
                "detail-type": ["Object Created"],
                "detail": {
                    "bucket": {"name": [{"Fn::ImportValue": f"{data_stack_name(STAGE)}-DatasetsBucketName"}]},
                    "object": {"key": [{"wildcard": f"{DEFAULT_INCOMING_PREFIX}*.jsonl"}]},
                },
            },
            "Targets": [Match.object_like({"Arn": {"Ref": Match.string_like_regexp("^WorkflowStateMachine")}})],
        },
    )


def test_abort_rule_invokes_stop_run(synthesized: SynthesizedApp) -> None:
    synthesized.pipeline.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.states"],
                "detail-type": ["Step Functions Execution Status Change"],
                "detail": {
                    "status": list(STOP_RULE_EXECUTION_STATUSES),
                    "stateMachineArn": [{"Ref": Match.string_like_regexp("^WorkflowStateMachine")}],
                },
            },
            "Targets": [
                Match.object_like({"Arn": {"Fn::GetAtt": [Match.string_like_regexp("^StopRunFunction"), "Arn"]}})
            ],
        },
    )


def test_state_machine_logging_tracing_and_timeout(synthesized: SynthesizedApp) -> None:
    synthesized.pipeline.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "StateMachineType": "STANDARD",
            "TracingConfiguration": {"Enabled": True},
            "LoggingConfiguration": Match.object_like({"Level": "ALL", "IncludeExecutionData": True}),
        },
    )


def test_topic_encrypted_tls_only_with_email(synthesized: SynthesizedApp) -> None:
    synthesized.pipeline.has_resource_properties(
        "AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::ImportValue": f"{data_stack_name(STAGE)}-DataKeyArn"}}
    )
    synthesized.pipeline.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                )
            }
        },
    )
    synthesized.pipeline.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"}
    )


def test_failed_executions_alarm_notifies_the_topic(synthesized: SynthesizedApp) -> None:
    synthesized.pipeline.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "ExecutionsFailed",
            "Namespace": "AWS/States",
            "Threshold": 1,
            "AlarmActions": [{"Ref": Match.string_like_regexp("^NotificationsTopic")}],
        },
    )


@pytest.mark.parametrize("metric", [*RUN_COUNT_METRICS, METRIC_TRAINING_HOURS])
def test_dashboard_shows_run_metrics(synthesized: SynthesizedApp, metric: str) -> None:
    (dashboard,) = _resources(synthesized, "Pipeline", "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    assert f'\\"{METRICS_NAMESPACE}\\",\\"{metric}\\",\\"service\\",\\"{service_name(STAGE)}\\"' in body


@pytest.mark.parametrize("output", [*REQUIRED_PIPELINE_OUTPUTS, OUTPUT_DEFAULT_JOB, OUTPUT_STAGE_POLICY])
def test_pipeline_outputs(synthesized: SynthesizedApp, output: str) -> None:
    assert output in synthesized.template_dict("Pipeline")["Outputs"]


@pytest.mark.parametrize(
    ("output", "env_name"), [(OUTPUT_INCOMING_PREFIX, "incoming_prefix"), (OUTPUT_RUNS_PREFIX, "runs_prefix")]
)
def test_prefix_outputs_are_the_prefixes_the_functions_use(
    synthesized: SynthesizedApp, output: str, env_name: str
) -> None:
    value = synthesized.template_dict("Pipeline")["Outputs"][output]["Value"]
    assert value.endswith("/")
    assert {
        function["Environment"]["Variables"][ENV_NAMES[env_name]] for function in _functions(synthesized).values()
    } == {value}


def test_default_job_output_is_the_stage_default_job(synthesized: SynthesizedApp) -> None:
    value = synthesized.template_dict("Pipeline")["Outputs"][OUTPUT_DEFAULT_JOB]["Value"]
    assert json.loads(value) == {"model": "micro", "method": "sft", "peft": "lora"}


def test_the_stage_policy_reaches_the_functions_and_the_operator_unchanged(synthesized: SynthesizedApp) -> None:
    expected = StagePolicy.from_mapping(TEST_STAGE_SETTINGS["policy"], max_training_hours=48).to_dict()
    output = synthesized.template_dict("Pipeline")["Outputs"][OUTPUT_STAGE_POLICY]["Value"]
    assert json.loads(output) == expected
    passed = {
        function["Environment"]["Variables"][ENV_NAMES["policy"]] for function in _functions(synthesized).values()
    }
    assert passed == {output}


def test_create_training_job_carries_the_policy_conditions(synthesized: SynthesizedApp) -> None:
    # Condition keys of sagemaker:CreateTrainingJob in the service authorization reference ("Actions, resources, and
    # condition keys for Amazon SageMaker"); the stage's data key is the only output key a job may use.
    # StartTraining and StartEvaluation each carry the same statement.
    creating = [s for _, s in _statements(synthesized) if "sagemaker:CreateTrainingJob" in _as_list(s["Action"])]
    (statement,) = [json.loads(text) for text in {json.dumps(s, sort_keys=True) for s in creating}]
    assert len(creating) == 2
    policy = StagePolicy.from_mapping(TEST_STAGE_SETTINGS["policy"], max_training_hours=48)
    conditions = statement["Condition"]
    assert conditions["ForAllValues:StringEquals"] == {
        "sagemaker:InstanceTypes": list(allowed_instance_types(policy)),
        "aws:TagKeys": list(PLATFORM_JOB_TAGS),
    }
    assert conditions["Bool"] == {"sagemaker:InterContainerTrafficEncryption": "true"}
    assert conditions["NumericLessThanEquals"] == {"sagemaker:MaxRuntimeInSeconds": str(24 * 3600)}
    start_training_key = _functions(synthesized)["start_training"]["Environment"]["Variables"][ENV_NAMES["kms_key_arn"]]
    assert conditions["ArnEquals"] == {"sagemaker:OutputKmsKey": start_training_key}
    assert "Null" not in conditions  # the test stage has no VPC
    assert _as_list(statement["Action"]) == ["sagemaker:CreateTrainingJob"]
