"""The training-slot semaphore of one stage: one item of the runs table, written only if its version is unchanged."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from novaft.aws.errors import error_code
from novaft.pipeline.facts import (
    JOB_SLOTS_HOLDERS_ATTRIBUTE,
    JOB_SLOTS_KEY_PREFIX,
    JOB_SLOTS_VERSION_ATTRIBUTE,
    JOB_SLOTS_WAITING_ATTRIBUTE,
    RUNS_TABLE_PARTITION_KEY,
)
from novaft.pipeline.steps.job_slots import SlotPool

_CONDITION_FAILED = "ConditionalCheckFailedException"


class DynamoJobSlots:
    """``JobSlotStore`` on the runs table: a consistent read, and a put conditional on the version read."""

    def __init__(self, table: Any) -> None:
        self._table = table

    @staticmethod
    def _key(pool: str) -> dict[str, str]:
        return {RUNS_TABLE_PARTITION_KEY: f"{JOB_SLOTS_KEY_PREFIX}{pool}"}

    def read(self, pool: str) -> SlotPool:
        item = self._table.get_item(Key=self._key(pool), ConsistentRead=True).get("Item")
        if not item:
            return SlotPool()
        return SlotPool(
            holders={str(k): str(v) for k, v in (item.get(JOB_SLOTS_HOLDERS_ATTRIBUTE) or {}).items()},
            waiting={str(k): str(v) for k, v in (item.get(JOB_SLOTS_WAITING_ATTRIBUTE) or {}).items()},
            version=int(item.get(JOB_SLOTS_VERSION_ATTRIBUTE, 0)),
        )

    def write(self, pool: str, new: SlotPool, *, expected_version: int) -> bool:
        if expected_version == 0:
            condition = f"attribute_not_exists({RUNS_TABLE_PARTITION_KEY})"
            values: dict[str, Any] = {}
        else:
            condition = "#version = :expected"
            values = {":expected": expected_version}
        try:
            self._table.put_item(
                Item={
                    **self._key(pool),
                    JOB_SLOTS_HOLDERS_ATTRIBUTE: dict(new.holders),
                    JOB_SLOTS_WAITING_ATTRIBUTE: dict(new.waiting),
                    JOB_SLOTS_VERSION_ATTRIBUTE: expected_version + 1,
                },
                ConditionExpression=condition,
                **({"ExpressionAttributeNames": {"#version": JOB_SLOTS_VERSION_ATTRIBUTE}} if values else {}),
                **({"ExpressionAttributeValues": values} if values else {}),
            )
        except ClientError as error:
            if error_code(error) == _CONDITION_FAILED:
                return False
            raise
        return True
