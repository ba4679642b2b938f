"""Evaluation steps (docs/evaluation.md): check the run's evaluation set, plan and start the evaluation jobs of a
trained run, and record their results with the gate's verdict.

* ValidateDataset calls ``check_evaluation_set``: ``incoming/<run>/eval.jsonl`` must be in the gen_qa format, and a
  job asking for ``gen_qa`` needs one; a missing or invalid one is ``EvalDatasetInvalid`` before any job starts.
* PlanEvaluation renders one recipe per task and model (the fine-tuned checkpoint from the output manifest, and the
  base model when ``compare_with_base``), uploads it and builds the exact request; nothing starts yet.
* StartEvaluation creates one job (a retry finds it already created) after the same policy check as training.
* RecordEvaluation reads each job's results archive, writes ``evaluation.json``, puts the table and the gate's
  verdict on the run record and says what to notify. A failed gate is a result, not a failure; a failed job is
  ``EvaluationFailed`` with SageMaker's reason, recorded on the run, whose training status stays as it was.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Final

import orjson

from novaft.errors import NovaftError
from novaft.pipeline.contracts import (
    DatasetLocation,
    EvaluationJob,
    EvaluationJobResult,
    EvaluationPlan,
    PlanEvaluationInput,
    RecordEvaluationInput,
    RunContext,
    RunInputs,
    StartEvaluationInput,
    ValidationOutcome,
    WorkflowFailure,
)
from novaft.pipeline.errors import EvalDatasetInvalid, EvaluationFailed, JobSpecInvalid, TrainingJobNotFound
from novaft.pipeline.evaluation_results import (
    Gate,
    TaskMetrics,
    evaluation_document,
    read_results_archive,
    task_metrics,
)
from novaft.pipeline.facts import (
    EVAL_DATA_FILE,
    EVAL_SIDE_BASE,
    EVAL_SIDE_FINE_TUNED,
    EVAL_SIDE_TAG,
    EVAL_TASK_TAG,
    EVAL_VALIDATION_REPORT_FILE,
    EVALUATION_FILE,
    EVALUATION_JOBS_FIELD,
    EVALUATION_PLANNED,
    EVALUATION_ROUND_FIELD,
    EVALUATION_STATUS_FIELD,
    GATE_FAILED,
    METRICS_CSV_FILE,
    RUN_ID_TAG,
    RUN_JSON_FILE,
    STAGE_TAG,
    STATUS_COMPLETED,
    STATUS_DATASET_INVALID,
    TRAINING_OUTPUT_DIR,
)
from novaft.pipeline.manifest import output_archive_key, read_output_manifest
from novaft.pipeline.records import summarize_failure
from novaft.pipeline.settings import Settings
from novaft.pipeline.steps.job_spec import job_spec_from_document
from novaft.pipeline.steps.policy_gate import stage_job_inputs, stage_job_settings
from novaft.pipeline.steps.ports import JobNameTaken, ObjectStore, RunStore, TrainingJobs
from novaft.pipeline.steps.run_report import write_run_report
from novaft.policy import PolicyRequest, PolicyViolation, evaluate, training_request_findings
from novaft.recipes import JobSpec, JobSpecError, PriceTable
from novaft.report.metrics import parse_metrics_csv
from novaft.validation import iter_byte_lines
from novaft.validation.eval_formats import validate_eval_data

GEN_QA: Final = "gen_qa"
EVALUATION_DIR = "evaluation/"
ERRORS_IN_MESSAGE = 5
# No measured durations exist for evaluation jobs: the estimate assumes this long per job, and the ceiling counts
# each job's whole MaxRuntimeInSeconds (SageMaker stops it there): 6 hours, or the job spec's training runtime when
# shorter (which the stage policy already bounds).
ASSUMED_EVALUATION_HOURS = 1.0
EVALUATION_MAX_RUNTIME_SECONDS = 6 * 3600


def evaluation_runtime_seconds(spec: JobSpec) -> int:
    return min(EVALUATION_MAX_RUNTIME_SECONDS, spec.max_runtime_seconds)


MAX_JOB_NAME = 63
JOB_NAME_HASH_CHARS = 8
# The run record's list of the planned evaluation jobs' names: the stop rule stops those still running.
# SageMaker's FailureReason, as much as a record and a notification should carry.
MAX_REASON_CHARS = 1000


# --- ValidateDataset: the evaluation set -----------------------------------------------------------------------------


def check_evaluation_set(run: RunContext, spec: JobSpec, *, objects: ObjectStore, runs: RunStore, now: str) -> None:
    """A pinned eval.jsonl must be valid gen_qa data, and a job asking for gen_qa needs one (``EvalDatasetInvalid``).

    A set dropped without gen_qa in the job is checked too: it is pinned with the run, and ``novaft evaluate`` may
    use it later.
    """
    pinned = run.dataset.eval_set
    if pinned is None and GEN_QA not in spec.evaluation.tasks:
        return
    if pinned is None:
        folder = run.dataset.train.key.rpartition("/")[0]
        message = (
            f"job spec: evaluation.tasks: gen_qa evaluates your own questions and answers, but there is no "
            f"s3://{run.dataset.bucket}/{folder}/{EVAL_DATA_FILE} (allowed: upload it beside train.jsonl first, "
            "or leave gen_qa out)"
        )
        _record_invalid(run, runs, message, now=now)
        raise EvalDatasetInvalid(message)
    with objects.open(run.dataset.bucket, pinned.key, pinned.version_id) as body:
        report = validate_eval_data(iter_byte_lines(body), spec.model, GEN_QA)
    report_key = f"{run.artifacts_prefix}{EVAL_VALIDATION_REPORT_FILE}"
    report_uri = objects.put_json(run.artifacts_bucket, report_key, report.to_dict())
    if report.valid:
        return
    counts = ", ".join(f"{code} x{count}" for code, count in sorted(report.error_counts.items()))
    lines = [
        f"Evaluation set s3://{run.dataset.bucket}/{pinned.key} is not valid gen_qa data: {report.error_total} "
        f"error(s) in {report.stats.invalid_records} of {report.records} record(s) ({counts}).",
        *(f"  - line {issue.line}, {issue.path}: {issue.message}" for issue in report.errors[:ERRORS_IN_MESSAGE]),
        f"Full report: {report_uri}",
    ]
    message = "\n".join(lines)
    _record_invalid(run, runs, message, now=now, report_uri=report_uri)
    raise EvalDatasetInvalid(message)


def _record_invalid(run: RunContext, runs: RunStore, message: str, *, now: str, report_uri: str | None = None) -> None:
    fields: dict[str, Any] = {
        "status": STATUS_DATASET_INVALID,
        "failure_error": EvalDatasetInvalid.workflow_error,
        "failure_cause": message,
        "updated_at": now,
    }
    if report_uri is not None:
        fields["eval_report_s3_uri"] = report_uri
    runs.update(run.run_id, fields)


# --- The plan and its estimate ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvaluationEstimate:
    jobs: int
    instance_type: str | None
    instance_count: int
    price_per_instance_hour: float | None
    estimated_cost_usd: float | None
    ceiling_usd: float | None
    max_runtime_seconds: int = EVALUATION_MAX_RUNTIME_SECONDS

    def to_dict(self) -> dict[str, Any]:
        return {
            "jobs": self.jobs,
            "instance_type": self.instance_type,
            "instance_count": self.instance_count,
            "price_per_instance_hour": self.price_per_instance_hour,
            "assumed_hours_per_job": ASSUMED_EVALUATION_HOURS,
            "max_runtime_seconds_per_job": self.max_runtime_seconds,
            "estimated_cost_usd": self.estimated_cost_usd,
            "ceiling_usd": self.ceiling_usd,
        }


def evaluation_sides(spec: JobSpec) -> tuple[str, ...]:
    return (EVAL_SIDE_FINE_TUNED, EVAL_SIDE_BASE) if spec.evaluation.compare_with_base else (EVAL_SIDE_FINE_TUNED,)


def estimate_evaluation(
    spec: JobSpec, prices: PriceTable | None, *, region: str, tasks: list[str] | None = None
) -> EvaluationEstimate:
    """What the evaluation jobs may cost: one job per task and side on the recipe's default instance."""
    from novaft.recipes.evaluation import load_evaluation_catalog  # only runs that evaluate pay for the catalog

    chosen = tasks if tasks is not None else list(spec.evaluation.tasks)
    jobs = len(chosen) * len(evaluation_sides(spec))
    runtime = evaluation_runtime_seconds(spec)
    if jobs == 0:
        return EvaluationEstimate(0, None, 0, None, 0.0, 0.0, runtime)
    catalog = load_evaluation_catalog()
    instance_type = catalog.recipe_for(spec.model, chosen[0]).default_instance_type
    price = prices.price(region, instance_type) if prices is not None else None
    if price is None:
        return EvaluationEstimate(jobs, instance_type, 1, None, None, None, runtime)
    estimated = round(jobs * min(ASSUMED_EVALUATION_HOURS, runtime / 3600) * price, 2)
    ceiling = round(jobs * runtime / 3600 * price, 2)
    return EvaluationEstimate(jobs, instance_type, 1, price, estimated, ceiling, runtime)


