"""Each gap patch is needed: the scenario shows AWS behaviour with every patch on, and moto's stock behaviour with
only that patch off."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError

from novaft.local import patches
from novaft.local.server import LocalAws
from tests.local.conftest import ROLE_ARN, create_function, unique

WAIT_STATE_MACHINE = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 30, "End": True}}}
PASS_STATE_MACHINE = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}


def _invoke_raising_function(aws: LocalAws) -> Any:
    arn = create_function(
        unique("raises"),
        "class DatasetInvalid(Exception):\n    pass\n\n"
        "def handler(event, context):\n    raise DatasetInvalid('line 3: messages is missing')\n",
    )
    response = boto3.client("lambda").invoke(FunctionName=arn, Payload=b"{}")
    payload = response["Payload"].read().decode()
    return json.loads(payload).get("errorType") if payload.startswith("{") else payload.split(":")[0]


def _start_execution_of_cloudformation_state_machine(aws: LocalAws) -> Any:
    template = {
        "Resources": {
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {"DefinitionString": json.dumps(PASS_STATE_MACHINE), "RoleArn": ROLE_ARN},
            }
        },
        "Outputs": {"Arn": {"Value": {"Ref": "Machine"}}},
    }
    cloudformation = boto3.client("cloudformation")
    name = unique("machine")
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))
    arn = cloudformation.describe_stacks(StackName=name)["Stacks"][0]["Outputs"][0]["OutputValue"]
    try:
        execution = boto3.client("stepfunctions").start_execution(stateMachineArn=arn, name="e1")
    except ClientError as error:
        return error.response["Error"]["Code"]
    return _wait_for_execution(execution["executionArn"])


def _wait_for_execution(execution_arn: str) -> str:
    stepfunctions = boto3.client("stepfunctions")
    for _ in range(100):
        status = str(stepfunctions.describe_execution(executionArn=execution_arn)["status"])
        if status != "RUNNING":
            return status
        time.sleep(0.05)
    return "RUNNING"


def _rule_targeting_a_state_machine(aws: LocalAws) -> Any:
    stepfunctions, eventbridge = boto3.client("stepfunctions"), boto3.client("events")
    machine = stepfunctions.create_state_machine(
        name=unique("target"), definition=json.dumps(PASS_STATE_MACHINE), roleArn=ROLE_ARN
    )["stateMachineArn"]
    rule = unique("rule")
    eventbridge.put_rule(Name=rule, EventPattern=json.dumps({"source": ["novaft.test"]}))
    eventbridge.put_targets(Rule=rule, Targets=[{"Id": "machine", "Arn": machine}])
    try:
        eventbridge.put_events(Entries=[{"Source": "novaft.test", "DetailType": "t", "Detail": "{}"}])
    except ClientError as error:
        return error.response["Error"]["Code"]
    for _ in range(100):
        if stepfunctions.list_executions(stateMachineArn=machine)["executions"]:
            return "execution started"
        time.sleep(0.05)
    return "no execution"


# A custom-resource handler that records what it was sent, then answers CloudFormation at ResponseURL.
_RECORDING_CUSTOM_RESOURCE = """
import json, os, urllib.request
import boto3

def handler(event, context):
    properties = event["ResourceProperties"]
    seen = {"flag_type": type(properties["Flag"]).__name__, "response_url": event["ResponseURL"]}
    boto3.client("s3").put_object(Bucket=os.environ["BUCKET"], Key=event["LogicalResourceId"], Body=json.dumps(seen))
    body = json.dumps({"Status": "SUCCESS", "PhysicalResourceId": "custom", "StackId": event["StackId"],
                       "RequestId": event["RequestId"], "LogicalResourceId": event["LogicalResourceId"], "Data": {}})
    try:
        request = urllib.request.Request(event["ResponseURL"], data=body.encode(), method="PUT")
        urllib.request.urlopen(request, timeout=2).read()
    except OSError:
        pass
