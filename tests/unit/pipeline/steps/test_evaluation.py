"""Evaluation steps on in-memory fakes: the eval set check, the plan, starting a job, recording results and the gate."""

from __future__ import annotations

import json
from typing import Any

import pytest

from novaft.local.training import evaluation_archive, output_archive
from novaft.pipeline import contracts
from novaft.pipeline.errors import EvalDatasetInvalid, EvaluationFailed
from novaft.pipeline.facts import (
    EVAL_DATA_FILE,
    EVAL_DATA_FILES,
    EVAL_SIDE_BASE,
    EVAL_SIDE_FINE_TUNED,
    EVAL_SIDE_TAG,
    EVAL_TASK_TAG,
    EVALUATION_FILE,
    EVALUATION_STATUS_FIELD,
    GATE_FAILED,
    GATE_PASSED,
    JOB_FILE,
    RUN_ID_TAG,
    SNAPSHOT_DIR,
    STATUS_COMPLETED,
    STATUS_DATASET_INVALID,
    STATUS_FAILED,
    STATUS_REGISTERED,
)
from novaft.pipeline.manifest import output_archive_key
from novaft.pipeline.steps.evaluation import (
    EVALUATION_DIR,
    EVALUATION_JOBS_FIELD,
    estimate_evaluation,
    evaluation_job_name,
    plan_evaluation,
    record_evaluation,
    start_evaluation,
)
from novaft.pipeline.steps.validate import validate_run_dataset
from novaft.policy import PolicyViolation
from novaft.recipes import JobSpec, load_price_table
from tests.unit.pipeline.fakes import (
    ARTIFACTS_BUCKET,
    DATASETS_BUCKET,
    NOW,
    FakeObjectStore,
    FakeRunStore,
    FakeTrainingJobs,
    jsonl,
    pinned,
    run_context,
    settings,
    valid_sft,
)

EVAL_KEY = f"incoming/demo/{EVAL_DATA_FILE}"
JOB_KEY = f"incoming/demo/{JOB_FILE}"
GEN_QA_JOB = {
    "model": "micro",
    "method": "sft",
    "peft": "lora",
    "evaluation": {
        "tasks": ["gen_qa"],
        "compare_with_base": True,
        "gate": {"metric": "gen_qa.rougeL", "min": 0.3, "min_delta_vs_base": 0.01},
    },
}
PLAIN_JOB = {"model": "micro", "method": "sft", "peft": "lora"}
PINNED_INPUTS = {"train_s3_uri": "s3://a/t", "job_spec_s3_uri": "s3://a/j"}
CHECKPOINT = "s3://customer-escrow-123456789012-smtj-x/novaft-demo/step-1"


def _job_yaml(job: dict[str, Any]) -> str:
    return json.dumps(job)  # JSON is YAML


def _validating_stores(
    run: contracts.RunContext, eval_body: bytes | None, job: dict[str, Any]
) -> tuple[FakeObjectStore, FakeRunStore]:
    objects = FakeObjectStore()
    objects.add(DATASETS_BUCKET, run.dataset.train_key, valid_sft())
    objects.add(DATASETS_BUCKET, JOB_KEY, _job_yaml(job))
    if eval_body is not None:
        objects.add(DATASETS_BUCKET, EVAL_KEY, eval_body)
    return objects, FakeRunStore({run.run_id: {"run_id": run.run_id, "status": STATUS_REGISTERED}})


def _run(with_eval: bool = True) -> contracts.RunContext:
    return run_context(job=pinned(JOB_KEY), **({"eval_set": pinned(EVAL_KEY)} if with_eval else {}))


GOOD_EVAL = jsonl([{"query": "What is 2+2?", "response": "4"}, {"query": "Capital of France?", "response": "Paris"}])


def test_a_valid_eval_set_is_snapshotted_under_the_name_the_container_reads() -> None:
    run = _run()
    objects, runs = _validating_stores(run, GOOD_EVAL, GEN_QA_JOB)
    outcome = validate_run_dataset(run, settings=settings(), objects=objects, runs=runs, now=NOW)
    expected = f"s3://{ARTIFACTS_BUCKET}/{run.artifacts_prefix}{SNAPSHOT_DIR}/{EVAL_DATA_FILES['gen_qa']}"
    assert outcome.inputs.eval_s3_uri == expected
    assert outcome.job_spec["evaluation"]["tasks"] == ["gen_qa"]


