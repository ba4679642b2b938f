"""Every gap between moto (pinned exactly: these patch its internals) and the AWS behaviour the pipeline relies on.

One function per gap; its docstring names the stock behaviour it closes. Each function patches through a
``_Patcher`` so the gap can be opened again (a test proves each patch is needed by running without it).
Use ``applied()`` to switch gaps on and off; ``GAPS`` lists them by name.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from novaft.local import lambda_runner
from novaft.local.bedrock import BedrockSimulator
from novaft.local.training import TrainingSimulator

MOTO_VERSION = "5.2.5"


class _Patcher:
    """Replaces attributes and remembers the originals so a gap can be re-opened."""

    def __init__(self) -> None:
        self._undo: list[Callable[[], None]] = []

    def replace(self, owner: Any, attribute: str, value: Any) -> None:
        if attribute in vars(owner):
            original = vars(owner)[attribute]
            self._undo.append(lambda: setattr(owner, attribute, original))
        else:  # inherited or absent: removing ours uncovers what was there
            self._undo.append(lambda: delattr(owner, attribute))
        setattr(owner, attribute, value)

    def set_item(self, mapping: Any, key: str, value: Any) -> None:
        had, original = key in mapping, mapping.get(key)
        mapping[key] = value
        self._undo.append(lambda: mapping.__setitem__(key, original) if had else mapping.pop(key, None))

    def undo(self) -> None:
        while self._undo:
            self._undo.pop()()


# --- gap 1 ---------------------------------------------------------------------------------------------------------


def run_lambda_in_process(patcher: _Patcher, simulator: TrainingSimulator) -> None:
    """Gap: moto runs Lambda code only in Docker; without a daemon, Invoke answers ``FunctionError: Handled`` with
    ``error running docker``. Here the handler runs in this process from the deployed code zip
    (see ``novaft.local.lambda_runner``); an exception becomes the runtime's error payload (errorType = class name).
    """
    from moto.awslambda.models import LambdaFunction

    def invoke_in_process(function: Any, event: Any = None) -> tuple[str, bool, str]:
        invocation = lambda_runner.LambdaInvocation(
            function_name=function.function_name,
            function_arn=function.function_arn,
            handler=function.handler,
            code_zip=function.code_bytes,
            environment={name: str(value) for name, value in (function.environment_vars or {}).items()},
            memory_mb=int(function.memory_size),
            timeout_seconds=int(function.timeout),
            region=function.region,
        )
        result = lambda_runner.invoke(invocation, event if event is not None else {})
        return result.payload, result.errored, result.logs

    patcher.replace(LambdaFunction, "_invoke_lambda", invoke_in_process)


# --- gap 2 ---------------------------------------------------------------------------------------------------------


def execute_state_machines(patcher: _Patcher, simulator: TrainingSimulator) -> None:
    """Gap: moto's Step Functions only records executions (they stay ``RUNNING`` for ever) unless
    ``execute_state_machine`` is configured, and with it on, a state machine created by CloudFormation lands in
    ``stepfunctions_backends`` while the executing API reads ``stepfunctions_parser_backends`` (StartExecution:
    ``StateMachineDoesNotExist``). Turn execution on and alias the CloudFormation backend to the executing one.
    """
    # moto imports its response module lazily, on the first request, and it binds ``stepfunctions_backends`` by name.
    # Import it before the swap so it keeps the stock backend: otherwise a later, unpatched moto in the same process
    # (a plain ``mock_aws`` test) would keep talking to the executing backend.
    import moto.stepfunctions.responses  # noqa: F401
    from moto.core.config import default_user_config
    from moto.stepfunctions import models as stepfunctions_models
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    step_functions_config = dict(default_user_config.get("stepfunctions", {}), execute_state_machine=True)
    patcher.set_item(default_user_config, "stepfunctions", step_functions_config)
    patcher.replace(stepfunctions_models, "stepfunctions_backends", stepfunctions_parser_backends)


# --- gap 3 ---------------------------------------------------------------------------------------------------------


def deliver_rule_targets(patcher: _Patcher, simulator: TrainingSimulator) -> None:
    """Gap: an EventBridge rule whose target is a state machine or a Lambda function delivers nothing
    (``Rule.send_to_targets`` handles logs, SQS, event buses and API destinations only; S3's notifier swallows the
    error). Start an execution with a unique name (as EventBridge does) or invoke the function, asynchronously.
    """
    from moto.events.models import Rule
    from moto.utilities.arns import parse_arn

    stock_send_to_targets = Rule.send_to_targets

    def send_to_targets(rule: Any, original_event: dict[str, Any], transform_input: bool = True) -> None:
        if not rule.event_pattern.matches_event(original_event):
            return
        delivered_here = [t for t in rule.targets if parse_arn(t["Arn"]).service in ("states", "lambda")]
        others = [t for t in rule.targets if t not in delivered_here]
        if others:
            targets = rule.targets
            rule.targets = others
            try:
                stock_send_to_targets(rule, original_event, transform_input)  # type: ignore[arg-type]
            finally:
                rule.targets = targets
        for target in delivered_here:
            _deliver(rule, target, _as_delivered(original_event))

    patcher.replace(Rule, "send_to_targets", send_to_targets)


def _as_delivered(event: dict[str, Any]) -> dict[str, Any]:
    delivered = {name: value for name, value in event.items() if name != "ingestion-time"}
    if isinstance(delivered.get("time"), int | float):
        delivered["time"] = dt.datetime.fromtimestamp(delivered["time"], dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return delivered


def _target_input(target: dict[str, Any], event: dict[str, Any]) -> str:
    if "Input" in target:
        return str(target["Input"])
    return json.dumps(event)


def _deliver(rule: Any, target: dict[str, Any], event: dict[str, Any]) -> None:
    from moto.awslambda.utils import get_backend as lambda_backend
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends
    from moto.utilities.arns import parse_arn

    arn = parse_arn(target["Arn"])
    payload = _target_input(target, event)

    def start() -> None:
        if arn.service == "states":
            backend = stepfunctions_parser_backends[arn.account][arn.region]
            backend.start_execution(target["Arn"], name=str(uuid.uuid4()), execution_input=payload)
        else:
            function = lambda_backend(arn.account, arn.region).get_function(target["Arn"])
            function.invoke(payload, {"x-amz-invocation-type": "Event"}, {})

    # EventBridge delivers asynchronously; running the target inline would also run it under the caller's locks.
    threading.Thread(target=start, name=f"eventbridge-{rule.name}", daemon=True).start()


# --- gap 4 ---------------------------------------------------------------------------------------------------------


def stringify_custom_resource_properties(patcher: _Patcher, simulator: TrainingSimulator) -> None:
    """Gap: moto passes template booleans and numbers to custom resources as JSON booleans and numbers; CloudFormation
    sends strings (CDK's S3 notifications handler dies with ``'bool' object has no attribute 'lower'``).
    """
    from moto.cloudformation.custom_model import CustomModel

    stock_create = CustomModel.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(
        cls: Any, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kw: Any
    ) -> Any:
        stringified = dict(cloudformation_json, Properties=_stringified(cloudformation_json["Properties"]))
        return stock_create(cls, resource_name, stringified, account_id, region_name, **kw)

    patcher.replace(CustomModel, "create_from_cloudformation_json", classmethod(create))


def _stringified(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict):
        return {name: _stringified(item) for name, item in value.items()}
    if isinstance(value, list):
        return [_stringified(item) for item in value]
    return value


# --- gap 5 ---------------------------------------------------------------------------------------------------------


def custom_resource_response_url(patcher: _Patcher, simulator: TrainingSimulator) -> None:
    """Gap: moto tells custom resources to answer at ``http://host.docker.internal:<port>`` (meant for a Lambda in a
    Docker container); the in-process handler must answer at 127.0.0.1, or the stack never completes.
    """
    from moto import settings

    patcher.replace(settings, "moto_server_host", lambda: "http://127.0.0.1")


# --- gap 6 ---------------------------------------------------------------------------------------------------------


def serialize_stack_creation(patcher: _Patcher, simulator: TrainingSimulator) -> None:
    """Gap: a custom resource's callback runs ``verify_readiness`` (which walks, and so creates, every resource)
    while ``create_resources`` is still looping: later resources are created twice (two state machines; the rule
    targets the other one). Let one of them run at a time per process.
    """
    from moto.cloudformation.models import Stack

    lock = threading.RLock()
    stock_create, stock_verify = Stack.create_resources, Stack.verify_readiness

    def create_resources(stack: Any) -> None:
        with lock:
            stock_create(stack)

    def verify_readiness(stack: Any) -> None:
        with lock:
            stock_verify(stack)

    patcher.replace(Stack, "create_resources", create_resources)
    patcher.replace(Stack, "verify_readiness", verify_readiness)


# --- gap 7 ---------------------------------------------------------------------------------------------------------


def simulate_training_jobs(patcher: _Patcher, simulator: TrainingSimulator) -> None:
    """Gap: moto's training jobs are born ``Completed`` and never move, ``StopTrainingJob`` is not implemented, and
    a second CreateTrainingJob with the same name silently replaces the first (AWS answers ``ResourceInUse``).
    Jobs follow ``novaft.local.training.TrainingSimulator``: InProgress, then the configured outcome; their log lines
    go to the emulated CloudWatch Logs, as SageMaker sends a job's output there. A create can be refused as
    ``ResourceLimitExceeded`` (``TrainingSimulator.refuse_for_quota``), as SageMaker does when the quota is used up.
    """
    from moto.core.exceptions import JsonRESTError
    from moto.logs.models import logs_backends
    from moto.s3.models import s3_backends
    from moto.sagemaker.exceptions import ResourceInUseException, ValidationError
    from moto.sagemaker.models import SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    stock_create, stock_describe = (
        SageMakerModelBackend.create_training_job,
        SageMakerModelBackend.describe_training_job,
    )

    def create_training_job(backend: Any, training_job_name: str, **kwargs: Any) -> Any:
        if simulator.take_quota_refusal(training_job_name):
            raise JsonRESTError(
                "ResourceLimitExceeded",
                "The account-level service limit 'ml.p5.48xlarge for training job usage' is 0 Instances, with current "
                "utilization of 0 Instances and a request delta of 2 Instances.",
            )
        if training_job_name in backend.training_jobs:
            raise ResourceInUseException(
                message=f"Training job names must be unique within an AWS account and region, and a training job "
                f"with this name already exists ({backend.training_jobs[training_job_name].arn})"
            )
        job = stock_create(backend, training_job_name=training_job_name, **kwargs)
        simulator.job_created(job)
        return job

    def describe_training_job(backend: Any, training_job_name: str) -> dict[str, Any]:
        job = backend.training_jobs.get(training_job_name)
        if job is not None:

            def write_object(bucket: str, key: str, body: bytes) -> None:
                s3_backends[backend.account_id][backend.partition].put_object(bucket, key, body)

            def write_log(group: str, stream: str, messages: list[str]) -> None:
                # SageMaker creates the group and the job's streams itself; so does the simulation.
                logs = logs_backends[backend.account_id][backend.region_name]
                if group not in logs.groups:
                    logs.create_log_group(group, tags={})
                if stream not in logs.groups[group].streams:
                    logs.groups[group].create_log_stream(stream)
                moment = int(time.time() * 1000)
                logs.groups[group].put_log_events(stream, [{"timestamp": moment, "message": m} for m in messages])

            simulator.advance(job, write_object, write_log)
        return stock_describe(backend, training_job_name)

    def stop_training_job(backend: Any, training_job_name: str) -> None:
        job = backend.training_jobs.get(training_job_name)
        if job is None:
            raise ValidationError(message=f"Requested resource not found: training job {training_job_name}")
        simulator.stop_requested(job)

    def stop_training_job_response(response: Any) -> Any:
        from moto.core.responses import EmptyResult

        response.sagemaker_backend.stop_training_job(response._get_param("TrainingJobName"))
        return EmptyResult()

    patcher.replace(SageMakerModelBackend, "create_training_job", create_training_job)
    patcher.replace(SageMakerModelBackend, "describe_training_job", describe_training_job)
    patcher.replace(SageMakerModelBackend, "stop_training_job", stop_training_job)
    patcher.replace(SageMakerResponse, "stop_training_job", stop_training_job_response)


# --- gap 8 ---------------------------------------------------------------------------------------------------------


def emit_execution_status_changes(patcher: _Patcher, simulator: TrainingSimulator) -> None:
    """Gap: moto sends no ``Step Functions Execution Status Change`` event to EventBridge, so a rule on ABORTED
    executions (the pipeline's stop handler) never fires after StopExecution. Emit it on the default bus.
    """
    from moto.events.models import events_backends
    from moto.stepfunctions.models import StepFunctionBackend

    stock_stop = StepFunctionBackend.stop_execution

    def stop_execution(backend: Any, execution_arn: str) -> Any:
        execution = stock_stop(backend, execution_arn)
        state_machine_arn = execution_arn.replace(":execution:", ":stateMachine:").rsplit(":", 1)[0]
        detail = {
            "executionArn": execution_arn,
            "stateMachineArn": state_machine_arn,
            "name": execution_arn.rsplit(":", 1)[1],
            "status": "ABORTED",
            "startDate": None,
            "stopDate": int(dt.datetime.now(dt.UTC).timestamp() * 1000),
            # AWS includes the input (up to the event size limit); stop_run reads it for a `novaft evaluate` execution.
            "input": getattr(execution, "execution_input", None),
            "inputDetails": {"included": True},
            "output": None,
        }
        events_backends[backend.account_id][backend.region_name].put_events(
            [
                {
                    "Source": "aws.states",
                    "DetailType": "Step Functions Execution Status Change",
                    "Detail": json.dumps(detail),
                    "Resources": [execution_arn],
                    "EventBusName": "default",
                }
            ]
        )
        return execution

    patcher.replace(StepFunctionBackend, "stop_execution", stop_execution)


# --- gap 9 ---------------------------------------------------------------------------------------------------------


def create_global_tables(patcher: _Patcher, simulator: TrainingSimulator) -> None:
    """Gap: moto's CloudFormation has no ``AWS::DynamoDB::GlobalTable`` (CDK's ``TableV2``): it logs "No Moto
    CloudFormation support" and the stack fails on the first ``GetAtt``/``Ref`` to it. Create it as the one local
    replica: a table with the same keys, indexes, billing mode and stream.
    """
    from moto.cloudformation import parsing
    from moto.dynamodb.models.table import Table

    class GlobalTableAsTable(Table):
        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::DynamoDB::GlobalTable"

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kw: Any
        ) -> Any:
            properties = {k: v for k, v in cloudformation_json["Properties"].items() if k != "Replicas"}
            # Per-index settings of a global table live in Replicas; the table itself takes bare index definitions.
            return Table.create_from_cloudformation_json(
                resource_name, {**cloudformation_json, "Properties": properties}, account_id, region_name, **kw
            )

    stock_model_map, stock_name_map = parsing.get_model_map, parsing.get_name_type_map
    patcher.replace(
        parsing, "get_model_map", lambda: {**stock_model_map(), "AWS::DynamoDB::GlobalTable": GlobalTableAsTable}
    )
    patcher.replace(
        parsing, "get_name_type_map", lambda: {**stock_name_map(), "AWS::DynamoDB::GlobalTable": "TableName"}
    )


# --- gap 10 --------------------------------------------------------------------------------------------------------


def tag_kms_keys_from_templates(patcher: _Patcher, simulator: TrainingSimulator) -> None:
    """Gap: moto creates an ``AWS::KMS::Key`` with template ``Tags`` (``Key``/``Value``) by handing them to a tagger
    that expects KMS's ``TagKey``/``TagValue``: ``KeyError: 'TagKey'``, the key is not created and the stack fails
    with "Fn::GetAtt references undefined resource". Rename the fields first.
    """
    from moto.kms.models import Key

    stock_create = Key.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(
        cls: Any, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kw: Any
    ) -> Any:
        properties = dict(cloudformation_json["Properties"])
        properties["Tags"] = [
            {"TagKey": tag.get("Key", tag.get("TagKey")), "TagValue": tag.get("Value", tag.get("TagValue"))}
            for tag in properties.get("Tags", [])
        ]
        return stock_create(
            cls, resource_name, {**cloudformation_json, "Properties": properties}, account_id, region_name, **kw
        )

    patcher.replace(Key, "create_from_cloudformation_json", classmethod(create))


# --- gap 11 --------------------------------------------------------------------------------------------------------


def create_alarms_from_templates(patcher: _Patcher, simulator: TrainingSimulator) -> None:
    """Gap: moto's CloudFormation skips ``AWS::CloudWatch::Alarm`` ("No Moto CloudFormation support"), so a dashboard
    or composite alarm that reads an alarm's ``Arn`` fails the stack ("Fn::GetAtt references undefined resource").
    Create the alarm with PutMetricAlarm's backend call.
    """
    from moto.cloudformation import parsing
    from moto.cloudwatch.models import Alarm, cloudwatch_backends

    class AlarmFromTemplate(Alarm):
        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::CloudWatch::Alarm"

        @staticmethod
        def cloudformation_name_type() -> str:
            return "AlarmName"

        @classmethod
        def has_cfn_attr(cls, attribute: str) -> bool:
            return attribute == "Arn"

        def get_cfn_attribute(self, attribute_name: str) -> Any:
            return self.alarm_arn

        @property
        def physical_resource_id(self) -> str:
            return str(self.name)

        def is_created(self) -> bool:
            return True

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kw: Any
        ) -> Any:
            p = cloudformation_json["Properties"]
            alarm = cloudwatch_backends[account_id][region_name].put_metric_alarm(
                name=p.get("AlarmName", resource_name),
                namespace=p.get("Namespace", ""),
                metric_name=p.get("MetricName", ""),
                comparison_operator=p["ComparisonOperator"],
                evaluation_periods=int(p["EvaluationPeriods"]),
                period=int(p.get("Period", 60)),
                threshold=float(p.get("Threshold", 0)),
                statistic=p.get("Statistic", ""),
                description=p.get("AlarmDescription", ""),
                dimensions=p.get("Dimensions", []),
                alarm_actions=p.get("AlarmActions", []),
                ok_actions=p.get("OKActions", []),
                treat_missing_data=p.get("TreatMissingData"),
            )
            alarm.__class__ = cls
            return alarm

    stock_model_map = parsing.get_model_map
    patcher.replace(
        parsing, "get_model_map", lambda: {**stock_model_map(), "AWS::CloudWatch::Alarm": AlarmFromTemplate}
    )


# --- gap 12 --------------------------------------------------------------------------------------------------------


def enable_bucket_eventbridge_from_templates(patcher: _Patcher, simulator: TrainingSimulator) -> None:
    """Gap: moto's CloudFormation ignores an ``AWS::S3::Bucket``'s ``NotificationConfiguration``, so a bucket with
    ``EventBridgeConfiguration: {EventBridgeEnabled: true}`` (CDK ``event_bridge_enabled`` on recent versions) sends
    no ``Object Created`` events and no run ever starts. Apply the EventBridge part (the one the pipeline uses).
    """

    def enable_eventbridge(bucket: Any, properties: dict[str, Any]) -> None:
        notifications = properties.get("NotificationConfiguration", {})
        if notifications.get("EventBridgeConfiguration", {}).get("EventBridgeEnabled") in (True, "true"):
            bucket.set_notification_configuration({"EventBridgeConfiguration": {}})

    _complete_buckets_from_templates(patcher, enable_eventbridge)


def _complete_buckets_from_templates(patcher: _Patcher, apply: Callable[[Any, dict[str, Any]], None]) -> None:
    """Let moto create a bucket from its template, then ``apply`` the template ``Properties`` moto ignores."""
    from moto.s3.models import FakeBucket

    stock_create = FakeBucket.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(
        cls: Any, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kw: Any
    ) -> Any:
        bucket = stock_create(cls, resource_name, cloudformation_json, account_id, region_name, **kw)
        apply(bucket, cloudformation_json.get("Properties", {}))
        return bucket

    patcher.replace(FakeBucket, "create_from_cloudformation_json", classmethod(create))


# --- gap 13 --------------------------------------------------------------------------------------------------------


def shorten_wait_states(patcher: _Patcher, simulator: TrainingSimulator) -> None:
    """Gap (of time, not of moto): the deployed workflow waits minutes between training-status polls, while a simulated
    job takes seconds. When ``simulator.max_wait_state_seconds`` is set, a Wait state lasts at most that long.
    Prefer a short poll interval in the synthesized stage; this only covers stages that cannot go that low.
    """
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

    stock_wait_interval = WaitFunction._wait_interval

    def wait_interval(function: Any, env: Any, wait_seconds: int) -> None:
        cap = simulator.max_wait_state_seconds
        if cap is not None and wait_seconds > cap:
            env.program_state_event.wait(cap)
            return None
        return stock_wait_interval(function, env, wait_seconds)

    class CappedSleep:
        """The retrier's ``time``: a Retry's interval (minutes for SageMaker capacity) is cut to the same cap."""

        @staticmethod
        def sleep(seconds: float) -> None:
            cap = simulator.max_wait_state_seconds
            time.sleep(seconds if cap is None else min(seconds, cap))

    patcher.replace(WaitFunction, "_wait_interval", wait_interval)
    patcher.replace(retrier_decl, "time", CappedSleep)


# --- gap 14 --------------------------------------------------------------------------------------------------------


def encode_eventbridge_object_keys(patcher: _Patcher, simulator: TrainingSimulator) -> None:
    """Gap: S3 puts object keys URL-encoded in its events ("red flower.jpg" arrives as "red+flower.jpg"), and the
    pipeline decodes them; moto's EventBridge ``Object Created`` event carries the raw key, so a key with a space,
    '+' or '%' would be read back as another key. Encode it as S3 does (slashes stay).
    """
    from urllib.parse import quote_plus

    from moto.s3 import notifications

    stock_send = notifications._send_event_bridge_message

    class EncodedKey:
        def __init__(self, key: Any) -> None:
            self._key = key

        def __getattr__(self, attribute: str) -> Any:
            return getattr(self._key, attribute)

        @property
        def name(self) -> str:
            return quote_plus(self._key.name, safe="/")

    def send(account_id: str, bucket: Any, event_name: str, key: Any) -> None:
        stock_send(account_id, bucket, event_name, EncodedKey(key))

    patcher.replace(notifications, "_send_event_bridge_message", send)


# --- gap 15 --------------------------------------------------------------------------------------------------------


def version_buckets_from_templates(patcher: _Patcher, simulator: TrainingSimulator) -> None:
    """Gap: moto's CloudFormation ignores an ``AWS::S3::Bucket``'s ``VersioningConfiguration``, so a bucket the
    template versions keeps one object per key, and its events carry the version id "null": a re-upload replaces
    what a run registered, and pinned versions cannot be read back. Enable versioning as S3 does.
    """

    def enable_versioning(bucket: Any, properties: dict[str, Any]) -> None:
        if properties.get("VersioningConfiguration", {}).get("Status") == "Enabled":
            bucket.versioning_status = "Enabled"

    _complete_buckets_from_templates(patcher, enable_versioning)


# --- gap 20 --------------------------------------------------------------------------------------------------------


def fail_tasks_with_their_cause(patcher: _Patcher, simulator: TrainingSimulator) -> None:
    """Gap: moto's SendTaskFailure handler passes the ``error`` on and drops the ``cause``, so a task failed by
    `novaft reject` reaches the workflow's Catch with no Cause (AWS keeps both; the run records the reason from it)."""
    from moto.core.responses import EmptyResult
    from moto.stepfunctions.responses import StepFunctionResponse

    def send_task_failure(response: Any) -> Any:
        response.stepfunction_backend.send_task_failure(
            response._get_param("taskToken"), error=response._get_param("error"), cause=response._get_param("cause")
        )
        return EmptyResult()

    patcher.replace(StepFunctionResponse, "send_task_failure", send_task_failure)


