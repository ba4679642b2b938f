"""Read the runs table: one run by id, the latest run of a name, the most recent runs.

Keys and indexes are those of docs/architecture.md ("Runs table"): partition key ``run_id``; GSI ``by_created``
with partition key ``record_type`` (always ``"run"``) and sort key ``created_at``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from boto3.dynamodb.conditions import Attr, Key

from novaft.operator.errors import RunNotFound
from novaft.operator.run_view import RunView

BY_CREATED_INDEX = "by_created"
RUN_RECORD_TYPE = "run"
_PAGE_SIZE = 100


class RunRepository:
    def __init__(self, table: Any, *, page_size: int = _PAGE_SIZE) -> None:
        self._table = table
        self._page_size = page_size

    @classmethod
    def for_table(cls, dynamodb_resource: Any, table_name: str, *, page_size: int = _PAGE_SIZE) -> RunRepository:
        return cls(dynamodb_resource.Table(table_name), page_size=page_size)

    def get(self, run_id: str) -> RunView | None:
        item = self._table.get_item(Key={"run_id": run_id}, ConsistentRead=True).get("Item")
        return RunView.from_item(item) if item else None

    def _newest_first(self, *, run_name: str | None = None, page_size: int) -> Iterator[Mapping[str, Any]]:
        query: dict[str, Any] = {
            "IndexName": BY_CREATED_INDEX,
            "KeyConditionExpression": Key("record_type").eq(RUN_RECORD_TYPE),
            "ScanIndexForward": False,
            "Limit": page_size,
        }
        if run_name is not None:
            query["FilterExpression"] = Attr("run_name").eq(run_name)
        while True:
            page = self._table.query(**query)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _complete(self, item: Mapping[str, Any]) -> RunView:
        # An index that projects only keys would leave out the status; read the item itself then.
        if "status" not in item:
            full = self.get(str(item["run_id"]))
            if full is not None:
                return full
        return RunView.from_item(item)

    def latest_by_name(self, run_name: str) -> RunView | None:
        for item in self._newest_first(run_name=run_name, page_size=self._page_size):
            return self._complete(item)
        return None

    def recent(self, limit: int) -> list[RunView]:
        runs: list[RunView] = []
        for item in self._newest_first(page_size=min(limit, self._page_size)):
            runs.append(self._complete(item))
            if len(runs) >= limit:
                break
        return runs

    def resolve(self, run_ref: str) -> RunView:
        """A run id, or a run name (its latest run); ``RunNotFound`` names what was looked for."""
        run = self.get(run_ref) or self.latest_by_name(run_ref)
        if run is None:
            raise RunNotFound(f"no run with id or name {run_ref!r}; `novaft runs` lists recent runs")
        return run
