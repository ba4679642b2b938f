"""The runs table as the data stack defines it (docs/architecture.md, "Runs table"): tests create it in moto from this
schema, and the infrastructure tests check the synthesized table against it, so both stay the same table."""

from __future__ import annotations

from typing import Any

from novaft.pipeline import facts

KEY_SCHEMA = [{"AttributeName": facts.RUNS_TABLE_PARTITION_KEY, "KeyType": "HASH"}]
GLOBAL_SECONDARY_INDEXES: list[dict[str, Any]] = [
    {
        "IndexName": facts.BY_EXECUTION_INDEX,
        "KeySchema": [{"AttributeName": facts.BY_EXECUTION_INDEX_KEY, "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "ALL"},
    },
    {
        "IndexName": facts.BY_CREATED_INDEX,
        "KeySchema": [
            {"AttributeName": facts.BY_CREATED_INDEX_PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": facts.BY_CREATED_INDEX_SORT_KEY, "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    },
]
# Every key attribute of the table and its indexes is a string, each defined once.
KEY_ATTRIBUTES = list(
    dict.fromkeys(
        key["AttributeName"]
        for key_schema in (KEY_SCHEMA, *(index["KeySchema"] for index in GLOBAL_SECONDARY_INDEXES))
        for key in key_schema
    )
)


def create_runs_table(dynamodb: Any, table_name: str) -> None:
    """Create the table with its key and both indexes through a boto3 DynamoDB client."""
    dynamodb.create_table(
        TableName=table_name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"} for name in KEY_ATTRIBUTES],
        KeySchema=KEY_SCHEMA,
        GlobalSecondaryIndexes=GLOBAL_SECONDARY_INDEXES,
    )