def evaluation_job_name(training_job_name: str, round_id: str, task: str, side: str) -> str:
    """``<training job name>-<8 hex>``, cut to SageMaker's 63 characters: unique per run, round, task and side, and
    under the training jobs' ``novaft-`` prefix that bounds the pipeline's SageMaker permissions."""
    key = f"{training_job_name}|{round_id}|{task}|{side}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:JOB_NAME_HASH_CHARS]
    head = training_job_name[: MAX_JOB_NAME - JOB_NAME_HASH_CHARS - 1].rstrip("-")
    return f"{head}-{digest}"


def plan_evaluation(
    payload: PlanEvaluationInput,
    *,
    prices: PriceTable | None,
    settings: Settings,
    objects: ObjectStore,
    runs: RunStore,
    now: str,
) -> EvaluationPlan:
    """The evaluation jobs of a trained run; an empty plan when the job asks for none."""
    from novaft.recipes.evaluation import EvaluationJobInputs, build_evaluation_job_request, render_evaluation_recipe

    run = payload.run
    spec = job_spec_from_document(payload.validation.job_spec)
    tasks: list[str] = list(payload.tasks) if payload.tasks is not None else list(spec.evaluation.tasks)
    if not tasks:
        return EvaluationPlan()
    if GEN_QA in tasks and payload.validation.inputs.eval_s3_uri is None:
        raise EvalDatasetInvalid(f"run {run.run_id} has no validated eval.jsonl, which gen_qa evaluates")
    checkpoint = _checkpoint_of(run, objects=objects, runs=runs)
    artifacts = f"s3://{run.artifacts_bucket}/{run.artifacts_prefix}"
    jobs: list[EvaluationJob] = []
    try:
        for task in tasks:
            for side in evaluation_sides(spec):
                job_name = evaluation_job_name(run.training_job_name, payload.round, task, side)
                rendered = render_evaluation_recipe(
                    spec.model, task, model_path=checkpoint if side == EVAL_SIDE_FINE_TUNED else None
                )
                folder = f"{run.artifacts_prefix}{EVALUATION_DIR}{job_name}/"
                recipe_uri = objects.put_text(run.artifacts_bucket, f"{folder}{rendered.file_name}", rendered.yaml_text)
                inputs = EvaluationJobInputs(
                    job_name=job_name,
                    role_arn=settings.require("training_role_arn"),
                    region=settings.region,
                    recipe_s3_uri=recipe_uri,
                    output_s3_uri=f"{artifacts}{EVALUATION_DIR}{TRAINING_OUTPUT_DIR}/",
                    data_s3_uri=payload.validation.inputs.eval_s3_uri if task == GEN_QA else None,
                    max_runtime_seconds=evaluation_runtime_seconds(spec),
                    tags={RUN_ID_TAG: run.run_id, STAGE_TAG: settings.stage, EVAL_TASK_TAG: task, EVAL_SIDE_TAG: side},
                    **stage_job_inputs(settings),
                )
                request = build_evaluation_job_request(rendered, inputs)
                jobs.append(EvaluationJob(task=task, side=side, job_name=job_name, request=request))
    except JobSpecError as error:
        raise JobSpecInvalid(str(error)) from None
    estimate = estimate_evaluation(spec, prices, region=settings.region, tasks=tasks)
    fields: dict[str, Any] = {"evaluation_estimate": estimate.to_dict(), "updated_at": now}
    if payload.tasks is not None:
        # `novaft evaluate`: a spend of its own, which RenderRecipe never judged; the policy judges it here.
        decision = evaluate(settings.policy, later_evaluation_request(spec, estimate, region=settings.region))
        runs.update(run.run_id, {**fields, "evaluation_policy": decision.to_dict()})
        decision.raise_unless_cleared_to_start()
    names = [job.job_name for job in jobs]
    runs.update(
        run.run_id,
        {
            **fields,
            EVALUATION_STATUS_FIELD: EVALUATION_PLANNED,
            EVALUATION_JOBS_FIELD: names,
            EVALUATION_ROUND_FIELD: payload.round,
        },
    )
    return EvaluationPlan(jobs=jobs, estimate=estimate.to_dict())


