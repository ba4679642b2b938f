"""The runs table as the data stack defines it (docs/architecture.md, "Runs table"), for tests creating it in moto."""

from __future__ import annotations

from typing import Any

from novaft.pipeline.facts import (
    BY_CREATED_INDEX,
    BY_CREATED_INDEX_PARTITION_KEY,
    BY_CREATED_INDEX_SORT_KEY,
    BY_EXECUTION_INDEX,
    BY_EXECUTION_INDEX_KEY,
    RUNS_TABLE_PARTITION_KEY,
)


def create_runs_table(dynamodb: Any, table_name: str) -> None:
    """Create the table with its key and both indexes through a boto3 DynamoDB client."""
    dynamodb.create_table(
        TableName=table_name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"}
            for name in (
                RUNS_TABLE_PARTITION_KEY,
                BY_EXECUTION_INDEX_KEY,
                BY_CREATED_INDEX_PARTITION_KEY,
                BY_CREATED_INDEX_SORT_KEY,
            )
        ],
        KeySchema=[{"AttributeName": RUNS_TABLE_PARTITION_KEY, "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": BY_EXECUTION_INDEX,
                "KeySchema": [{"AttributeName": BY_EXECUTION_INDEX_KEY, "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": BY_CREATED_INDEX,
                "KeySchema": [
                    {"AttributeName": BY_CREATED_INDEX_PARTITION_KEY, "KeyType": "HASH"},
                    {"AttributeName": BY_CREATED_INDEX_SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
        ],
    )
