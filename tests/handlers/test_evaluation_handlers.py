"""StartEvaluation and RecordEvaluation on moto: the job is created once with its evaluation tags; the results archive
is read back from S3 into evaluation.json and the run record."""

from __future__ import annotations

import copy
from typing import Any
from unittest import mock

import pytest
from botocore.exceptions import ClientError

from lambdas.handlers import record_evaluation, start_evaluation
from novaft.local.training import evaluation_archive
from novaft.pipeline.errors import EvaluationFailed
from novaft.pipeline.facts import (
    EVAL_SIDE_FINE_TUNED,
    EVAL_SIDE_TAG,
    EVAL_TASK_TAG,
    EVALUATION_FILE,
    EVALUATION_STATUS_FIELD,
    RECORD_TYPE_RUN,
    STATUS_COMPLETED,
)
from tests.handlers.conftest import Aws, FakeLambdaContext, load_event

JOB_NAME = "novaft-demo-dbad16161acb-0a1b2c3d"


def _start_event(run_tag: str | None = None) -> dict[str, Any]:
    training = load_event("start_training.json")
    request = copy.deepcopy(training["request"])
    request["TrainingJobName"] = JOB_NAME
    request["AlgorithmSpecification"]["TrainingImage"] = request["AlgorithmSpecification"]["TrainingImage"].replace(
        "nova-fine-tune-repo:SM-TJ-SFT-latest", "nova-evaluation-repo:SM-TJ-Eval-V2-latest"
    )
    request["Tags"] = [
        {"Key": "novaft:run-id", "Value": run_tag or training["run"]["run_id"]},
        {"Key": "novaft:stage", "Value": "dev"},
        {"Key": EVAL_TASK_TAG, "Value": "gen_qa"},
        {"Key": EVAL_SIDE_TAG, "Value": EVAL_SIDE_FINE_TUNED},
    ]
    job = {"task": "gen_qa", "side": EVAL_SIDE_FINE_TUNED, "job_name": JOB_NAME, "request": request}
    return {"run": training["run"], "job": job}


def _name_taken() -> Any:
    """moto accepts a second job with the same name; real SageMaker answers ResourceInUse."""
    from novaft.aws.clients import client

    in_use = ClientError({"Error": {"Code": "ResourceInUse", "Message": "already exists"}}, "CreateTrainingJob")
    return mock.patch.object(client("sagemaker"), "create_training_job", side_effect=in_use)


def test_start_evaluation_creates_the_tagged_job_once(aws: Aws, lambda_context: FakeLambdaContext) -> None:
    event = _start_event()
    first = start_evaluation.lambda_handler(event, lambda_context)
    with _name_taken():
        again = start_evaluation.lambda_handler(event, lambda_context)

    assert first == again and first["job_name"] == JOB_NAME
    tags = {tag["Key"]: tag["Value"] for tag in aws.sagemaker.list_tags(ResourceArn=first["job_arn"])["Tags"]}
    assert tags[EVAL_TASK_TAG] == "gen_qa" and tags[EVAL_SIDE_TAG] == EVAL_SIDE_FINE_TUNED


def test_start_evaluation_refuses_a_job_name_of_another_run(aws: Aws, lambda_context: FakeLambdaContext) -> None:
    start_evaluation.lambda_handler(_start_event(run_tag="someone-else"), lambda_context)
    with _name_taken(), pytest.raises(EvaluationFailed, match="already exists for another run"):
        start_evaluation.lambda_handler(_start_event(), lambda_context)


def test_record_evaluation_reads_the_archive_into_evaluation_json(aws: Aws, lambda_context: FakeLambdaContext) -> None:
    run = load_event("start_training.json")["run"]
    validation = load_event("render_recipe.json")["validation"]
    validation["job_spec"] = {**validation["job_spec"], "evaluation": {"tasks": ["gen_qa"]}}
    aws.put_item({"run_id": run["run_id"], "record_type": RECORD_TYPE_RUN, "status": STATUS_COMPLETED})
    key = f"{run['artifacts_prefix']}evaluation/output/{JOB_NAME}/output/output.tar.gz"
    aws.s3.put_object(
        Bucket=run["artifacts_bucket"], Key=key, Body=evaluation_archive(JOB_NAME, task="gen_qa", base=False)
    )
    result = {"task": "gen_qa", "side": EVAL_SIDE_FINE_TUNED, "job_name": JOB_NAME, "status": STATUS_COMPLETED}

    outcome = record_evaluation.lambda_handler(
        {"run": run, "validation": validation, "results": [result]}, lambda_context
    )

    assert outcome["status"] == STATUS_COMPLETED and outcome["failed"] is False
    document = aws.read_json(run["artifacts_bucket"], f"{run['artifacts_prefix']}{EVALUATION_FILE}")
    assert document["metrics"]["gen_qa.rougeL"]["base"] is None
    assert aws.item(run["run_id"])[EVALUATION_STATUS_FIELD] == STATUS_COMPLETED
