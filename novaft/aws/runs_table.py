"""The runs table (docs/architecture.md, "Runs table"): one item per run, keyed by run_id."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import orjson
from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from novaft.aws.clients import dynamodb_table
from novaft.pipeline.errors import RunNotFound

BY_EXECUTION_INDEX = "by_execution"


def _to_dynamodb(value: Mapping[str, Any]) -> dict[str, Any]:
    # The resource API refuses floats; a JSON round trip turns every number into a Decimal.
    converted: dict[str, Any] = json.loads(orjson.dumps(dict(value)), parse_float=Decimal)
    return converted


class RunsTable:
    """Conditional creation, partial updates and the two lookups the workflow needs."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    @property
    def _table(self) -> Any:
        return dynamodb_table(self.table_name)

    def put_new(self, item: Mapping[str, Any]) -> dict[str, Any] | None:
        """Create the item unless the run_id exists; returns ``None`` when created, else the existing item."""
        try:
            self._table.put_item(Item=_to_dynamodb(item), ConditionExpression="attribute_not_exists(run_id)")
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            return self.get(str(item["run_id"]))
        return None

    def get(self, run_id: str) -> dict[str, Any]:
        response = self._table.get_item(Key={"run_id": run_id}, ConsistentRead=True)
        if "Item" not in response:
            raise RunNotFound(f"no run with run_id {run_id!r} in table {self.table_name}")
        return dict(response["Item"])

    def update(self, run_id: str, fields: Mapping[str, Any]) -> None:
        """Set ``fields`` on an existing run (never creates a half item for an unknown run_id)."""
        if not fields:
            return
        values = _to_dynamodb(fields)
        names = {f"#f{index}": name for index, name in enumerate(values)}
        expression = "SET " + ", ".join(f"#f{index} = :v{index}" for index in range(len(values)))
        try:
            self._table.update_item(
                Key={"run_id": run_id},
                UpdateExpression=expression,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={f":v{index}": value for index, value in enumerate(values.values())},
                ConditionExpression="attribute_exists(run_id)",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise RunNotFound(f"no run with run_id {run_id!r} in table {self.table_name}") from None
            raise

    def find_by_execution_arn(self, execution_arn: str) -> dict[str, Any]:
        response = self._table.query(
            IndexName=BY_EXECUTION_INDEX, KeyConditionExpression=Key("execution_arn").eq(execution_arn), Limit=1
        )
        items = response.get("Items") or []
        if not items:
            raise RunNotFound(f"no run was started by execution {execution_arn}")
        return dict(items[0])
