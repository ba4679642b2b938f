"""DeployModel and RecordDeployment against in-memory Bedrock: import once, reuse on a rerun, deploy when Active,
record a failure with Bedrock's reason, skip what is not asked for or held back by the evaluation gate."""

from __future__ import annotations

import dataclasses
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from novaft.pipeline.contracts import DeploymentProgress, DeployModelInput, RecordDeploymentInput
from novaft.pipeline.deployment import ModelNameTaken, resource_name
from novaft.pipeline.facts import (
    CHECKPOINT_TAG,
    DEPLOY_ON_DEMAND,
    DEPLOY_PROVISIONED,
    DEPLOYMENT_ACTIVE,
    DEPLOYMENT_FAILED,
    RUN_ID_TAG,
    RUN_JSON_FILE,
    SMOKE_ANSWER_MAX_CHARS,
    STATUS_COMPLETED,
)
from novaft.pipeline.steps.deploy import BedrockResource, ModelImport, deploy_run, record_run_deployment
from tests.unit.pipeline.fakes import (
    ARTIFACTS_BUCKET,
    NOW,
    FakeObjectStore,
    FakeRunStore,
    run_context,
    settings,
    valid_sft,
)

CHECKPOINT = "s3://customer-escrow-123456789012-smtj-abc/novaft-demo/step-1"
BEDROCK_ROLE = "arn:aws:iam::123456789012:role/novaft-dev-bedrock"
_ids = itertools.count()


@dataclass
class FakeModelHost:
    """Bedrock in memory: every resource is Creating for ``checks_until_ready`` reads, then ready or failed."""

    checks_until_ready: int = 1
    import_failure: str | None = None
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def _new(self, kind: str, **details: Any) -> str:
        arn = f"arn:aws:bedrock:us-west-2:123456789012:{kind}/{next(_ids):012d}"
        self.resources[arn] = {"checks": 0, **details}
        return arn

    def _status(self, arn: str, ready: str) -> BedrockResource:
        resource = self.resources[arn]
        resource["checks"] += 1
        if resource["checks"] <= self.checks_until_ready:
            return BedrockResource(arn, "Creating")
        if resource.get("failure"):
            return BedrockResource(arn, "Failed", failure_message=resource["failure"])
        return BedrockResource(arn, ready, model_arn=resource.get("model_arn"))

    def find_model(self, name: str) -> BedrockResource | None:
        self.calls.append("find_model")
        for arn, resource in self.resources.items():
            if resource.get("name") == name and ":custom-model/" in arn:
                return BedrockResource(arn, "Active", tags=resource["tags"])
        return None

    def import_model(self, request: ModelImport) -> str:
        self.calls.append("import_model")
        return self._new("custom-model/imported", failure=self.import_failure, **dataclasses.asdict(request))

    def model(self, model_arn: str) -> BedrockResource:
        return self._status(model_arn, "Active")

    def deploy_on_demand(self, *, name: str, model_arn: str, tags: dict[str, str], token: str) -> str:
        self.calls.append("deploy_on_demand")
        return self._new("custom-model-deployment", name=name, model_arn=model_arn, tags=tags)

    def provision(self, *, name: str, model_arn: str, model_units: int, tags: dict[str, str], token: str) -> str:
        self.calls.append(f"provision {model_units}")
        return self._new("provisioned-model", name=name, model_arn=model_arn, tags=tags)

    def deployment(self, deployment_arn: str) -> BedrockResource:
        ready = "InService" if ":provisioned-model/" in deployment_arn else "Active"
        return self._status(deployment_arn, ready)

    def delete_deployment(self, deployment_arn: str) -> bool:
        return self.resources.pop(deployment_arn, None) is not None

    def delete_model(self, model_arn: str) -> bool:
        return self.resources.pop(model_arn, None) is not None


@dataclass
class FakeRuntime:
    answer: str = "Ready."
    prompts: list[tuple[str, str]] = field(default_factory=list)

    def converse(self, model_id: str, prompt: str, *, max_tokens: int) -> str:
        self.prompts.append((model_id, prompt))
        return self.answer