def test_an_invalid_eval_set_stops_the_run_before_training_naming_the_line() -> None:
    run = _run()
    bad = jsonl([{"query": "What is 2+2?", "response": "4"}, {"query": "", "response": "Paris"}])
    objects, runs = _validating_stores(run, bad, GEN_QA_JOB)
    with pytest.raises(EvalDatasetInvalid, match=r"line 2") as info:
        validate_run_dataset(run, settings=settings(), objects=objects, runs=runs, now=NOW)
    assert EVAL_KEY in str(info.value)
    record = runs.items[run.run_id]
    assert record["status"] == STATUS_DATASET_INVALID
    assert record["failure_error"] == EvalDatasetInvalid.workflow_error
    assert not objects.copies  # nothing was snapshotted: nothing can train


def test_gen_qa_without_an_eval_set_names_the_file_to_upload() -> None:
    run = _run(with_eval=False)
    objects, runs = _validating_stores(run, None, GEN_QA_JOB)
    with pytest.raises(EvalDatasetInvalid, match=rf"s3://{DATASETS_BUCKET}/incoming/demo/{EVAL_DATA_FILE}"):
        validate_run_dataset(run, settings=settings(), objects=objects, runs=runs, now=NOW)


def _plan(
    run: contracts.RunContext, objects: FakeObjectStore, runs: FakeRunStore, job: dict[str, Any] = GEN_QA_JOB
) -> contracts.EvaluationPlan:
    """Plans without a price table, with the default stage settings."""
    return plan_evaluation(
        contracts.PlanEvaluationInput(run=run, validation=_validation(job)),
        prices=None,
        settings=settings(),
        objects=objects,
        runs=runs,
        now=NOW,
    )


def test_a_job_without_evaluation_plans_nothing() -> None:
    plan = _plan(_run(False), FakeObjectStore(), FakeRunStore(), job=PLAIN_JOB)
    assert plan.jobs == []


def _validation(
    job: dict[str, Any], eval_uri: str | None = "s3://artifacts/runs/x/input/gen_qa.jsonl"
) -> contracts.ValidationOutcome:
    return contracts.ValidationOutcome(
        valid=True,
        records=10,
        report_s3_uri="s3://artifacts/r.json",
        inputs=contracts.RunInputs(**PINNED_INPUTS, eval_s3_uri=eval_uri),
        job_spec=JobSpec.model_validate(job).model_dump(mode="json"),
    )


def _completed_runs(run: contracts.RunContext) -> FakeRunStore:
    return FakeRunStore({run.run_id: {"run_id": run.run_id, "status": STATUS_COMPLETED}})


def _completed_stores(run: contracts.RunContext) -> tuple[FakeObjectStore, FakeRunStore]:
    objects = FakeObjectStore()
    key = output_archive_key(f"{run.artifacts_prefix}output", run.training_job_name)
    objects.add(ARTIFACTS_BUCKET, key, output_archive("123456789012", run.training_job_name))
    return objects, _completed_runs(run)


def test_the_plan_evaluates_the_checkpoint_and_the_base_model_with_the_eval_set() -> None:
    run = _run()
    objects, runs = _completed_stores(run)
    plan = _plan(run, objects, runs)
    assert [(job.task, job.side) for job in plan.jobs] == [("gen_qa", EVAL_SIDE_FINE_TUNED), ("gen_qa", EVAL_SIDE_BASE)]
    fine_tuned, base = (job.request for job in plan.jobs)
    assert fine_tuned["HyperParameters"]["base_model_location"].startswith("s3://customer-escrow-123456789012")
    assert "base_model_location" not in base["HyperParameters"]
    channels = {channel["ChannelName"]: channel for channel in fine_tuned["InputDataConfig"]}
    assert channels["train"]["DataSource"]["S3DataSource"]["S3Uri"].endswith("gen_qa.jsonl")
    tags = {tag["Key"]: tag["Value"] for tag in fine_tuned["Tags"]}
    assert tags[RUN_ID_TAG] == run.run_id and tags[EVAL_TASK_TAG] == "gen_qa"
    assert tags[EVAL_SIDE_TAG] == EVAL_SIDE_FINE_TUNED
    assert (
        fine_tuned["OutputDataConfig"]["S3OutputPath"]
        == f"s3://{ARTIFACTS_BUCKET}/{run.artifacts_prefix}{EVALUATION_DIR}output/"
    )
    assert all(len(job.job_name) <= 63 for job in plan.jobs)
    assert len({job.job_name for job in plan.jobs}) == 2
    assert runs.items[run.run_id]["evaluation_estimate"]["jobs"] == 2
    # The stop rule stops the jobs the record names (test_stop.py).
    assert runs.items[run.run_id][EVALUATION_JOBS_FIELD] == [job.job_name for job in plan.jobs]


