"""The security-review controls: encryption headers, key grants through services only, the trust of the start role,
the stop rule's dead-letter queue, the encrypted workflow log group and the synth-time Resource "*" guard."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam

from novaft.pipeline.facts import data_stack_name, pipeline_stack_name
from stacks.app_factory import build_app
from stacks.security import ACTIONS_WITHOUT_RESOURCE_LEVEL, WildcardResourceGuard
from tests.infrastructure.conftest import STAGE, SynthesizedApp, make_fake_layer, stage_context

DATA_KEY_IMPORT = {"Fn::ImportValue": f"{data_stack_name(STAGE)}-DataKeyArn"}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _of_type(synthesized: SynthesizedApp, which: str, resource_type: str) -> dict[str, dict[str, Any]]:
    resources = synthesized.template_dict(which)["Resources"]
    return {logical_id: r for logical_id, r in resources.items() if r["Type"] == resource_type}


@pytest.mark.parametrize("bucket", ["DatasetsBucket", "ArtifactsBucket"])
def test_data_buckets_refuse_other_encryption_but_accept_writes_without_headers(
    synthesized: SynthesizedApp, bucket: str
) -> None:
    (policy,) = [
        p
        for p in _of_type(synthesized, "Data", "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket}
    ]
    statements = {s.get("Sid"): s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    algorithm, key_id = "s3:x-amz-server-side-encryption", "s3:x-amz-server-side-encryption-aws-kms-key-id"
    other_encryption, other_keys = statements["DenyOtherEncryption"], statements["DenyOtherKeys"]
    assert other_encryption["Effect"] == other_keys["Effect"] == "Deny"
    assert other_encryption["Action"] == other_keys["Action"] == "s3:PutObject"
    assert other_encryption["Condition"]["StringNotEquals"] == {algorithm: "aws:kms"}
    assert other_keys["Condition"]["StringNotEquals"] == {key_id: {"Fn::GetAtt": ["DataKey", "Arn"]}}
    # Only when the header is present: a write without one gets the bucket default (the data key).
    assert other_encryption["Condition"]["Null"] == {algorithm: "false"}
    assert other_keys["Condition"]["Null"] == {key_id: "false"}


def _identity_key_statements(synthesized: SynthesizedApp) -> list[tuple[str, dict[str, Any]]]:
    return [
        (logical_id, statement)
        for logical_id, policy in _of_type(synthesized, "Pipeline", "AWS::IAM::Policy").items()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if any(action.startswith("kms:") for action in _as_list(statement["Action"]))
    ]


def test_every_key_grant_is_through_a_service(synthesized: SynthesizedApp) -> None:
    statements = _identity_key_statements(synthesized)
    assert statements
    for logical_id, statement in statements:
        assert statement["Resource"] == DATA_KEY_IMPORT, logical_id
        services = _as_list(statement["Condition"]["StringEquals"]["kms:ViaService"])
        assert services, logical_id
        assert all(service in VIA_SERVICES.values() for service in services), (logical_id, services)


def _via(service: str) -> dict[str, Any]:
    return {"Fn::Join": ["", [f"{service}.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}


VIA_SERVICES = {service: _via(service) for service in ("s3", "dynamodb", "sns", "sagemaker")}


def test_functions_use_the_key_through_s3_and_dynamodb_and_stop_run_also_through_sns(
    synthesized: SynthesizedApp,
) -> None:
    services_of_policy: dict[str, list[Any]] = {}
    for logical_id, statement in _identity_key_statements(synthesized):
        services_of_policy.setdefault(logical_id, []).extend(
            _as_list(statement["Condition"]["StringEquals"]["kms:ViaService"])
        )
    for logical_id, services in services_of_policy.items():
        if logical_id.startswith(("StopRun", "AwaitApproval")):  # both publish to the encrypted topic
            assert VIA_SERVICES["sns"] in services
        elif logical_id.startswith("Training"):
            assert services == [VIA_SERVICES["s3"], VIA_SERVICES["sagemaker"]]
        elif logical_id.startswith("WorkflowStateMachine"):
            assert services == [VIA_SERVICES["sns"]]  # it publishes to the encrypted topic
        else:
            assert services == [VIA_SERVICES["s3"], VIA_SERVICES["dynamodb"]], logical_id


def test_only_the_training_role_may_call_kms_encrypt(synthesized: SynthesizedApp) -> None:
    encrypting = {
        logical_id
        for logical_id, statement in _identity_key_statements(synthesized)
        if "kms:Encrypt" in _as_list(statement["Action"])
    }
    # CreateTrainingJob API reference, OutputDataConfig.KmsKeyId: the execution role must be allowed kms:Encrypt.
    assert encrypting and all(logical_id.startswith("TrainingPolicy") for logical_id in encrypting), encrypting


def test_start_role_trusts_only_the_upload_rule_of_this_account(synthesized: SynthesizedApp) -> None:
    rules = _of_type(synthesized, "Pipeline", "AWS::Events::Rule")
    (upload_rule,) = [r for r in rules.values() if r["Properties"]["EventPattern"]["source"] == ["aws.s3"]]
    (target,) = upload_rule["Properties"]["Targets"]
    role = _of_type(synthesized, "Pipeline", "AWS::IAM::Role")[target["RoleArn"]["Fn::GetAtt"][0]]
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    conditions = trust["Condition"]["StringEquals"]
    assert conditions["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert json.dumps(conditions["aws:SourceArn"]).endswith(f':rule/{upload_rule["Properties"]["Name"]}"]]}}')
    assert upload_rule["Properties"]["Name"] == f"{pipeline_stack_name(STAGE)}-start-on-upload"


def test_lost_stops_land_in_an_encrypted_tls_only_queue_with_an_alarm(synthesized: SynthesizedApp) -> None:
    rules = _of_type(synthesized, "Pipeline", "AWS::Events::Rule")
    (stop_rule,) = [r for r in rules.values() if r["Properties"]["EventPattern"]["source"] == ["aws.states"]]
    (target,) = stop_rule["Properties"]["Targets"]
    queue_id = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    queue = _of_type(synthesized, "Pipeline", "AWS::SQS::Queue")[queue_id]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
    (queue_policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in _of_type(synthesized, "Pipeline", "AWS::SQS::QueuePolicy").values()
        if p["Properties"]["Queues"] == [{"Ref": queue_id}]
    ]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in queue_policy
    )
    # stop_run's own failures (after Lambda's retries of an asynchronous invocation) go to the same queue.
    stop_run = _of_type(synthesized, "Pipeline", "AWS::Lambda::Function")[target["Arn"]["Fn::GetAtt"][0]]
    assert stop_run["Properties"]["DeadLetterConfig"] == {"TargetArn": {"Fn::GetAtt": [queue_id, "Arn"]}}
    alarms = [
        a["Properties"]
        for a in _of_type(synthesized, "Pipeline", "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
    ]
    (alarm,) = alarms
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}]
    assert alarm["Threshold"] == 1 and alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["AlarmActions"], "the alarm notifies the run topic"


def test_workflow_log_group_is_encrypted_with_the_data_key(synthesized: SynthesizedApp) -> None:
    machine = next(iter(_of_type(synthesized, "Pipeline", "AWS::StepFunctions::StateMachine").values()))
    (destination,) = machine["Properties"]["LoggingConfiguration"]["Destinations"]
    log_group_id = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    log_group = _of_type(synthesized, "Pipeline", "AWS::Logs::LogGroup")[log_group_id]
    assert log_group["Properties"]["KmsKeyId"] == DATA_KEY_IMPORT


def test_key_lets_cloudwatch_logs_use_it_only_for_pipeline_log_groups(synthesized: SynthesizedApp) -> None:
    key = synthesized.template_dict("Data")["Resources"]["DataKey"]["Properties"]["KeyPolicy"]
    (logs,) = [s for s in key["Statement"] if s.get("Sid") == "CloudWatchLogsOfThePipeline"]
    assert logs["Principal"] == {"Service": {"Fn::Join": ["", ["logs.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}}
    log_groups = json.dumps(logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"])
    assert log_groups.endswith(f':log-group:{pipeline_stack_name(STAGE)}-*"]]}}')


def _planted(scope: cdk.Stack, actions: list[str]) -> None:
    role = iam.Role(scope, "Planted", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.add_to_policy(iam.PolicyStatement(actions=actions, resources=["*"]))


def test_guard_names_the_construct_and_the_actions() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Small")
    _planted(stack, ["s3:GetObject", "xray:PutTraceSegments"])
    iam.Role(stack, "Allowed", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com")).add_to_policy(
        iam.PolicyStatement(actions=sorted(ACTIONS_WITHOUT_RESOURCE_LEVEL), resources=["*"])
    )
    (error,) = WildcardResourceGuard(app).validate()
    assert "Small/Planted/DefaultPolicy/Resource" in error and "s3:GetObject" in error
    assert "xray:PutTraceSegments" not in error


def test_guard_also_reads_inline_role_policies() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Small")
    iam.Role(
        stack,
        "Inline",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        inline_policies={
            "p": iam.PolicyDocument(statements=[iam.PolicyStatement(actions=["sns:Publish"], resources=["*"])])
        },
    )
    assert [path for path, _ in WildcardResourceGuard(app).violations()] == ["Small/Inline/Resource"]


def test_synth_of_the_app_fails_on_a_planted_wildcard_statement(tmp_path: Path) -> None:
    app = build_app(stage_context(), str(tmp_path / "cdk.out"), layer_dir=make_fake_layer(tmp_path / "layer"))
    pipeline = app.node.find_child(pipeline_stack_name(STAGE))
    assert isinstance(pipeline, cdk.Stack)
    _planted(pipeline, ["dynamodb:DeleteTable"])
    with pytest.raises(RuntimeError, match=r"Planted/DefaultPolicy/Resource: allows dynamodb:DeleteTable on Resource"):
        app.synth()