# --- gaps 16-19: Amazon Bedrock (novaft.local.bedrock) ---------------------------------------------------------------


def _bedrock_call(method: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A moto response method that answers from the simulated Bedrock; its refusals become Bedrock's error body."""
    from moto.core.exceptions import JsonRESTError

    from novaft.local.bedrock import SimulatedBedrockError

    def call(response: Any) -> Any:
        try:
            return method(response)
        except SimulatedBedrockError as error:
            refusal = JsonRESTError(error.code, str(error))
            refusal.code = error.status
            raise refusal from None

    return call


def _identifier(response: Any) -> str:
    from urllib.parse import unquote

    # The identifier is the last path segment, an ARN URL-encoded by the SDK ("/" as %2F).
    raw = str(getattr(response, "raw_path", None) or response.path)
    return unquote(raw.split("?", 1)[0].rsplit("/", 1)[-1])


def _tags(items: Any) -> dict[str, str]:
    return {str(tag["key"]): str(tag["value"]) for tag in items or []}


def _requested(response: Any, params: dict[str, Any], *, name_field: str, tags_field: str = "tags") -> dict[str, Any]:
    """What every Create* request names, as ``BedrockSimulator.create`` takes it: where, the resource's name, the
    idempotency token and the tags."""
    return {
        "account": response.current_account,
        "region": response.region,
        "name": params[name_field],
        "token": params.get("clientRequestToken"),
        "tags": _tags(params.get(tags_field)),
    }


def _serve_simulated(
    patcher: _Patcher,
    bedrock: BedrockSimulator,
    kind: str,
    operation: str,
    *,
    create: Callable[[Any], Any],
    get: Callable[[Any], Any],
) -> None:
    """Answer moto's Create/Get/Delete ``operation`` (e.g. ``custom_model_deployment``) for simulated ``kind``."""
    from moto.bedrock.responses import BedrockResponse

    def delete(response: Any) -> str:
        bedrock.delete(kind, _identifier(response))
        return "{}"

    for verb, answer in (("create", create), ("get", get), ("delete", delete)):
        patcher.replace(BedrockResponse, f"{verb}_{operation}", _bedrock_call(answer))


def import_custom_models(patcher: _Patcher, simulator: TrainingSimulator) -> None:
    """Gap: moto's Bedrock has no CreateCustomModel (the import of a SageMaker-trained Nova checkpoint) and knows only
    models of its own customization jobs. CreateCustomModel, GetCustomModel, DeleteCustomModel and
    ListTagsForResource answer for imported models from ``simulator.bedrock``; other models stay moto's.
    """
    from moto.bedrock.responses import BedrockResponse

    from novaft.local.bedrock import SimulatedBedrockError

    bedrock = simulator.bedrock
    stock_get, stock_delete, stock_tags = (
        BedrockResponse.get_custom_model,
        BedrockResponse.delete_custom_model,
        BedrockResponse.list_tags_for_resource,
    )

    def create_custom_model(response: Any) -> str:
        params = json.loads(response.body)
        arn = bedrock.create(
            "model",
            checkpoint_s3_uri=params.get("modelSourceConfig", {}).get("s3DataSource", {}).get("s3Uri", ""),
            role_arn=params.get("roleArn"),
            **_requested(response, params, name_field="modelName", tags_field="modelTags"),
        )
        return json.dumps({"modelArn": arn})

    def get_custom_model(response: Any) -> str:
        identifier = _identifier(response)
        try:
            model = bedrock.find("model", identifier)
        except SimulatedBedrockError:  # not an imported model: one of moto's own
            return str(stock_get(response))
        answer: dict[str, Any] = {
            "modelArn": model.arn,
            "modelName": model.name,
            "customizationType": "IMPORTED",
            "creationTime": dt.datetime.now(dt.UTC).isoformat(),
            "modelStatus": bedrock.status(model),
        }
        if answer["modelStatus"] == "Failed":
            answer["failureMessage"] = model.failure
        return json.dumps(answer)

    def delete_custom_model(response: Any) -> Any:
        identifier = _identifier(response)
        if any(r.kind == "model" and identifier in (r.arn, r.name) for r in bedrock.resources.values()):
            bedrock.delete("model", identifier)
            return "{}"
        return stock_delete(response)

    def list_tags_for_resource(response: Any) -> Any:
        arn = json.loads(response.body).get("resourceARN", "")
        if bedrock.owns(arn):
            tags = bedrock.resources[arn].tags
            return json.dumps({"tags": [{"key": key, "value": value} for key, value in tags.items()]})
        return stock_tags(response)

    patcher.replace(BedrockResponse, "create_custom_model", _bedrock_call(create_custom_model))
    patcher.replace(BedrockResponse, "get_custom_model", _bedrock_call(get_custom_model))
    patcher.replace(BedrockResponse, "delete_custom_model", _bedrock_call(delete_custom_model))
    patcher.replace(BedrockResponse, "list_tags_for_resource", _bedrock_call(list_tags_for_resource))


def deploy_custom_models(patcher: _Patcher, simulator: TrainingSimulator) -> None:
    """Gap: moto's Bedrock has no CreateCustomModelDeployment, GetCustomModelDeployment or
    DeleteCustomModelDeployment (on-demand inference for an imported model); they answer from ``simulator.bedrock``.
    """
    bedrock = simulator.bedrock

    def create(response: Any) -> str:
        params = json.loads(response.body)
        requested = _requested(response, params, name_field="modelDeploymentName")
        arn = bedrock.create_deployment("deployment", model_arn=params["modelArn"], **requested)
        return json.dumps({"customModelDeploymentArn": arn})

    def get(response: Any) -> str:
        deployment = bedrock.find("deployment", _identifier(response))
        answer = {
            "customModelDeploymentArn": deployment.arn,
            "modelDeploymentName": deployment.name,
            "modelArn": deployment.details["model_arn"],
            "createdAt": dt.datetime.now(dt.UTC).isoformat(),
            "status": bedrock.status(deployment),
        }
        return json.dumps(answer)

    _serve_simulated(patcher, bedrock, "deployment", "custom_model_deployment", create=create, get=get)


def provision_model_throughput(patcher: _Patcher, simulator: TrainingSimulator) -> None:
    """Gap: moto's Bedrock has no CreateProvisionedModelThroughput, GetProvisionedModelThroughput or
    DeleteProvisionedModelThroughput; they answer from ``simulator.bedrock`` (ready means ``InService``).
    """
    bedrock = simulator.bedrock

    def create(response: Any) -> tuple[int, dict[str, str], str]:
        params = json.loads(response.body)
        requested = _requested(response, params, name_field="provisionedModelName")
        arn = bedrock.create_deployment(
            "provisioned", model_arn=params["modelId"], model_units=params["modelUnits"], **requested
        )
        return 201, {}, json.dumps({"provisionedModelArn": arn})

    def get(response: Any) -> str:
        provisioned = bedrock.find("provisioned", _identifier(response))
        now = dt.datetime.now(dt.UTC).isoformat()
        units = provisioned.details["model_units"]
        model_arn = provisioned.details["model_arn"]
        answer = {
            "modelUnits": units,
            "desiredModelUnits": units,
            "provisionedModelName": provisioned.name,
            "provisionedModelArn": provisioned.arn,
            "modelArn": model_arn,
            "desiredModelArn": model_arn,
            "foundationModelArn": model_arn,
            "status": bedrock.status(provisioned),
            "creationTime": now,
            "lastModifiedTime": now,
        }
        return json.dumps(answer)

    _serve_simulated(patcher, bedrock, "provisioned", "provisioned_model_throughput", create=create, get=get)


def answer_converse(patcher: _Patcher, simulator: TrainingSimulator) -> None:
    """Gap: moto's Bedrock runtime has no Converse. A ready simulated deployment answers with a fixed text that says
    it is simulated (no model runs); anything else is ResourceNotFound, as Bedrock answers an unknown model id.
    """
    from moto.bedrockruntime.responses import BedrockRuntimeResponse

    bedrock = simulator.bedrock

    def converse(response: Any) -> str:
        params = json.loads(response.body or "{}")
        model_id = _model_id_of_converse(response)
        messages = params.get("messages") or []
        prompt = " ".join(
            str(block.get("text", ""))
            for message in messages
            if message.get("role") == "user"
            for block in message.get("content") or []
        )
        text = bedrock.converse(model_id, prompt)
        return json.dumps(
            {
                "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
                "stopReason": "end_turn",
                "usage": {"inputTokens": len(prompt.split()), "outputTokens": len(text.split()), "totalTokens": 0},
                "metrics": {"latencyMs": 0},
            }
        )

    patcher.replace(BedrockRuntimeResponse, "converse", _bedrock_call(converse))


def _model_id_of_converse(response: Any) -> str:
    from urllib.parse import unquote

    # POST /model/{modelId}/converse with the ARN URL-encoded.
    raw = str(getattr(response, "raw_path", None) or response.path).split("?", 1)[0]
    return unquote(raw.removesuffix("/converse").split("/model/", 1)[-1])


GAPS: dict[str, Callable[[_Patcher, TrainingSimulator], None]] = {
    gap.__name__: gap
    for gap in (
        run_lambda_in_process,
        execute_state_machines,
        deliver_rule_targets,
        stringify_custom_resource_properties,
        custom_resource_response_url,
        serialize_stack_creation,
        simulate_training_jobs,
        emit_execution_status_changes,
        create_global_tables,
        tag_kms_keys_from_templates,
        create_alarms_from_templates,
        enable_bucket_eventbridge_from_templates,
        shorten_wait_states,
        encode_eventbridge_object_keys,
        version_buckets_from_templates,
        import_custom_models,
        deploy_custom_models,
        provision_model_throughput,
        answer_converse,
        fail_tasks_with_their_cause,
    )
}

_active: dict[str, _Patcher] = {}
_active_simulator: list[TrainingSimulator] = []
_active_lock = threading.Lock()


def check_moto_version() -> None:
    """The patches reach into moto's internals: refuse to run on another version rather than misbehave."""
    from importlib.metadata import version

    from novaft.errors import UsageError

    installed = version("moto")
    if installed != MOTO_VERSION:
        raise UsageError(f"the local emulated AWS needs moto=={MOTO_VERSION}; this environment has moto=={installed}")


def _apply(names: Iterable[str], simulator: TrainingSimulator) -> None:
    for patcher in reversed(list(_active.values())):
        patcher.undo()
    _active.clear()
    _active_simulator[:] = [simulator]
    for name in names:
        patcher = _Patcher()
        GAPS[name](patcher, simulator)
        _active[name] = patcher


@contextlib.contextmanager
def applied(simulator: TrainingSimulator, without: Iterable[str] = ()) -> Iterator[None]:
    """Close every gap except those named in ``without`` while the block runs, then restore the previous state
    (nested uses, e.g. a test of one gap while the end-to-end server is up, leave the outer one as it was).
    """
    check_moto_version()
    skipped = set(without)
    unknown = skipped - GAPS.keys()
    if unknown:
        raise ValueError(f"unknown gaps {sorted(unknown)}; known: {sorted(GAPS)}")
    with _active_lock:
        previous_names, previous_simulator = list(_active), list(_active_simulator)
        _apply([name for name in GAPS if name not in skipped], simulator)
    try:
        yield
    finally:
        with _active_lock:
            _apply(previous_names, previous_simulator[0] if previous_simulator else simulator)
            if not previous_simulator:
                _active_simulator.clear()