def test_a_run_that_did_not_complete_is_not_evaluated() -> None:
    run = _run()
    objects, runs = _completed_stores(run)
    runs.items[run.run_id]["status"] = STATUS_FAILED
    with pytest.raises(EvaluationFailed, match="only a Completed run"):
        _plan(run, objects, runs)


def test_job_names_differ_per_round_task_and_side() -> None:
    names = {
        evaluation_job_name("novaft-demo-0123456789ab", round_id, task, side)
        for round_id in ("1", "2")
        for task in ("gen_qa", "mmlu")
        for side in (EVAL_SIDE_FINE_TUNED, EVAL_SIDE_BASE)
    }
    assert len(names) == 8
    assert len(evaluation_job_name("novaft-" + "x" * 80, "1", "mmlu", EVAL_SIDE_BASE)) == 63
    assert all(name.startswith("novaft-demo-0123456789ab-") for name in names)


def test_the_estimate_counts_every_job_and_its_ceiling() -> None:
    spec = JobSpec.model_validate(
        {**GEN_QA_JOB, "evaluation": {"tasks": ["gen_qa", "mmlu"], "compare_with_base": True}}
    )
    estimate = estimate_evaluation(spec, load_price_table(), region="us-east-1")
    assert estimate.jobs == 4
    assert estimate.price_per_instance_hour is not None
    assert estimate.ceiling_usd is not None and estimate.estimated_cost_usd is not None
    assert estimate.ceiling_usd > estimate.estimated_cost_usd > 0


def _planned_job(run: contracts.RunContext) -> contracts.EvaluationJob:
    objects, runs = _completed_stores(run)
    plan = _plan(run, objects, runs)
    return plan.jobs[0]


def test_start_creates_the_job_once() -> None:
    run = _run()
    job = _planned_job(run)
    jobs = FakeTrainingJobs()
    first = start_evaluation(contracts.StartEvaluationInput(run=run, job=job), settings=settings(), jobs=jobs)
    again = start_evaluation(contracts.StartEvaluationInput(run=run, job=job), settings=settings(), jobs=jobs)
    assert first == again and len(jobs.created) == 1


def test_start_refuses_a_request_outside_the_stage_settings() -> None:
    run = _run()
    job = _planned_job(run)
    changed = job.model_copy(update={"request": {**job.request, "OutputDataConfig": {"S3OutputPath": "s3://x/"}}})
    with pytest.raises(PolicyViolation):
        start_evaluation(
            contracts.StartEvaluationInput(run=run, job=changed),
            settings=settings(kms_key_arn="arn:aws:kms:us-west-2:123456789012:key/data"),
            jobs=FakeTrainingJobs(),
        )


def _results_stores(run: contracts.RunContext, names: dict[str, str]) -> FakeObjectStore:
    objects = FakeObjectStore()
    for side, job_name in names.items():
        key = output_archive_key(f"{run.artifacts_prefix}{EVALUATION_DIR}output", job_name)
        objects.add(ARTIFACTS_BUCKET, key, evaluation_archive(job_name, task="gen_qa", base=side == EVAL_SIDE_BASE))
    return objects


BOTH_SIDES = {EVAL_SIDE_FINE_TUNED: "demo-ft", EVAL_SIDE_BASE: "demo-base"}


def _completed_results(names: dict[str, str]) -> list[contracts.EvaluationJobResult]:
    return [
        contracts.EvaluationJobResult(task="gen_qa", side=side, job_name=name, status=STATUS_COMPLETED)
        for side, name in names.items()
    ]


def _record(
    run: contracts.RunContext,
    results: list[contracts.EvaluationJobResult],
    objects: FakeObjectStore,
    jobs: FakeTrainingJobs,
    job: dict[str, Any] = GEN_QA_JOB,
) -> tuple[dict[str, Any], FakeRunStore]:
    runs = _completed_runs(run)
    outcome = record_evaluation(
        contracts.RecordEvaluationInput(run=run, validation=_validation(job), results=results),
        objects=objects,
        runs=runs,
        jobs=jobs,
        now=NOW,
    )
    return outcome, runs


def test_results_of_both_sides_and_the_gate_reach_evaluation_json_and_the_record() -> None:
    run = _run()
    results = _completed_results(BOTH_SIDES)
    outcome, runs = _record(run, results, _results_stores(run, BOTH_SIDES), FakeTrainingJobs())
    assert outcome["status"] == STATUS_COMPLETED and outcome["gate"]["passed"] is True
    record = runs.items[run.run_id]
    assert record["evaluation_gate"] == GATE_PASSED
    assert record["status"] == STATUS_COMPLETED
    row = record["evaluation"]["metrics"]["gen_qa.rougeL"]
    assert row["base"] < row["fine_tuned"] and row["delta"] > 0
    assert record["evaluation_s3_uri"] == f"s3://{ARTIFACTS_BUCKET}/{run.artifacts_prefix}{EVALUATION_FILE}"
    assert "gate passed" in outcome["subject"]
    assert "gen_qa.rougeL" in outcome["message"]


