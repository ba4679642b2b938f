from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from novaft.operator.run_view import RunView, parse_timestamp, plain


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("3"), 3),
        (Decimal("2.5"), 2.5),
        ({"loss": Decimal("0.25"), "steps": [Decimal("1")]}, {"loss": 0.25, "steps": [1]}),
        ("text", "text"),
    ],
)
def test_plain_turns_dynamodb_numbers_into_python_numbers(value: Any, expected: Any) -> None:
    assert plain(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-25T10:00:00Z", datetime(2026, 11, 25, 10, tzinfo=UTC)),
        ("2026-11-25T10:00:00", datetime(2026, 11, 25, 10, tzinfo=UTC)),
        (Decimal("0"), datetime(1970, 1, 1, tzinfo=UTC)),
        ("not a time", None),
        (None, None),
    ],
)
def test_timestamps_parse_or_read_as_unknown(value: Any, expected: datetime | None) -> None:
    assert parse_timestamp(value) == expected


def test_item_with_only_a_run_id_gets_defaults() -> None:
    run = RunView.from_item({"run_id": "a-1"})
    assert (run.run_name, run.status, run.execution_arn, run.is_final) == ("a-1", "Unknown", None, False)


def test_item_fields_are_read() -> None:
    run = RunView.from_item(
        {"run_id": "a-1", "run_name": "a", "status": "Stopped", "billable_seconds": Decimal("61"), "failure_error": ""}
    )
    assert (run.status, run.billable_seconds, run.failure_error, run.is_final) == ("Stopped", 61, None, True)