RUN = run_context()


def _state(deploy: dict[str, Any], **extra: Any) -> dict[str, Any]:
    job_spec = {"model": "micro", "method": "sft", "peft": "lora", "deploy": deploy}
    validation = {
        "valid": True,
        "records": 10,
        "report_s3_uri": "s3://artifacts/report.json",
        "inputs": {
            "train_s3_uri": f"s3://{ARTIFACTS_BUCKET}/{RUN.artifacts_prefix}input/train.jsonl",
            "job_spec_s3_uri": f"s3://{ARTIFACTS_BUCKET}/{RUN.artifacts_prefix}input/job.json",
        },
        "job_spec": job_spec,
    }
    return {"run": RUN.model_dump(), "validation": validation, **extra}


def _runs(status: str = STATUS_COMPLETED, checkpoint: str | None = CHECKPOINT) -> FakeRunStore:
    item: dict[str, Any] = {"run_id": RUN.run_id, "status": status}
    if checkpoint:
        item["checkpoint_s3_uri"] = checkpoint
    return FakeRunStore(items={RUN.run_id: item})


def _deploy_until_done(state: dict[str, Any], host: FakeModelHost, runs: FakeRunStore) -> DeploymentProgress:
    progress = None
    for _ in range(10):
        payload = DeployModelInput.model_validate({**state, "deployment": progress and progress.model_dump()})
        progress = deploy_run(payload, settings=settings(bedrock_role_arn=BEDROCK_ROLE), host=host, runs=runs, now=NOW)
        if progress.finished:
            return progress
    raise AssertionError(f"not finished: {progress}")


def test_on_demand_imports_then_deploys_and_records_each_phase() -> None:
    host, runs = FakeModelHost(), _runs()
    progress = _deploy_until_done(_state({"target": DEPLOY_ON_DEMAND}), host, runs)
    assert progress.phase == "active"
    assert host.calls == ["find_model", "import_model", "deploy_on_demand"]
    model = host.resources[str(progress.model_arn)]
    assert model["name"] == resource_name(RUN.run_id)
    assert model["tags"][RUN_ID_TAG] == RUN.run_id and model["tags"][CHECKPOINT_TAG] == CHECKPOINT
    assert model["role_arn"] == BEDROCK_ROLE
    recorded = [fields["deployment"]["status"] for _, fields in runs.updates]
    assert recorded == ["Importing", "Deploying", DEPLOYMENT_ACTIVE]
    assert runs.items[RUN.run_id]["deployment"]["deployment_arn"] == progress.deployment_arn


def test_a_second_deployment_of_the_run_reuses_the_imported_model() -> None:
    host, runs = FakeModelHost(), _runs()
    first = _deploy_until_done(_state({"target": DEPLOY_ON_DEMAND}), host, runs)
    host.delete_deployment(str(first.deployment_arn))
    second = _deploy_until_done(_state({"target": DEPLOY_ON_DEMAND}), host, runs)
    assert second.model_arn == first.model_arn and second.model_reused
    assert host.calls.count("import_model") == 1


def test_a_model_of_the_same_name_from_another_checkpoint_is_not_reused() -> None:
    host = FakeModelHost()
    host._new("custom-model/imported", name=resource_name(RUN.run_id), tags={RUN_ID_TAG: RUN.run_id})
    with pytest.raises(ModelNameTaken, match="not imported from run"):
        _deploy_until_done(_state({"target": DEPLOY_ON_DEMAND}), host, _runs())


def test_provisioned_throughput_buys_the_model_units_asked_for() -> None:
    host = FakeModelHost()
    progress = _deploy_until_done(_state({"target": DEPLOY_PROVISIONED, "model_units": 2}), host, _runs())
    assert progress.phase == "active" and "provision 2" in host.calls


