from __future__ import annotations

from typing import Any

import pytest

from novaft.pipeline.contracts import StartTrainingInput
from novaft.pipeline.errors import RunNotFound, TrainingJobConflict
from novaft.pipeline.facts import RUN_ID_TAG, STAGE_TAG, STATUS_POLICY_VIOLATION, STATUS_TRAINING, STATUS_VALIDATING
from novaft.pipeline.steps.start import start_training
from novaft.policy import PolicyViolation, StagePolicy
from tests.unit.pipeline.fakes import DATASETS_BUCKET, NOW, FakeRunStore, FakeTrainingJobs, run_context, settings

RUN = run_context()
KMS_KEY = "arn:aws:kms:us-west-2:123456789012:key/data"
SETTINGS = settings(kms_key_arn=KMS_KEY)
TRAIN_URI = f"s3://{DATASETS_BUCKET}/{RUN.dataset.train_key}"


def _channels(train_uri: str) -> list[dict[str, Any]]:
    return [{"ChannelName": "train", "DataSource": {"S3DataSource": {"S3Uri": train_uri}}}]


def _request() -> dict[str, Any]:
    """The parts of a CreateTrainingJob request RenderRecipe builds that the policy reads."""
    return {
        "TrainingJobName": RUN.training_job_name,
        "InputDataConfig": _channels(TRAIN_URI),
        "ResourceConfig": {"InstanceType": "ml.p5.48xlarge", "InstanceCount": 2, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        "OutputDataConfig": {"S3OutputPath": "s3://artifacts/runs/x/output/", "KmsKeyId": KMS_KEY},
        "EnableInterContainerTrafficEncryption": True,
        "Tags": [{"Key": RUN_ID_TAG, "Value": RUN.run_id}, {"Key": STAGE_TAG, "Value": "dev"}],
    }


def _payload(request: dict[str, Any] | None = None) -> StartTrainingInput:
    return StartTrainingInput(run=RUN, request=request or _request())


def _runs() -> FakeRunStore:
    return FakeRunStore({RUN.run_id: {"run_id": RUN.run_id, "status": STATUS_VALIDATING}})


def test_the_job_is_created_and_the_run_records_it() -> None:
    jobs, runs = FakeTrainingJobs(), _runs()
    started = start_training(_payload(), settings=SETTINGS, jobs=jobs, runs=runs, now=NOW)
    assert not started.already_started and started.training_job_name == RUN.training_job_name
    assert [request["TrainingJobName"] for request in jobs.created] == [RUN.training_job_name]
    assert runs.items[RUN.run_id] == {
        "run_id": RUN.run_id,
        "status": STATUS_TRAINING,
        "training_job_name": RUN.training_job_name,
        "training_job_arn": started.training_job_arn,
        "updated_at": NOW,
    }


def test_a_retry_finds_its_own_job_already_started() -> None:
    jobs, runs = FakeTrainingJobs(), _runs()
    first = start_training(_payload(), settings=SETTINGS, jobs=jobs, runs=runs, now=NOW)
    again = start_training(_payload(), settings=SETTINGS, jobs=jobs, runs=runs, now="2026-01-02T03:06:00Z")
    assert again.already_started and again.training_job_arn == first.training_job_arn
    assert len(jobs.created) == 1
    assert runs.items[RUN.run_id]["status"] == STATUS_TRAINING


def test_an_untagged_job_reading_the_same_training_file_is_ours() -> None:
    jobs = FakeTrainingJobs()
    jobs.add(RUN.training_job_name, status="InProgress", InputDataConfig=_channels(TRAIN_URI))
    assert start_training(_payload(), settings=SETTINGS, jobs=jobs, runs=_runs(), now=NOW).already_started


@pytest.mark.parametrize(
    ("tags", "train_uri"),
    [
        ({RUN_ID_TAG: "someone-else"}, TRAIN_URI),  # the tag decides even when the data matches
        ({}, f"s3://{DATASETS_BUCKET}/incoming/other/train.jsonl"),
    ],
)
def test_a_job_of_another_run_under_the_same_name_is_a_conflict(tags: dict[str, str], train_uri: str) -> None:
    jobs, runs = FakeTrainingJobs(), _runs()
    jobs.add(RUN.training_job_name, status="InProgress", tags=tags, InputDataConfig=_channels(train_uri))
    with pytest.raises(TrainingJobConflict) as raised:
        start_training(_payload(), settings=SETTINGS, jobs=jobs, runs=runs, now=NOW)
    assert RUN.training_job_name in str(raised.value) and RUN.run_id in str(raised.value)
    assert runs.items[RUN.run_id]["status"] == STATUS_VALIDATING


def test_an_unregistered_run_is_named() -> None:
    with pytest.raises(RunNotFound):
        start_training(_payload(), settings=SETTINGS, jobs=FakeTrainingJobs(), runs=FakeRunStore(), now=NOW)


def _changed(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    request = _request()
    target = request
    for part in path[:-1]:
        target = target[part]
    if value is None:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return request


@pytest.mark.parametrize(
    ("path", "value", "rule", "given"),
    [
        (("ResourceConfig", "InstanceCount"), 8, "max_instance_count", "8 x ml.p5.48xlarge"),
        (("ResourceConfig", "InstanceType"), "ml.p4de.24xlarge", "allowed_instance_types", "'ml.p4de.24xlarge'"),
        (("StoppingCondition", "MaxRuntimeInSeconds"), 90000, "max_runtime_hours", "MaxRuntimeInSeconds 90000"),
        (("OutputDataConfig", "KmsKeyId"), None, "stage settings", "None"),
        (("OutputDataConfig", "KmsKeyId"), "alias/other", "stage settings", "'alias/other'"),
        (("ResourceConfig", "VolumeKmsKeyId"), "alias/other", "stage settings", "'alias/other'"),
        (("VpcConfig",), {"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]}, "stage settings", "('subnet-1',)"),
        (("EnableNetworkIsolation",), True, "require_network_isolation", "True"),
        (("EnableInterContainerTrafficEncryption",), None, "stage settings", "None"),
        (("Tags",), [{"Key": "team", "Value": "a"}], "allowed_tag_keys", "'team'"),
    ],
)
def test_a_request_outside_the_policy_or_the_stage_settings_starts_nothing_and_is_recorded(
    path: tuple[str, ...], value: Any, rule: str, given: str
) -> None:
    jobs, runs = FakeTrainingJobs(), _runs()
    with pytest.raises(PolicyViolation) as raised:
        start_training(_payload(_changed(path, value)), settings=SETTINGS, jobs=jobs, runs=runs, now=NOW)
    finding = raised.value.findings[0]
    assert (finding.rule, finding.value) == (rule, given)
    assert jobs.created == []
    item = runs.items[RUN.run_id]
    assert item["status"] == STATUS_POLICY_VIOLATION
    assert item["failure_error"] == "PolicyViolation"
    assert item["policy_findings"][0]["rule"] == rule


def test_the_stage_that_requires_network_isolation_refuses_a_request_without_it() -> None:
    isolated = settings(kms_key_arn=KMS_KEY, policy=StagePolicy(require_network_isolation=True))
    jobs = FakeTrainingJobs()
    with pytest.raises(PolicyViolation, match="require_network_isolation"):
        start_training(_payload(), settings=isolated, jobs=jobs, runs=_runs(), now=NOW)
    request = {**_request(), "EnableNetworkIsolation": True}
    assert not start_training(_payload(request), settings=isolated, jobs=jobs, runs=_runs(), now=NOW).already_started