def later_evaluation_request(spec: JobSpec, estimate: EvaluationEstimate, *, region: str) -> PolicyRequest:
    """The policy request of evaluation jobs alone: no training hours, the jobs' ceiling and estimate as the run's."""
    return PolicyRequest(
        model=spec.model,
        method=spec.method,
        peft=spec.peft,
        instance_type=estimate.instance_type or "",
        instance_count=estimate.instance_count,
        max_runtime_hours=0.0,
        price_per_instance_hour=estimate.price_per_instance_hour,
        estimated_cost_usd=estimate.estimated_cost_usd,
        tag_keys=tuple(spec.tags),
        region=region,
        evaluation_ceiling_usd=estimate.ceiling_usd or 0.0,
    )


def _checkpoint_of(run: RunContext, *, objects: ObjectStore, runs: RunStore) -> str:
    """The recorded checkpoint, else the one the training job's output manifest names."""
    record = runs.get(run.run_id)
    if record.get("status") != STATUS_COMPLETED:
        raise EvaluationFailed(
            f"run {run.run_id} has status {record.get('status')!r}; only a Completed run is evaluated"
        )
    checkpoint = record.get("checkpoint_s3_uri")
    if checkpoint:
        return str(checkpoint)
    key = output_archive_key(f"{run.artifacts_prefix}{TRAINING_OUTPUT_DIR}", run.training_job_name)
    return read_output_manifest(objects.read_bytes(run.artifacts_bucket, key), source=key).checkpoint_s3_uri


