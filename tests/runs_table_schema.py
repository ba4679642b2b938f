"""The runs table as the data stack defines it (docs/architecture.md, "Runs table"), for tests creating it in moto."""

from __future__ import annotations

from typing import Any

from novaft.aws.runs_table import BY_EXECUTION_INDEX
from novaft.operator.runs_repository import BY_CREATED_INDEX


def create_runs_table(dynamodb: Any, table_name: str) -> None:
    """Create the table with its key and both indexes through a boto3 DynamoDB client."""
    dynamodb.create_table(
        TableName=table_name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"}
            for name in ("run_id", "execution_arn", "record_type", "created_at")
        ],
        KeySchema=[{"AttributeName": "run_id", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": BY_EXECUTION_INDEX,
                "KeySchema": [{"AttributeName": "execution_arn", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": BY_CREATED_INDEX,
                "KeySchema": [
                    {"AttributeName": "record_type", "KeyType": "HASH"},
                    {"AttributeName": "created_at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
        ],
    )
