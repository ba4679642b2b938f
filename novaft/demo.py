"""``make demo``: the whole pipeline on an emulated AWS on this machine, no account needed. Training is simulated.

Synthesizes the real CDK app, starts the local AWS, deploys both stacks, drops a valid and a broken dataset into
the datasets bucket, follows both workflow executions live, then shows the run records, the broken dataset's
validation report, the valid run's evaluation against its base model and where every artifact is.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from novaft.errors import NovaftError
from novaft.local.assembly import LOCAL_STAGE
from novaft.pipeline import facts
from novaft.pipeline.contracts import WorkflowFailure
from novaft.pipeline.records import summarize_failure

REPO_ROOT = Path(__file__).resolve().parent.parent
ASSEMBLY_DIR = REPO_ROOT / "build" / "local-cdk.out"
VALID_SAMPLE = REPO_ROOT / "samples" / "sft-valid.jsonl"
BROKEN_SAMPLE = REPO_ROOT / "samples" / "sft-broken.jsonl"
# The valid run has its own folder: job.yaml asks for a gen_qa evaluation against the base model, eval.jsonl beside it.
VALID_KEY = f"{facts.DEFAULT_INCOMING_PREFIX}demo-sft/{facts.TRAIN_FILE}"
EVAL_SAMPLE = REPO_ROOT / "samples" / "gen-qa-eval.jsonl"
DEMO_EVALUATION = {
    "tasks": ["gen_qa"],
    "compare_with_base": True,
    "gate": {"metric": "gen_qa.rougeL", "min": 0.3, "min_delta_vs_base": 0.01},
}
BROKEN_KEY = f"{facts.DEFAULT_INCOMING_PREFIX}demo-broken.jsonl"
SIMULATED_TRAINING_SECONDS = 3.0
WAIT_STATE_SECONDS = 1.0
# A failure's cause is cut (at a word) to what reads well on one line of the demo's output.
MAX_CAUSE_CHARS = 240


def _say(text: str = "") -> None:
    print(text, flush=True)


def failure_text(error: str | None, cause: str | None, limit: int = MAX_CAUSE_CHARS) -> str:
    """``Error: readable cause`` on one line: the Lambda ``errorMessage`` or SageMaker ``FailureReason`` taken out of
    a JSON cause (as the run record does), whitespace flattened, cut at a word when long."""
    if not error:
        return ""
    summary = summarize_failure(WorkflowFailure.model_validate({"Error": error, "Cause": cause}))
    message = " ".join(summary.message.split())
    if not message or message == error:
        return error
    if len(message) > limit:
        message = message[: limit - 3].rsplit(" ", 1)[0] + "..."
    return f"{error}: {message}"


def run_demo() -> int:
    import boto3

    from novaft.local import watch
    from novaft.local.assembly import synthesize_local_timed
    from novaft.local.deploy import deploy_assembly
    from novaft.local.server import local_aws
    from novaft.local.training import SIMULATED_NOTICE, TrainingSimulator

    _say(f"novaft demo: the real pipeline on a local emulated AWS. NOTE: {SIMULATED_NOTICE}.")
    started = time.monotonic()
    _say("1/5 synthesizing the CDK app ...")
    assembly, synth_seconds = synthesize_local_timed(ASSEMBLY_DIR)
    _say(f"    done in {synth_seconds:.1f} s -> {assembly.relative_to(REPO_ROOT)}")

    with local_aws(simulator=TrainingSimulator.for_local_runs(SIMULATED_TRAINING_SECONDS, WAIT_STATE_SECONDS)) as aws:
        _say(f"2/5 {aws.notice}")
        _say("3/5 deploying ...")
        deployed = deploy_assembly(assembly, on_progress=lambda message: _say(f"    {message}"))
        outputs = deployed[facts.pipeline_stack_name(LOCAL_STAGE)].outputs
        bucket = outputs[facts.OUTPUT_DATASETS_BUCKET]

        _say(
            f"4/5 dropping two datasets into s3://{bucket}/{facts.DEFAULT_INCOMING_PREFIX} and following the workflow:"
        )
        s3, stepfunctions = boto3.client("s3"), boto3.client("stepfunctions")
        folder = VALID_KEY.rpartition("/")[0]
        # 12 hours: the stage policy's max_run_usd counts the training and the evaluation jobs' ceilings together.
        job = {
            **json.loads(outputs[facts.OUTPUT_DEFAULT_JOB]),
            "max_runtime_seconds": 43200,
            "evaluation": DEMO_EVALUATION,
        }
        s3.put_object(Bucket=bucket, Key=f"{folder}/{facts.JOB_FILE}", Body=json.dumps(job).encode())
        s3.put_object(Bucket=bucket, Key=f"{folder}/{facts.EVAL_DATA_FILE}", Body=EVAL_SAMPLE.read_bytes())
        s3.put_object(Bucket=bucket, Key=VALID_KEY, Body=VALID_SAMPLE.read_bytes())
        s3.put_object(Bucket=bucket, Key=BROKEN_KEY, Body=BROKEN_SAMPLE.read_bytes())
        labels = {}
        for key in (VALID_KEY, BROKEN_KEY):
            (arn,) = watch.wait_for_executions(stepfunctions, outputs[facts.OUTPUT_STATE_MACHINE_ARN], key)
            labels[arn] = key.removeprefix(facts.DEFAULT_INCOMING_PREFIX)

        def show(step: watch.StateStep) -> None:
            label = labels[step.execution_arn]
            if step.kind == "exited":
                return
            if step.state:
                _say(f"    [{label:>18}] {step.state}")
                return
            ended = stepfunctions.describe_execution(executionArn=step.execution_arn)
            _say(f"    [{label:>18}] => {step.kind} {failure_text(ended.get('error'), ended.get('cause'))}".rstrip())

        statuses = watch.follow(stepfunctions, labels, show)

        _say("5/5 results")
        _show_runs(outputs, labels)
        _show_recorded(outputs, labels, BROKEN_KEY, _VALIDATION_REPORT)
        _show_recorded(outputs, labels, VALID_KEY, _EVALUATION)
        _show_artifacts(outputs)
        deployed_ok = _deploy_and_smoke_test(outputs, labels, VALID_KEY)
        expected = {VALID_KEY: facts.EXECUTION_SUCCEEDED, BROKEN_KEY: facts.EXECUTION_FAILED}
        as_expected = deployed_ok and all(
            statuses[arn] == expected[facts.DEFAULT_INCOMING_PREFIX + label] for arn, label in labels.items()
        )
        _say(f"\nFinished in {time.monotonic() - started:.1f} s. Training was simulated; nothing ran on AWS.")
        if not as_expected:
            _say(f"UNEXPECTED: execution statuses {statuses}, expected {expected}")
        return facts.ExitCode.OK if as_expected else facts.ExitCode.FAILED


def _runs_table_items(outputs: dict[str, str]) -> list[dict[str, Any]]:
    import boto3

    table = boto3.resource("dynamodb").Table(outputs[facts.OUTPUT_RUNS_TABLE])
    return [dict(item) for item in table.scan()["Items"]]


def _show_runs(outputs: dict[str, str], labels: dict[str, str]) -> None:
    _say(f"\n  Run records (DynamoDB table {outputs[facts.OUTPUT_RUNS_TABLE]}):")
    for item in _runs_table_items(outputs):
        if item.get("execution_arn") not in labels:
            continue
        _say(f"    {item.get('run_id')}: status={item.get('status')}")
        # The job name is reserved when the run registers; show it only once a job was really started.
        if item.get("training_job_arn"):
            _say(f"      training_job_name: {item.get('training_job_name')}")
        if item.get("failure_error"):
            _say(f"      failure: {failure_text(item['failure_error'], item.get('failure_cause'))}")
        for name in ("checkpoint_s3_uri", "report_s3_uri", "run_json_s3_uri"):
            if item.get(name):
                _say(f"      {name}: {item[name]}")


def _runs_of(outputs: dict[str, str], labels: dict[str, str], key: str) -> list[dict[str, Any]]:
    """The run records of the executions the dataset ``key`` started."""
    label = key.removeprefix(facts.DEFAULT_INCOMING_PREFIX)
    return [item for item in _runs_table_items(outputs) if labels.get(item.get("execution_arn", "")) == label]


@dataclass(frozen=True)
class _RecordedDocument:
    """A JSON document a run records in S3, and how the demo shows it."""

    uri_field: str  # the run record's field holding its s3:// URI
    missing: str  # what to call it when the run recorded none
    heading: str  # with {key} and {uri}
    lines: Callable[[dict[str, Any]], list[str]]


def _show_recorded(outputs: dict[str, str], labels: dict[str, str], key: str, recorded: _RecordedDocument) -> None:
    import boto3

    runs = _runs_of(outputs, labels, key)
    uri = str(runs[0].get(recorded.uri_field, "")) if runs else ""
    if not uri.startswith("s3://"):
        _say(f"\n  The run of {key} recorded no {recorded.missing}.")
        return
    bucket, _, object_key = uri.removeprefix("s3://").partition("/")
    document = json.loads(boto3.client("s3").get_object(Bucket=bucket, Key=object_key)["Body"].read())
    _say("\n  " + recorded.heading.format(key=key, uri=uri))
    for line in recorded.lines(document):
        _say(line)


def report_lines(report: dict[str, Any]) -> list[str]:
    """report.json in short: the verdict and counts, then the first ten errors."""
    return [
        f"    valid={report.get('valid')} records={report.get('records')} errors by code={report.get('error_counts')}",
        *(
            f"    line {issue.get('line')}: [{issue.get('code')}] {issue.get('path') or ''} {issue.get('message')}"
            for issue in report.get("errors", [])[:10]
        ),
    ]


def evaluation_table(document: dict[str, Any]) -> list[str]:
    """evaluation.json as a small table: metric, fine-tuned, base, change; then the gate's verdict."""
    lines = [f"    {'metric':<16}{'fine-tuned':>11}{'base':>9}{'change':>9}"]
    for name, row in document.get("metrics", {}).items():
        base, delta = row.get("base"), row.get("delta")
        lines.append(
            f"    {name:<16}{row.get('fine_tuned'):>11.4g}"
            + (f"{base:>9.4g}{delta:>+9.4g}" if base is not None and delta is not None else f"{'-':>9}{'-':>9}")
        )
    gate = document.get("gate")
    if gate:
        bars = ", ".join(
            f"{label} {gate[key]:g}"
            for key, label in (("min", ">="), ("min_delta_vs_base", "change >="))
            if gate.get(key) is not None
        )
        lines.append(f"    gate on {gate.get('metric')} ({bars}): {gate.get('result')}")
        lines.extend(f"      {reason}" for reason in gate.get("reasons", []))
    return lines