def test_a_failed_gate_is_recorded_and_the_run_stays_completed() -> None:
    run = _run()
    results = _completed_results(BOTH_SIDES)
    strict = {**GEN_QA_JOB, "evaluation": {**GEN_QA_JOB["evaluation"], "gate": {"metric": "rougeL", "min": 0.99}}}
    outcome, runs = _record(run, results, _results_stores(run, BOTH_SIDES), FakeTrainingJobs(), strict)
    assert outcome["gate"]["passed"] is False and outcome["status"] == STATUS_COMPLETED
    assert runs.items[run.run_id]["evaluation_gate"] == GATE_FAILED
    assert runs.items[run.run_id]["status"] == STATUS_COMPLETED
    assert "below the minimum 0.99" in outcome["message"]


def test_a_failed_evaluation_job_is_recorded_with_its_reason() -> None:
    run = _run()
    jobs = FakeTrainingJobs()
    jobs.add("demo-ft", status=STATUS_FAILED, FailureReason="ClientError: gen_qa.jsonl has no records")
    names = {EVAL_SIDE_BASE: "demo-base"}
    results = [
        contracts.EvaluationJobResult(
            task="gen_qa", side=EVAL_SIDE_FINE_TUNED, job_name="demo-ft", status=STATUS_FAILED
        ),
        contracts.EvaluationJobResult(
            task="gen_qa", side=EVAL_SIDE_BASE, job_name="demo-base", status=STATUS_COMPLETED
        ),
    ]
    outcome, runs = _record(run, results, _results_stores(run, names), jobs)
    assert outcome["failed"] is True and outcome["status"] == EvaluationFailed.workflow_error
    record = runs.items[run.run_id]
    assert "gen_qa.rougeL" not in record["evaluation"]["metrics"]
    assert "ClientError: gen_qa.jsonl has no records" in record["evaluation_failure"]
    assert "evaluation_gate" not in record
    assert record["status"] == STATUS_COMPLETED


def test_a_planning_failure_is_recorded_with_the_error_message() -> None:
    run = _run()
    runs = _completed_runs(run)
    cause = json.dumps({"errorType": "EvaluationFailed", "errorMessage": "run demo has status 'Failed'"})
    outcome = record_evaluation(
        contracts.RecordEvaluationInput.model_validate(
            {
                "run": run.model_dump(),
                "validation": _validation(GEN_QA_JOB).model_dump(),
                "failure": {"Error": "EvaluationFailed", "Cause": cause},
            }
        ),
        objects=FakeObjectStore(),
        runs=runs,
        jobs=FakeTrainingJobs(),
        now=NOW,
    )
    assert outcome["failed"] is True
    assert runs.items[run.run_id]["evaluation_failure"] == "run demo has status 'Failed'"


def test_the_policy_counts_the_evaluation_jobs_in_the_cost_ceiling() -> None:
    from novaft.pipeline.steps.evaluation import with_evaluation
    from novaft.policy import StagePolicy, cost_ceiling_usd, evaluate, policy_request_from
    from novaft.recipes import estimate_run

    prices = load_price_table()
    spec = JobSpec.model_validate(GEN_QA_JOB)
    training = policy_request_from(spec, estimate_run(spec, None, prices, region="us-east-1"))
    evaluation = estimate_evaluation(spec, prices, region="us-east-1")
    both = with_evaluation(training, evaluation)
    training_ceiling = cost_ceiling_usd(training)
    assert training_ceiling is not None and evaluation.ceiling_usd is not None
    assert cost_ceiling_usd(both) == pytest.approx(training_ceiling + evaluation.ceiling_usd)
    # A cap between the training ceiling and training plus evaluation refuses only the evaluated run.
    cap = StagePolicy(max_run_usd=training_ceiling + evaluation.ceiling_usd / 2, approval_above_usd=None)
    assert evaluate(cap, training).allowed
    assert not evaluate(cap, both).allowed


