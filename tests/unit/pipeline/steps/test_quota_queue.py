"""StartTraining under SageMaker's account quota: the run shows as Queued while the workflow retries with backoff."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from novaft.pipeline.errors import SageMakerCapacityError
from novaft.pipeline.facts import STATUS_QUEUED, STATUS_TRAINING
from novaft.pipeline.steps.start import start_training
from tests.unit.pipeline.fakes import NOW, FakeTrainingJobs
from tests.unit.pipeline.steps.test_start import SETTINGS, _payload, _runs

QUOTA_MESSAGE = (
    "CreateTrainingJob novaft-demo: ResourceLimitExceeded: The account-level service limit "
    "'ml.p5.48xlarge for training job usage' is 0 Instances"
)


class QuotaFirst(FakeTrainingJobs):
    """Refuses the first ``refusals`` creates as SageMaker does when the account's instance quota is used up."""

    def __init__(self, refusals: int) -> None:
        super().__init__()
        self.refusals = refusals

    def create(self, request: Mapping[str, Any]) -> str:
        if self.refusals:
            self.refusals -= 1
            raise SageMakerCapacityError(QUOTA_MESSAGE)
        return super().create(request)


def test_a_quota_refusal_queues_the_run_and_the_retry_starts_it() -> None:
    jobs, runs = QuotaFirst(refusals=1), _runs()

    with pytest.raises(SageMakerCapacityError):
        start_training(_payload(), settings=SETTINGS, jobs=jobs, runs=runs, now=NOW)
    item = runs.items[_payload().run.run_id]
    assert item["status"] == STATUS_QUEUED and "ResourceLimitExceeded" in item["queue_reason"]
    assert jobs.created == []

    started = start_training(_payload(), settings=SETTINGS, jobs=jobs, runs=runs, now=NOW)

    assert not started.already_started
    assert runs.items[_payload().run.run_id]["status"] == STATUS_TRAINING
