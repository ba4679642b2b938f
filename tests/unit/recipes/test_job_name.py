from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from novaft.errors import UsageError
from novaft.recipes import training_job_name

API_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")


@given(st.text(min_size=1, max_size=300).filter(lambda s: s.strip()))
def test_any_run_id_gives_a_valid_deterministic_name(run_id: str) -> None:
    name = training_job_name(run_id)
    assert len(name) <= 63
    assert API_PATTERN.match(name)
    assert training_job_name(run_id) == name


@pytest.mark.parametrize(
    ("first", "second"),
    [("a_b", "a.b"), ("x" * 80, "x" * 81), ("run 1", "run-1")],
)
def test_different_run_ids_do_not_collide(first: str, second: str) -> None:
    assert training_job_name(first) != training_job_name(second)


def test_a_clean_run_id_is_kept_readable() -> None:
    assert training_job_name("support-bot-3f2a9c1d") == "novaft-support-bot-3f2a9c1d"


def test_empty_run_id_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        training_job_name("  ")