# --- StartEvaluation --------------------------------------------------------------------------------------------------


def start_evaluation(payload: StartEvaluationInput, *, settings: Settings, jobs: TrainingJobs) -> dict[str, str]:
    """Create the job once, inside the stage's bounds; ``{"job_name", "job_arn"}``."""
    request = payload.job.request
    findings = training_request_findings(settings.policy, request, stage_job_settings(settings))
    if findings:
        raise PolicyViolation(findings)
    if request.get("TrainingJobName") != payload.job.job_name:
        raise EvaluationFailed(f"the request of {payload.job.job_name} names another job")
    try:
        job_arn = jobs.create(request)
    except JobNameTaken:
        existing = jobs.describe(payload.job.job_name)
        job_arn = str(existing.get("TrainingJobArn", ""))
        if jobs.tags(job_arn).get(RUN_ID_TAG) != payload.run.run_id:
            raise EvaluationFailed(
                f"evaluation job {payload.job.job_name} already exists for another run; nothing was started"
            ) from None
    return {"job_name": payload.job.job_name, "job_arn": job_arn}


# --- RecordEvaluation -------------------------------------------------------------------------------------------------


def record_evaluation(
    payload: RecordEvaluationInput, *, objects: ObjectStore, runs: RunStore, jobs: TrainingJobs, now: str
) -> dict[str, Any]:
    """Results into ``evaluation.json`` and the run record; the notification's subject and message.

    Returns ``{"status", "gate", "subject", "message", "evaluation_s3_uri", ...}`` (``gate`` with ``passed`` for the
    deployment step). A job that did not complete makes the status ``EvaluationFailed`` with its reason.
    """
    run = payload.run
    spec = job_spec_from_document(payload.validation.job_spec)
    measured: dict[str, TaskMetrics] = {EVAL_SIDE_FINE_TUNED: {}, EVAL_SIDE_BASE: {}}
    failures: list[str] = []
    if payload.failure is not None:
        failures.append(summarize_failure(payload.failure).message)
    output_prefix = f"{run.artifacts_prefix}{EVALUATION_DIR}{TRAINING_OUTPUT_DIR}"
    for result in payload.results:
        where = f"{result.task} ({result.side}) job {result.job_name}"
        if result.status != STATUS_COMPLETED:
            reason = _reason_of(result, jobs)
            failures.append(f"{where} ended {result.status}: {reason}")
            continue
        key = output_archive_key(output_prefix, result.job_name)
        source = f"s3://{run.artifacts_bucket}/{key}"
        try:
            with objects.open(run.artifacts_bucket, key) as stream:
                document = read_results_archive(stream, source=source)
            measured[result.side][result.task] = task_metrics(result.task, document, source=source)
        except EvaluationFailed as error:
            failures.append(f"{where}: {error}")
    gate = _gate_of(spec)
    names = {f"{result.task}.{result.side}": result.job_name for result in payload.results}
    document = evaluation_document(measured[EVAL_SIDE_FINE_TUNED], measured[EVAL_SIDE_BASE] or None, gate, jobs=names)
    if failures:
        document["failures"] = failures
        document.pop("gate", None)  # a gate judged on missing results would be meaningless
    evaluation_uri = objects.put_json(run.artifacts_bucket, f"{run.artifacts_prefix}{EVALUATION_FILE}", document)
    status = EvaluationFailed.workflow_error if failures else STATUS_COMPLETED
    verdict = document.get("gate")
    fields: dict[str, Any] = {
        EVALUATION_STATUS_FIELD: status,
        "evaluation_s3_uri": evaluation_uri,
        "evaluation": {key: value for key, value in document.items() if key != "jobs"},
        "updated_at": now,
    }
    if verdict is not None:
        fields["evaluation_gate"] = verdict["result"]
    if failures:
        fields["evaluation_failure"] = "; ".join(failures)[:MAX_REASON_CHARS]
    runs.update(run.run_id, fields)
    _refresh_run_documents(run, fields, objects=objects, now=now)
    subject, message = _notification(run, document, failures, evaluation_uri)
    return {
        "status": status,
        "failed": bool(failures),
        "gate": verdict,
        "evaluation_s3_uri": evaluation_uri,
        "subject": subject,
        "message": message,
    }


