from __future__ import annotations

from typing import Any

import pytest

from novaft.pipeline.contracts import StartTrainingInput
from novaft.pipeline.errors import RunNotFound, TrainingJobConflict
from novaft.pipeline.facts import RUN_ID_TAG, STATUS_TRAINING, STATUS_VALIDATING
from novaft.pipeline.steps.start import start_training
from tests.unit.pipeline.fakes import DATASETS_BUCKET, NOW, FakeRunStore, FakeTrainingJobs, run_context

RUN = run_context()
TRAIN_URI = f"s3://{DATASETS_BUCKET}/{RUN.dataset.train_key}"


def _channels(train_uri: str) -> list[dict[str, Any]]:
    return [{"ChannelName": "train", "DataSource": {"S3DataSource": {"S3Uri": train_uri}}}]


def _payload() -> StartTrainingInput:
    request: dict[str, Any] = {
        "TrainingJobName": RUN.training_job_name,
        "InputDataConfig": _channels(TRAIN_URI),
        "Tags": [{"Key": RUN_ID_TAG, "Value": RUN.run_id}],
    }
    return StartTrainingInput(run=RUN, request=request)


def _runs() -> FakeRunStore:
    return FakeRunStore({RUN.run_id: {"run_id": RUN.run_id, "status": STATUS_VALIDATING}})


def test_the_job_is_created_and_the_run_records_it() -> None:
    jobs, runs = FakeTrainingJobs(), _runs()
    started = start_training(_payload(), jobs=jobs, runs=runs, now=NOW)
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
    first = start_training(_payload(), jobs=jobs, runs=runs, now=NOW)
    again = start_training(_payload(), jobs=jobs, runs=runs, now="2026-01-02T03:06:00Z")
    assert again.already_started and again.training_job_arn == first.training_job_arn
    assert len(jobs.created) == 1
    assert runs.items[RUN.run_id]["status"] == STATUS_TRAINING


def test_an_untagged_job_reading_the_same_training_file_is_ours() -> None:
    jobs = FakeTrainingJobs()
    jobs.add(RUN.training_job_name, status="InProgress", InputDataConfig=_channels(TRAIN_URI))
    assert start_training(_payload(), jobs=jobs, runs=_runs(), now=NOW).already_started


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
        start_training(_payload(), jobs=jobs, runs=runs, now=NOW)
    assert RUN.training_job_name in str(raised.value) and RUN.run_id in str(raised.value)
    assert runs.items[RUN.run_id]["status"] == STATUS_VALIDATING


def test_an_unregistered_run_is_named() -> None:
    with pytest.raises(RunNotFound):
        start_training(_payload(), jobs=FakeTrainingJobs(), runs=FakeRunStore(), now=NOW)
