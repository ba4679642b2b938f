"""The bounded wait loop the workflow fragments share: a poll counter, and the SageMaker calls that watch a job.

Training and evaluation jobs are both SageMaker training jobs: each is described after every Wait and stopped when
its polls run out. States only, no resources.
"""

from __future__ import annotations

from collections.abc import Iterable

import aws_cdk as cdk
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from stacks.constructs.retries import retry_with_jitter


def init_polls(scope: Construct, name: str, polls_path: str) -> sfn.Pass:
    """Sets the poll counter at ``polls_path`` to zero."""
    return sfn.Pass(scope, name, result=sfn.Result.from_object({"count": 0}), result_path=polls_path)


def count_poll(scope: Construct, name: str, polls_path: str) -> sfn.Pass:
    """Adds one to the poll counter at ``polls_path``."""
    return sfn.Pass(
        scope,
        name,
        parameters={"count.$": f"States.MathAdd({polls_path}.count, 1)"},
        result_path=polls_path,
    )


def status_in(status_path: str, statuses: Iterable[str]) -> sfn.Condition:
    """True when the string at ``status_path`` is one of ``statuses``."""
    return sfn.Condition.or_(*(sfn.Condition.string_equals(status_path, status) for status in statuses))


def describe_training_job(
    scope: Construct,
    name: str,
    *,
    job_arns: str,
    job_name_path: str,
    result_selector: dict[str, str],
    result_path: str,
    transient_errors: list[str],
) -> tasks.CallAwsService:
    """DescribeTrainingJob for the job named at ``job_name_path``, retried with jitter on ``transient_errors``."""
    describe = _training_job_call(
        scope,
        name,
        "DescribeTrainingJob",
        job_arns,
        job_name_path,
        result_selector=result_selector,
        result_path=result_path,
    )
    retry_with_jitter(describe, transient_errors, interval_seconds=5, max_attempts=5)
    return describe


def stop_training_job(
    scope: Construct, name: str, *, job_arns: str, job_name_path: str, transient_errors: list[str]
) -> tasks.CallAwsService:
    """StopTrainingJob for the job named at ``job_name_path``; its output is discarded."""
    stop = _training_job_call(scope, name, "StopTrainingJob", job_arns, job_name_path, result_path=sfn.JsonPath.DISCARD)
    stop.add_retry(errors=transient_errors, interval=cdk.Duration.seconds(5), max_attempts=5, backoff_rate=2)
    return stop


def _training_job_call(
    scope: Construct,
    name: str,
    operation: str,
    job_arns: str,
    job_name_path: str,
    *,
    result_path: str,
    result_selector: dict[str, str] | None = None,
) -> tasks.CallAwsService:
    """The SDK integration for the SageMaker ``operation`` (e.g. DescribeTrainingJob) on one training job."""
    return tasks.CallAwsService(
        scope,
        name,
        service="sagemaker",
        action=operation[0].lower() + operation[1:],
        iam_action=f"sagemaker:{operation}",
        iam_resources=[job_arns],
        parameters={"TrainingJobName": sfn.JsonPath.string_at(job_name_path)},
        result_selector=result_selector,
        result_path=result_path,
    )