def _refresh_run_documents(run: RunContext, fields: Mapping[str, Any], *, objects: ObjectStore, now: str) -> None:
    """run.json gets the evaluation fields and report.html its evaluation section (RecordResult wrote both before
    the evaluation ran). Best effort: the evaluation is recorded either way."""
    prefix = run.artifacts_prefix
    try:
        document = orjson.loads(objects.read_bytes(run.artifacts_bucket, f"{prefix}{RUN_JSON_FILE}"))
    except (NovaftError, OSError, orjson.JSONDecodeError):
        return  # no run.json (RecordResult could not write it): nothing to refresh
    if not isinstance(document, dict):
        return
    document.update(fields)
    objects.put_json(run.artifacts_bucket, f"{prefix}{RUN_JSON_FILE}", document)
    metrics = None
    try:
        csv = objects.read_bytes(run.artifacts_bucket, f"{prefix}{METRICS_CSV_FILE}")
        metrics = parse_metrics_csv(csv.splitlines())
    except (NovaftError, OSError):
        pass  # a run without a loss curve still gets its evaluation on the page
    write_run_report(objects, bucket=run.artifacts_bucket, prefix=prefix, run=document, metrics=metrics, now=now)


def _reason_of(result: EvaluationJobResult, jobs: TrainingJobs) -> str:
    if result.reason is not None:
        return summarize_failure(WorkflowFailure(Error="StartEvaluation", Cause=result.reason)).message
    try:
        reason = jobs.describe(result.job_name).get("FailureReason")
    except TrainingJobNotFound:
        reason = "the job was never created"
    return str(reason or "no reason given")[:MAX_REASON_CHARS]


def _gate_of(spec: JobSpec) -> Gate | None:
    gate = spec.evaluation.gate
    if gate is None:
        return None
    return Gate(metric=gate.metric, min=gate.min, min_delta_vs_base=gate.min_delta_vs_base)