"""


def _custom_resource_stack(extra_resources: dict[str, Any]) -> tuple[str, str]:
    bucket = unique("seen")
    boto3.client("s3").create_bucket(Bucket=bucket)
    function = create_function(unique("custom"), _RECORDING_CUSTOM_RESOURCE, {"BUCKET": bucket})
    template = {
        "Resources": {
            "Custom": {"Type": "Custom::Recorder", "Properties": {"ServiceToken": function, "Flag": True}},
            **extra_resources,
        }
    }
    name = unique("custom")
    boto3.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))
    return name, bucket


def _seen_by_custom_resource(bucket: str) -> dict[str, str]:
    s3 = boto3.client("s3")
    for _ in range(100):
        try:
            return dict(json.loads(s3.get_object(Bucket=bucket, Key="Custom")["Body"].read()))
        except ClientError:
            time.sleep(0.05)
    return {}


def _custom_resource_property_type(aws: LocalAws) -> Any:
    _name, bucket = _custom_resource_stack({})
    return _seen_by_custom_resource(bucket).get("flag_type")


def _custom_resource_response_host(aws: LocalAws) -> Any:
    _name, bucket = _custom_resource_stack({})
    return _seen_by_custom_resource(bucket).get("response_url", "").split(":")[1].strip("/")


def _training_job_status_after_create(aws: LocalAws) -> Any:
    name = unique("job")
    sagemaker = boto3.client("sagemaker")
    sagemaker.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": "example.com/image:1", "TrainingInputMode": "File"},
        RoleArn=ROLE_ARN,
        OutputDataConfig={"S3OutputPath": "s3://bucket/out"},
        ResourceConfig={"InstanceType": "ml.p5.48xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
        StoppingCondition={"MaxRuntimeInSeconds": 60},
    )
    return sagemaker.describe_training_job(TrainingJobName=name)["TrainingJobStatus"]


def _stop_event_reaches_a_rule(aws: LocalAws) -> Any:
    stepfunctions, eventbridge, sqs = boto3.client("stepfunctions"), boto3.client("events"), boto3.client("sqs")
    machine = stepfunctions.create_state_machine(
        name=unique("stoppable"), definition=json.dumps(WAIT_STATE_MACHINE), roleArn=ROLE_ARN
    )["stateMachineArn"]
    queue_url = sqs.create_queue(QueueName=unique("aborted"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = unique("aborted")
    pattern = {"source": ["aws.states"], "detail": {"status": ["ABORTED"], "stateMachineArn": [machine]}}
    eventbridge.put_rule(Name=rule, EventPattern=json.dumps(pattern))
    eventbridge.put_targets(Rule=rule, Targets=[{"Id": "queue", "Arn": queue_arn}])
    execution_input = json.dumps({"evaluate_later": {"run": {"run_id": "r-1"}}})
    execution = stepfunctions.start_execution(stateMachineArn=machine, name="to-stop", input=execution_input)[
        "executionArn"
    ]
    stepfunctions.stop_execution(executionArn=execution)
    # The event is put synchronously by StopExecution and SQS targets are delivered inline: no waiting needed.
    messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0).get("Messages", [])
    if not messages:
        return "no event"
    detail = json.loads(messages[0]["Body"])["detail"]
    # As AWS sends it: the execution's name and its input, which stop_run reads for a `novaft evaluate` execution.
    return (detail["executionArn"], detail["name"], detail["input"]) == (execution, "to-stop", execution_input)


def _stack_status_and_output(resources: dict[str, Any], output: Any) -> Any:
    template = {"Resources": resources, "Outputs": {"Probe": {"Value": output}}}
    cloudformation = boto3.client("cloudformation")
    name = unique("probe")
    try:
        cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))
    except ClientError as error:
        return error.response["Error"]["Code"]
    except ResponseParserError:  # moto answers an internal error with an HTML page
        return "InternalError"
    return cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]


def _stack_of_one(logical_id: str, resource_type: str, properties: dict[str, Any]) -> Any:
    return _stack_status_and_output({logical_id: {"Type": resource_type, "Properties": properties}}, "fixed")


def _global_table_is_created(aws: LocalAws) -> Any:
    name = unique("runs")
    table = {
        "TableName": name,
        "AttributeDefinitions": [{"AttributeName": "run_id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "run_id", "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST",
        "Replicas": [{"Region": aws.region}],
    }
    _stack_of_one("Runs", "AWS::DynamoDB::GlobalTable", table)
    return name in boto3.client("dynamodb").list_tables()["TableNames"]


def _tagged_kms_key_arn(aws: LocalAws) -> Any:
    policy = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"}]}
    key = {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": policy, "Tags": [{"Key": "project", "Value": "n"}]}}
    return _stack_status_and_output({"DataKey": key}, {"Fn::GetAtt": ["DataKey", "Arn"]})


def _alarm_arn(aws: LocalAws) -> Any:
    alarm = {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "EvaluationPeriods": 1,
            "MetricName": "ExecutionsFailed",
            "Namespace": "AWS/States",
            "Period": 300,
            "Statistic": "Sum",
            "Threshold": 1,
        },
    }
    return _stack_status_and_output({"Failed": alarm}, {"Fn::GetAtt": ["Failed", "Arn"]})


def _bucket_sends_to_eventbridge(aws: LocalAws) -> Any:
    name = unique("datasets")
    eventbridge = {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    _stack_of_one("Datasets", "AWS::S3::Bucket", {"BucketName": name, "NotificationConfiguration": eventbridge})
    # The API drops an empty EventBridgeConfiguration from the response; the emulator's bucket holds the setting.
    from moto.s3.models import s3_backends

    notifications = s3_backends[aws.account_id]["aws"].buckets[name].notification_configuration
    return notifications is not None and notifications.event_bridge is not None


def _versions_kept_by_a_template_versioned_bucket(aws: LocalAws) -> Any:
    name = unique("versioned")
    _stack_of_one("Datasets", "AWS::S3::Bucket", {"BucketName": name, "VersioningConfiguration": {"Status": "Enabled"}})
    s3 = boto3.client("s3")
    first = s3.put_object(Bucket=name, Key="incoming/demo/train.jsonl", Body=b"first")
    s3.put_object(Bucket=name, Key="incoming/demo/train.jsonl", Body=b"second")
    versions = s3.list_object_versions(Bucket=name, Prefix="incoming/").get("Versions", [])
    # A pinned version stays readable after an overwrite only on a versioned bucket.
    if first.get("VersionId") in (None, "null"):
        return len(versions), "no version id"
    body = s3.get_object(Bucket=name, Key="incoming/demo/train.jsonl", VersionId=first["VersionId"])["Body"].read()
    return len(versions), body.decode()


def _object_created_key_in_event(aws: LocalAws) -> Any:
    s3, eventbridge, sqs = boto3.client("s3"), boto3.client("events"), boto3.client("sqs")
    bucket = unique("keys")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}})
    queue_url = sqs.create_queue(QueueName=unique("created"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = unique("created")
    eventbridge.put_rule(
        Name=rule, EventPattern=json.dumps({"source": ["aws.s3"], "detail": {"bucket": {"name": [bucket]}}})
    )
    eventbridge.put_targets(Rule=rule, Targets=[{"Id": "queue", "Arn": queue_arn}])
    s3.put_object(Bucket=bucket, Key="incoming/my run+1.jsonl", Body=b"{}")
    messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0).get("Messages", [])
    return json.loads(messages[0]["Body"])["detail"]["object"]["key"] if messages else "no event"


class _RecordingEvent:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        return True


class _StoppedEnvironment:
    def __init__(self) -> None:
        self.program_state_event = _RecordingEvent()

    def is_running(self) -> bool:
        return False


def _longest_wait_of_a_300_second_wait_state(aws: LocalAws) -> Any:
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

    aws.simulator.max_wait_state_seconds = 0.5
    environment = _StoppedEnvironment()
    WaitFunction._wait_interval(None, environment, 300)  # type: ignore[arg-type]
    return max(environment.program_state_event.waits)


CHECKPOINT = "s3://customer-escrow-123456789012-smtj-simulated0/novaft-run/step-simulated"


def _bedrock_code(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except ClientError as error:
        return error.response["Error"]["Code"]


def _imported_model(aws: LocalAws) -> Any:
    aws.simulator.bedrock.ready_after_seconds = 0
    bedrock = boto3.client("bedrock")

    def imported() -> Any:
        arn = bedrock.create_custom_model(
            modelName=unique("novaft-model"),
            modelSourceConfig={"s3DataSource": {"s3Uri": CHECKPOINT}},
            roleArn=ROLE_ARN,
            modelTags=[{"key": "novaft:run-id", "value": "run-1"}],
        )["modelArn"]
        tags = bedrock.list_tags_for_resource(resourceARN=arn)["tags"]
        return bedrock.get_custom_model(modelIdentifier=arn)["modelStatus"], tags[0]["value"]

    return _bedrock_code(imported)


def _active_model(aws: LocalAws) -> str:
    aws.simulator.bedrock.ready_after_seconds = 0
    return str(
        aws.simulator.bedrock.create(
            "model", account="123456789012", region="us-east-1", name=unique("m"), token=None, tags={}
        )
    )


def _deployment_status(aws: LocalAws) -> Any:
    model_arn = _active_model(aws)
    bedrock = boto3.client("bedrock")

    def deployed() -> Any:
        arn = bedrock.create_custom_model_deployment(modelDeploymentName=unique("d"), modelArn=model_arn)[
            "customModelDeploymentArn"
        ]
        return bedrock.get_custom_model_deployment(customModelDeploymentIdentifier=arn)["status"]

    return _bedrock_code(deployed)


def _provisioned_status(aws: LocalAws) -> Any:
    model_arn = _active_model(aws)
    bedrock = boto3.client("bedrock")

    def provisioned() -> Any:
        arn = bedrock.create_provisioned_model_throughput(
            modelUnits=1, provisionedModelName=unique("p"), modelId=model_arn
        )["provisionedModelArn"]
        return bedrock.get_provisioned_model_throughput(provisionedModelId=arn)["status"]

    return _bedrock_code(provisioned)


def _converse_answer(aws: LocalAws) -> Any:
    aws.simulator.bedrock.ready_after_seconds = 0
    model_arn = _active_model(aws)
    deployment = aws.simulator.bedrock.create_deployment(
        "deployment",
        account="123456789012",
        region="us-east-1",
        name=unique("d"),
        token=None,
        tags={},
        model_arn=model_arn,
    )

    def answered() -> Any:
        response = boto3.client("bedrock-runtime").converse(
            modelId=deployment, messages=[{"role": "user", "content": [{"text": "hello"}]}]
        )
        return "SIMULATED" in response["output"]["message"]["content"][0]["text"]

    return _bedrock_code(answered)


def _cause_of_a_failed_task_token(aws: LocalAws) -> Any:
    """A task waiting on its token (as AwaitApproval does) is failed with an error and a cause: what the Catch sees."""
    function = create_function(unique("waits"), "def handler(event, context):\n    return {}\n")
    definition = {
        "StartAt": "Wait",
        "States": {
            "Wait": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": function, "Payload": {"token.$": "$$.Task.Token"}},
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "Done"}],
                "Next": "Done",
            },
            "Done": {"Type": "Pass", "End": True},
        },
    }
    stepfunctions = boto3.client("stepfunctions")
    machine = stepfunctions.create_state_machine(
        name=unique("token"), definition=json.dumps(definition), roleArn=ROLE_ARN
    )["stateMachineArn"]
    execution = stepfunctions.start_execution(stateMachineArn=machine)["executionArn"]
    token = None
    for _ in range(100):
        for event in stepfunctions.get_execution_history(executionArn=execution)["events"]:
            details = event.get("taskScheduledEventDetails")
            if details:
                token = json.loads(details["parameters"])["Payload"]["token"]
        if token:
            break
        time.sleep(0.05)
    stepfunctions.send_task_failure(taskToken=str(token), error="Rejected", cause="too big")
    assert _wait_for_execution(execution) == "SUCCEEDED"
    failure = json.loads(stepfunctions.describe_execution(executionArn=execution)["output"])["failure"]
    return failure.get("Error"), failure.get("Cause")


Scenario = Callable[[LocalAws], Any]
GAP_SCENARIOS: list[tuple[str, Scenario, Any, Any]] = [
    # gap, scenario, result with every patch, result of stock moto (that patch off)
    ("run_lambda_in_process", _invoke_raising_function, "DatasetInvalid", "error running docker"),
    (
        "execute_state_machines",
        _start_execution_of_cloudformation_state_machine,
        "SUCCEEDED",
        "RUNNING",
    ),
    ("deliver_rule_targets", _rule_targeting_a_state_machine, "execution started", "500"),
    ("stringify_custom_resource_properties", _custom_resource_property_type, "str", "bool"),
    ("custom_resource_response_url", _custom_resource_response_host, "127.0.0.1", "host.docker.internal"),
    ("simulate_training_jobs", _training_job_status_after_create, "InProgress", "Completed"),
    ("emit_execution_status_changes", _stop_event_reaches_a_rule, True, "no event"),
    ("create_global_tables", _global_table_is_created, True, False),
    ("tag_kms_keys_from_templates", _tagged_kms_key_arn, "CREATE_COMPLETE", "InternalError"),
    ("create_alarms_from_templates", _alarm_arn, "CREATE_COMPLETE", "InternalError"),
    ("enable_bucket_eventbridge_from_templates", _bucket_sends_to_eventbridge, True, False),
    ("shorten_wait_states", _longest_wait_of_a_300_second_wait_state, 0.5, 300),
    (
        "encode_eventbridge_object_keys",
        _object_created_key_in_event,
        "incoming/my+run%2B1.jsonl",
        "incoming/my run+1.jsonl",
    ),
    (
        "version_buckets_from_templates",
        _versions_kept_by_a_template_versioned_bucket,
        (2, "first"),
        (1, "no version id"),
    ),
    ("import_custom_models", _imported_model, ("Active", "run-1"), "500"),
    ("deploy_custom_models", _deployment_status, "Active", "500"),
    ("provision_model_throughput", _provisioned_status, "InService", "500"),
    ("answer_converse", _converse_answer, True, "500"),
    ("fail_tasks_with_their_cause", _cause_of_a_failed_task_token, ("Rejected", "too big"), ("Rejected", None)),
]


def test_every_gap_has_a_scenario() -> None:
    assert {gap for gap, *_ in GAP_SCENARIOS} | {"serialize_stack_creation"} == set(patches.GAPS)


@pytest.mark.parametrize(("gap", "scenario", "patched", "stock"), GAP_SCENARIOS, ids=[g[0] for g in GAP_SCENARIOS])
def test_gap_is_closed_by_its_patch_and_open_without_it(
    emulated_aws: Any, gap: str, scenario: Scenario, patched: Any, stock: Any
) -> None:
    with emulated_aws() as aws:
        assert scenario(aws) == patched
    with emulated_aws(without=(gap,)) as aws:
        assert scenario(aws) == stock
