"""The ports are the interface between the steps and AWS: the boto3 adapters and the test fakes must both fit them,
or a step tested against the fakes would call something the adapters do not offer."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from novaft.aws.notifications import SnsNotifier
from novaft.aws.runs_table import RunsTable
from novaft.aws.s3_objects import S3Objects
from novaft.aws.sagemaker_jobs import SageMakerTrainingJobs
from novaft.pipeline.steps.ports import JobNameTaken, Notifier, ObjectStore, RunStore, TrainingJobs
from tests.unit.pipeline.fakes import FakeNotifier, FakeObjectStore, FakeRunStore, FakeTrainingJobs

PORTS: list[tuple[Any, list[type]]] = [
    (ObjectStore, [S3Objects, FakeObjectStore]),
    (RunStore, [RunsTable, FakeRunStore]),
    (TrainingJobs, [SageMakerTrainingJobs, FakeTrainingJobs]),
    (Notifier, [SnsNotifier, FakeNotifier]),
]


def _port_methods(port: Any) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in vars(port).items()
        if inspect.isfunction(member) and not name.startswith("_")
    }


def _parameters(signature: inspect.Signature) -> list[tuple[str, Any, bool]]:
    return [(p.name, p.kind, p.default is inspect.Parameter.empty) for p in signature.parameters.values()]


@pytest.mark.parametrize(
    ("port", "implementation"),
    [(port, implementation) for port, implementations in PORTS for implementation in implementations],
    ids=lambda value: getattr(value, "__name__", str(value)),
)
def test_implementation_offers_every_port_method_with_its_parameters(port: Any, implementation: type) -> None:
    for name, signature in _port_methods(port).items():
        offered = getattr(implementation, name, None)
        assert offered is not None, f"{implementation.__name__} lacks {port.__name__}.{name}"
        # Extra optional parameters are allowed; the port's own must be there, in order, with the same defaults.
        wanted = _parameters(signature)
        assert _parameters(inspect.signature(offered))[: len(wanted)] == wanted, f"{implementation.__name__}.{name}"


def test_every_port_has_methods() -> None:
    assert all(_port_methods(port) for port, _ in PORTS)


def test_a_taken_job_name_carries_the_name() -> None:
    error = JobNameTaken("novaft-demo-0123456789ab")
    assert error.job_name == "novaft-demo-0123456789ab" and str(error) == "novaft-demo-0123456789ab"
