"""The runs table (docs/architecture.md, "Runs table"): one item per run, keyed by run_id."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

import orjson
from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from novaft.aws.errors import error_code
from novaft.pipeline.errors import RunNotFound
from novaft.pipeline.facts import (
    ATTEMPT_COUNTER_ATTRIBUTE,
    ATTEMPT_COUNTER_KEY_PREFIX,
    BY_CREATED_INDEX,
    BY_CREATED_INDEX_PARTITION_KEY,
    BY_EXECUTION_INDEX,
    BY_EXECUTION_INDEX_KEY,
    RECORD_TYPE_RUN,
    RUNS_TABLE_PARTITION_KEY,
)

_CONDITION_FAILED = "ConditionalCheckFailedException"


def _to_dynamodb(value: Mapping[str, Any]) -> dict[str, Any]:
    # The resource API refuses floats; a JSON round trip turns every number into a Decimal.
    converted: dict[str, Any] = json.loads(orjson.dumps(dict(value)), parse_float=Decimal)
    return converted


class RunsTable:
    """Conditional creation, partial updates, and the lookups the workflow and the operator need."""

    def __init__(self, table: Any) -> None:
        self._table = table

    @property
    def table_name(self) -> str:
        return str(self._table.name)

    def _missing(self, run_id: str) -> RunNotFound:
        return RunNotFound(f"no run with run_id {run_id!r} in table {self.table_name}")

    def put_new(self, item: Mapping[str, Any]) -> dict[str, Any] | None:
        """Create the item unless the run_id exists; returns ``None`` when created, else the existing item."""
        try:
            self._table.put_item(
                Item=_to_dynamodb(item), ConditionExpression=f"attribute_not_exists({RUNS_TABLE_PARTITION_KEY})"
            )
        except ClientError as error:
            if error_code(error) != _CONDITION_FAILED:
                raise
            return self.get(str(item[RUNS_TABLE_PARTITION_KEY]))
        return None

    def next_attempt(self, run_name: str) -> int:
        """Add one to the run name's attempt counter (an item of its own, created at 1) and return the new value."""
        response = self._table.update_item(
            Key={RUNS_TABLE_PARTITION_KEY: f"{ATTEMPT_COUNTER_KEY_PREFIX}{run_name}"},
            UpdateExpression="ADD #attempts :one",
            ExpressionAttributeNames={"#attempts": ATTEMPT_COUNTER_ATTRIBUTE},
            ExpressionAttributeValues={":one": 1},
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"][ATTEMPT_COUNTER_ATTRIBUTE])

    def find(self, run_id: str) -> dict[str, Any] | None:
        response = self._table.get_item(Key={RUNS_TABLE_PARTITION_KEY: run_id}, ConsistentRead=True)
        return dict(response["Item"]) if "Item" in response else None

    def get(self, run_id: str) -> dict[str, Any]:
        item = self.find(run_id)
        if item is None:
            raise self._missing(run_id)
        return item

    def update(self, run_id: str, fields: Mapping[str, Any]) -> None:
        """Set ``fields`` on an existing run (never creates a half item for an unknown run_id)."""
        if not fields:
            return
        values = _to_dynamodb(fields)
        names = {f"#f{index}": name for index, name in enumerate(values)}
        expression = "SET " + ", ".join(f"#f{index} = :v{index}" for index in range(len(values)))
        try:
            self._table.update_item(
                Key={RUNS_TABLE_PARTITION_KEY: run_id},
                UpdateExpression=expression,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={f":v{index}": value for index, value in enumerate(values.values())},
                ConditionExpression=f"attribute_exists({RUNS_TABLE_PARTITION_KEY})",
            )
        except ClientError as error:
            if error_code(error) == _CONDITION_FAILED:
                raise self._missing(run_id) from None
            raise

    def find_by_execution_arn(self, execution_arn: str) -> dict[str, Any]:
        response = self._table.query(
            IndexName=BY_EXECUTION_INDEX, KeyConditionExpression=Key(BY_EXECUTION_INDEX_KEY).eq(execution_arn), Limit=1
        )
        items = response.get("Items") or []
        if not items:
            raise RunNotFound(f"no run was started by execution {execution_arn}")
        return dict(items[0])

    def newest_first(self, *, run_name: str | None = None, page_size: int) -> Iterator[dict[str, Any]]:
        """Runs (of one name, or all), newest first, read ``page_size`` items at a time from the by_created index."""
        query: dict[str, Any] = {
            "IndexName": BY_CREATED_INDEX,
            "KeyConditionExpression": Key(BY_CREATED_INDEX_PARTITION_KEY).eq(RECORD_TYPE_RUN),
            "ScanIndexForward": False,
            "Limit": page_size,
        }
        if run_name is not None:
            query["FilterExpression"] = Attr("run_name").eq(run_name)
        while True:
            page = self._table.query(**query)
            yield from (dict(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