def _notification(run: RunContext, document: Mapping[str, Any], failures: list[str], uri: str) -> tuple[str, str]:
    lines = [f"Run {run.run_id}: evaluation {'failed' if failures else 'finished'}."]
    for name, row in document.get("metrics", {}).items():
        base = "" if row.get("base") is None else f" (base {row['base']:g}, change {row['delta']:+g})"
        lines.append(f"  {name}: {row['fine_tuned']:g}{base}")
    lines.extend(f"  failed: {failure}" for failure in failures)
    verdict = document.get("gate")
    if verdict is not None:
        lines.append(f"Gate on {verdict['metric']}: {verdict['result']}" + _reasons(verdict))
    lines.append(f"Results: {uri}")
    if failures:
        word = EvaluationFailed.workflow_error
    elif verdict is not None:
        word = f"gate {verdict['result']}"
    else:
        word = "evaluated"
    subject = f"novaft: run {run.run_id} {word}"[:100]
    return subject, "\n".join(lines)


def _reasons(verdict: Mapping[str, Any]) -> str:
    if verdict.get("result") != GATE_FAILED:
        return ""
    return " (" + "; ".join(verdict.get("reasons", [])) + ")"


# --- novaft evaluate ------------------------------------------------------------------------------------------------


def later_evaluation_input(
    record: Mapping[str, Any], job_spec: dict[str, Any], *, tasks: list[str] | None, artifacts_bucket: str
) -> dict[str, Any]:
    """The execution input that evaluates an already completed run (the workflow's ``RouteStart``): its run context
    and validation outcome rebuilt from the run record and the pinned job spec, and the tasks asked for.

    ``EvaluationFailed`` when the run cannot be evaluated: not Completed, no checkpoint, or nothing to evaluate.
    """
    run_id = str(record.get("run_id"))
    if record.get("status") != STATUS_COMPLETED or not record.get("checkpoint_s3_uri"):
        raise EvaluationFailed(
            f"run {run_id} has status {record.get('status')!r} and checkpoint {record.get('checkpoint_s3_uri')!r}; "
            f"only a {STATUS_COMPLETED} run with a recorded checkpoint can be evaluated"
        )
    spec = job_spec_from_document(job_spec)
    chosen = tasks if tasks is not None else list(spec.evaluation.tasks)
    if not chosen:
        raise EvaluationFailed(f"run {run_id}'s job spec asks for no evaluation: name the tasks (--tasks gen_qa,mmlu)")
    # The tasks are checked as job.yaml's would be (the model has them; gen_qa needs the pinned eval set).
    try:
        JobSpec.model_validate({**job_spec, "evaluation": {**job_spec.get("evaluation", {}), "tasks": chosen}})
    except JobSpecError as error:
        raise EvaluationFailed(str(error)) from None
    inputs = dict(record.get("inputs") or {})
    if GEN_QA in chosen and not inputs.get("eval_s3_uri"):
        raise EvaluationFailed(f"run {run_id} has no pinned {EVAL_DATA_FILE}, which gen_qa evaluates")
    prefix = str(record.get("artifacts_prefix", "")).removeprefix(f"s3://{artifacts_bucket}/")
    run = RunContext(
        run_id=run_id,
        run_name=str(record.get("run_name")),
        attempt=int(record.get("attempt") or 0),
        dataset=DatasetLocation.model_validate(record.get("dataset")),
        artifacts_bucket=artifacts_bucket,
        artifacts_prefix=prefix,
        training_job_name=str(record.get("training_job_name")),
    )
    validation = ValidationOutcome(
        valid=True,
        records=int(record.get("records") or 0),
        report_s3_uri=str(record.get("report_s3_uri") or ""),
        inputs=RunInputs.model_validate(inputs),
        job_spec=job_spec,
    )
    return {
        "evaluate_later": {
            "run": run.model_dump(mode="json"),
            "validation": validation.model_dump(mode="json"),
            "tasks": chosen,
        }
    }


def with_evaluation(request: PolicyRequest, estimate: EvaluationEstimate) -> PolicyRequest:
    """The run's policy request counting its evaluation jobs: their ceiling in the cost ceiling, their estimate in the
    estimated cost. Without a price for the evaluation instance the jobs add nothing the policy could check."""
    if estimate.jobs == 0 or estimate.ceiling_usd is None:
        return request
    cost = request.estimated_cost_usd
    if cost is not None and estimate.estimated_cost_usd is not None:
        cost = round(cost + estimate.estimated_cost_usd, 2)
    return replace(request, evaluation_ceiling_usd=estimate.ceiling_usd, estimated_cost_usd=cost)
