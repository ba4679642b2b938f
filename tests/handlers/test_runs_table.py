"""The runs table adapter's attempt counter: atomic per run name, and never listed as a run."""

from __future__ import annotations

import boto3

from novaft.aws.runs_table import RunsTable
from novaft.pipeline.facts import RECORD_TYPE_RUN
from tests.handlers.conftest import REGION, RUNS_TABLE, Aws


def _table() -> RunsTable:
    return RunsTable(boto3.resource("dynamodb", region_name=REGION).Table(RUNS_TABLE))


def test_attempts_count_per_run_name(aws: Aws) -> None:
    table = _table()
    assert [table.next_attempt("demo") for _ in range(3)] == [1, 2, 3]
    assert table.next_attempt("other") == 1


def test_the_counter_is_not_a_run(aws: Aws) -> None:
    table = _table()
    aws.put_item({"run_id": "demo-1", "record_type": RECORD_TYPE_RUN, "created_at": "2026-01-01T00:00:00Z"})
    table.next_attempt("demo")
    assert [item["run_id"] for item in table.newest_first(page_size=10)] == ["demo-1"]