_VALIDATION_REPORT = _RecordedDocument(
    "report_s3_uri", "validation report", "Validation report of {key} ({uri}):", report_lines
)
_EVALUATION = _RecordedDocument(
    "evaluation_s3_uri", "evaluation", "Evaluation of {key} (simulated evaluation jobs; {uri}):", evaluation_table
)


def _deploy_and_smoke_test(outputs: dict[str, str], labels: dict[str, str], key: str) -> bool:
    """``novaft deploy`` of the valid run to the simulated Bedrock (the answer says it is simulated), then
    ``novaft undeploy`` so nothing is left deployed; whether both worked."""
    from novaft.cli import main as novaft

    runs = _runs_of(outputs, labels, key)
    if not runs:
        return False
    run_id = str(runs[0]["run_id"])
    stage = ["--stage", LOCAL_STAGE]
    _say(f"\n  Deploying run {run_id} to Amazon Bedrock (SIMULATED: no model is imported or run) and smoke-testing it:")
    deployed = novaft(["deploy", run_id, "--interval", "0.2", *stage])
    undeployed = novaft(["undeploy", run_id, "--delete-model", *stage])
    return deployed == facts.ExitCode.OK and undeployed == facts.ExitCode.OK


def _show_artifacts(outputs: dict[str, str]) -> None:
    import boto3

    bucket = outputs[facts.OUTPUT_ARTIFACTS_BUCKET]
    _say(f"\n  Artifacts (s3://{bucket}/):")
    for page in boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for entry in page.get("Contents", []):
            _say(f"    s3://{bucket}/{entry['Key']}")


def main() -> int:
    # Third-party libraries' notices (Powertools' empty-metrics warning) are noise in a demo's output.
    warnings.simplefilter("ignore")
    try:
        return run_demo()
    except NovaftError as error:
        print(f"novaft demo: {error}", file=sys.stderr)
        return facts.ExitCode.FAILED


if __name__ == "__main__":
    sys.exit(main())
