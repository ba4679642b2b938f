"""Shipping the model on the local emulated AWS (Bedrock simulated): a LoRA run is imported, deployed, answers
`novaft invoke` and is removed by `novaft undeploy`; deploying it again reuses the imported model; an import failure
is recorded with its reason and notified; a full-rank run asking for on-demand is refused before it trains."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from novaft.local.bedrock import SIMULATED_ANSWER
from novaft.pipeline import facts
from tests.e2e.conftest import SAMPLES, STAGE, CliResult, DeployedPipeline

pytestmark = pytest.mark.e2e

SFT = (SAMPLES / "sft-valid.jsonl").read_bytes()
ON_DEMAND_JOB = b"model: micro\nmethod: sft\npeft: lora\ndeploy:\n  target: bedrock-on-demand\n"


def _drop_run(pipeline: DeployedPipeline, name: str, job: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    pipeline.drop(f"incoming/{name}/job.yaml", job)
    pipeline.drop(f"incoming/{name}/train.jsonl", SFT)
    (execution,) = pipeline.executions(f"incoming/{name}/train.jsonl")
    description = pipeline.finished(execution, timeout_seconds=60)
    return description, pipeline.run_for(execution)


def _models_of(pipeline: DeployedPipeline, run_id: str) -> list[str]:
    return [
        resource.arn
        for resource in pipeline.simulator.bedrock.resources.values()
        if resource.kind == "model" and resource.tags.get("novaft:run-id") == run_id
    ]


def test_a_lora_run_is_imported_deployed_invoked_undeployed_and_redeployed_with_the_same_model(
    pipeline: DeployedPipeline, novaft: Callable[..., CliResult]
) -> None:
    description, run = _drop_run(pipeline, "ship-it", ON_DEMAND_JOB)

    assert description["status"] == "SUCCEEDED", description.get("cause") or description.get("error")
    deployment = run["deployment"]
    assert deployment["status"] == facts.DEPLOYMENT_ACTIVE and deployment["target"] == "bedrock-on-demand"
    assert ":custom-model/imported/" in deployment["model_arn"]
    assert ":custom-model-deployment/" in deployment["deployment_arn"]
    assert deployment["started_at"] <= deployment["model_active_at"] <= deployment["active_at"]
    assert "SIMULATED" in deployment["smoke_answer"]
    run_json = pipeline.artifact_json(f"runs/{run['run_id']}/{facts.RUN_JSON_FILE}")
    assert run_json["deployment"]["deployment_arn"] == deployment["deployment_arn"]
    assert run_json["status"] == "Completed"

    listed = novaft("runs", *STAGE)
    assert listed.code == facts.ExitCode.OK
    assert f"{run['run_id']}: bedrock-on-demand {deployment['deployment_arn']}" in listed.out

    answered = novaft("invoke", run["run_id"], "What is 2 + 2?", *STAGE)
    assert answered.code == facts.ExitCode.OK, answered.err
    assert answered.out.strip() == SIMULATED_ANSWER.format(prompt="What is 2 + 2?")

    removed = novaft("undeploy", run["run_id"], *STAGE)
    assert removed.code == facts.ExitCode.OK, removed.err
    assert pipeline.run_for(run["execution_arn"])["deployment"]["status"] == facts.DEPLOYMENT_DELETED
    assert not pipeline.simulator.bedrock.owns(deployment["deployment_arn"])
    assert novaft("invoke", run["run_id"], "again?", *STAGE).code == facts.ExitCode.USAGE
    assert "may bill until removed" not in novaft("runs", *STAGE).out

    redeployed = novaft("deploy", run["run_id"], "--interval", "0.1", *STAGE)
    assert redeployed.code == facts.ExitCode.OK, redeployed.err
    again = pipeline.run_for(run["execution_arn"])["deployment"]
    assert again["status"] == facts.DEPLOYMENT_ACTIVE and again["model_reused"] is True
    assert again["model_arn"] == deployment["model_arn"]
    assert again["deployment_arn"] != deployment["deployment_arn"]
    assert _models_of(pipeline, run["run_id"]) == [deployment["model_arn"]]
    assert novaft("undeploy", run["run_id"], "--delete-model", *STAGE).code == facts.ExitCode.OK
    assert not pipeline.simulator.bedrock.owns(deployment["model_arn"])


def test_an_import_failure_is_recorded_with_its_reason_and_notified(pipeline: DeployedPipeline) -> None:
    pipeline.simulator.bedrock.fail_imports_from("import-fails", "the checkpoint is not a Nova checkpoint")

    description, run = _drop_run(pipeline, "import-fails", ON_DEMAND_JOB)

    assert description["status"] == "FAILED"
    assert description["error"] == "DeploymentFailed"
    # The cause is the notification RecordDeployment wrote, which NotifyDeploymentFailure sent before the end.
    assert "the checkpoint is not a Nova checkpoint" in description["cause"]
    assert run["status"] == "Completed"  # training succeeded; only the deployment failed
    assert run["deployment"]["status"] == facts.DEPLOYMENT_FAILED
    assert "the model import failed: the checkpoint is not a Nova checkpoint" in run["deployment"]["reason"]
    assert "deployment_arn" not in run["deployment"]


def test_a_full_rank_run_asking_for_on_demand_is_refused_before_it_trains(
    pipeline: DeployedPipeline, novaft: Callable[..., CliResult], tmp_path: Path
) -> None:
    job = b"model: micro\nmethod: sft\npeft: full\ndeploy:\n  target: bedrock-on-demand\n"

    description, run = _drop_run(pipeline, "full-on-demand", job)

    assert description["status"] == "FAILED"
    assert "on-demand deployment serves only LoRA" in json.dumps(run, default=str)
    assert pipeline.training_jobs_containing("full-on-demand") == []
    (tmp_path / "job.yaml").write_bytes(job)
    planned = novaft("plan", "--job", str(tmp_path / "job.yaml"), "--train", str(SAMPLES / "sft-valid.jsonl"))
    assert planned.code == facts.ExitCode.USAGE
    assert "deploy.target" in planned.err and "LoRA" in planned.err