def test_an_import_failure_carries_bedrocks_reason_and_deploys_nothing() -> None:
    host = FakeModelHost(import_failure="The checkpoint is not a Nova checkpoint")
    runs = _runs()
    progress = _deploy_until_done(_state({"target": DEPLOY_ON_DEMAND}), host, runs)
    assert progress.phase == "failed"
    assert progress.reason == "the model import failed: The checkpoint is not a Nova checkpoint"
    assert "deploy_on_demand" not in host.calls
    assert runs.items[RUN.run_id]["deployment"]["status"] == DEPLOYMENT_FAILED


@pytest.mark.parametrize(
    ("deploy", "extra", "runs", "reason"),
    [
        ({"target": "none"}, {}, _runs(), "deploy.target: none"),
        (
            {"target": DEPLOY_ON_DEMAND},
            {"evaluation": {"gate": {"passed": False, "reason": "mmlu 0.4 < 0.5"}}},
            _runs(),
            "mmlu 0.4 < 0.5",
        ),
        ({"target": DEPLOY_ON_DEMAND}, {}, _runs(checkpoint=None), "recorded no checkpoint"),
    ],
)
def test_nothing_is_created_for_a_run_that_is_not_deployed(
    deploy: dict[str, Any], extra: dict[str, Any], runs: FakeRunStore, reason: str
) -> None:
    host = FakeModelHost()
    progress = _deploy_until_done(_state(deploy, **extra), host, runs)
    assert progress.phase == "skipped" and reason in str(progress.reason)
    assert "import_model" not in host.calls


def test_a_passed_gate_deploys() -> None:
    state = _state({"target": DEPLOY_ON_DEMAND}, evaluation={"gate": {"passed": True}})
    assert _deploy_until_done(state, FakeModelHost(), _runs()).phase == "active"


def test_record_smoke_tests_with_the_runs_first_prompt_and_truncates_the_answer() -> None:
    host, runs = FakeModelHost(), _runs()
    state = _state({"target": DEPLOY_ON_DEMAND})
    progress = _deploy_until_done(state, host, runs)
    objects = FakeObjectStore()
    objects.add(ARTIFACTS_BUCKET, f"{RUN.artifacts_prefix}input/train.jsonl", valid_sft(3))
    objects.put_json(ARTIFACTS_BUCKET, f"{RUN.artifacts_prefix}{RUN_JSON_FILE}", {"run_id": RUN.run_id})
    runtime = FakeRuntime(answer="x" * 2000)
    payload = RecordDeploymentInput.model_validate({**state, "deployment": progress.model_dump()})
    recorded = record_run_deployment(payload, settings=settings(), runtime=runtime, runs=runs, objects=objects, now=NOW)
    first_prompt = json.loads(valid_sft(3).splitlines()[0])["messages"][0]["content"][0]["text"]
    assert runtime.prompts == [(progress.deployment_arn, first_prompt)]
    assert recorded.answer is not None and len(recorded.answer) == SMOKE_ANSWER_MAX_CHARS
    run_json = objects.json(ARTIFACTS_BUCKET, f"{RUN.artifacts_prefix}{RUN_JSON_FILE}")
    assert run_json["run_id"] == RUN.run_id and run_json["deployment"]["smoke_answer"] == recorded.answer
    assert f"novaft invoke {RUN.run_id}" in recorded.message and str(progress.deployment_arn) in recorded.message


def test_record_of_a_failed_task_keeps_the_error_and_calls_nothing() -> None:
    runs, objects, runtime = _runs(), FakeObjectStore(), FakeRuntime()
    failure = {"Error": "BedrockRequestFailed", "Cause": json.dumps({"errorMessage": "Bedrock refused it"})}
    payload = RecordDeploymentInput.model_validate(
        {**_state({"target": DEPLOY_ON_DEMAND}), "deployment_failure": failure}
    )
    recorded = record_run_deployment(payload, settings=settings(), runtime=runtime, runs=runs, objects=objects, now=NOW)
    assert recorded.status == DEPLOYMENT_FAILED and runtime.prompts == []
    assert "BedrockRequestFailed: Bedrock refused it" in recorded.message
    assert runs.items[RUN.run_id]["deployment"]["reason"] == "BedrockRequestFailed: Bedrock refused it"