def test_the_stage_default_evaluation_applies_only_where_the_job_sets_none() -> None:
    from novaft.pipeline.job_spec_source import job_spec_from

    default = {"tasks": ["mmlu"]}
    plain = b"model: micro\nmethod: sft\npeft: lora\n"
    own = plain + b"evaluation: {tasks: [gen_qa]}\n"
    assert job_spec_from(plain, source="s", default_job=None, default_evaluation=default).evaluation.tasks == ["mmlu"]
    assert job_spec_from(own, source="s", default_job=None, default_evaluation=default).evaluation.tasks == ["gen_qa"]
    from_profile = job_spec_from(None, source="s", default_job=GEN_QA_JOB, default_evaluation=default)
    assert from_profile.evaluation.tasks == ["gen_qa"]


def test_run_json_and_the_report_page_get_the_evaluation() -> None:
    from novaft.pipeline.facts import REPORT_HTML_FILE, RUN_JSON_FILE

    run = _run()
    results = _completed_results(BOTH_SIDES)
    objects = _results_stores(run, BOTH_SIDES)
    objects.put_json(ARTIFACTS_BUCKET, f"{run.artifacts_prefix}{RUN_JSON_FILE}", {"run_id": run.run_id})
    _record(run, results, objects, FakeTrainingJobs())
    document = objects.json(ARTIFACTS_BUCKET, f"{run.artifacts_prefix}{RUN_JSON_FILE}")
    assert document["evaluation_gate"] == GATE_PASSED
    page = objects.text(ARTIFACTS_BUCKET, f"{run.artifacts_prefix}{REPORT_HTML_FILE}")
    assert "Evaluation" in page and "gen_qa.rougeL" in page


def _completed_record(**fields: Any) -> dict[str, Any]:
    run = _run()
    return {
        "run_id": run.run_id,
        "run_name": run.run_name,
        "attempt": 1,
        "status": STATUS_COMPLETED,
        "checkpoint_s3_uri": CHECKPOINT,
        "dataset": run.dataset.model_dump(),
        "training_job_name": run.training_job_name,
        "artifacts_prefix": f"s3://{ARTIFACTS_BUCKET}/{run.artifacts_prefix}",
        "inputs": {**PINNED_INPUTS, "eval_s3_uri": "s3://a/gen_qa.jsonl"},
        **fields,
    }


def test_a_later_evaluation_rebuilds_the_run_and_takes_the_tasks_asked_for() -> None:
    from novaft.pipeline.steps.evaluation import later_evaluation_input

    job = JobSpec.model_validate(PLAIN_JOB).model_dump(mode="json")
    document = later_evaluation_input(_completed_record(), job, tasks=["mmlu"], artifacts_bucket=ARTIFACTS_BUCKET)
    later = document["evaluate_later"]
    assert later["tasks"] == ["mmlu"]
    assert contracts.RunContext.model_validate(later["run"]).artifacts_prefix == _run().artifacts_prefix
    assert contracts.ValidationOutcome.model_validate(later["validation"]).inputs.eval_s3_uri == "s3://a/gen_qa.jsonl"


@pytest.mark.parametrize(
    ("record", "tasks", "message"),
    [
        ({"status": STATUS_FAILED}, ["mmlu"], "only a Completed run with a recorded checkpoint"),
        ({}, None, "asks for no evaluation"),
        ({}, ["mmmu"], "micro has no such evaluation"),
        ({"inputs": PINNED_INPUTS}, ["gen_qa"], "no pinned eval.jsonl"),
    ],
)
def test_a_later_evaluation_is_refused_with_the_reason(
    record: dict[str, Any], tasks: list[str] | None, message: str
) -> None:
    from novaft.pipeline.steps.evaluation import later_evaluation_input

    job = JobSpec.model_validate(PLAIN_JOB).model_dump(mode="json")
    with pytest.raises(EvaluationFailed, match=message):
        later_evaluation_input(_completed_record(**record), job, tasks=tasks, artifacts_bucket=ARTIFACTS_BUCKET)


def test_a_later_evaluation_is_judged_by_the_stage_policy_on_its_own_cost() -> None:
    from novaft.policy import StagePolicy

    run = _run()
    objects, runs = _completed_stores(run)
    strict = settings(region="us-east-1", policy=StagePolicy(max_run_usd=100, approval_above_usd=None))
    payload = contracts.PlanEvaluationInput(
        run=run, validation=_validation(GEN_QA_JOB), tasks=["gen_qa"], round="later"
    )
    with pytest.raises(PolicyViolation, match="max_run_usd"):
        plan_evaluation(payload, prices=load_price_table(), settings=strict, objects=objects, runs=runs, now=NOW)
    assert runs.items[run.run_id]["evaluation_policy"]["allowed"] is False
    assert EVALUATION_STATUS_FIELD not in runs.items[run.run_id]
