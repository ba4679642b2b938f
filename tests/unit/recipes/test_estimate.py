from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from novaft.recipes import JobSpec, estimate_run, load_price_table
from novaft.recipes.errors import CatalogError

PRICES = load_price_table()
MICRO_LORA = JobSpec.model_validate({"model": "micro", "method": "sft", "peft": "lora"})


def test_estimate_follows_the_documented_formula() -> None:
    # Micro SFT at 32k: 100,000 records x 32,768 tokens x 5 epochs in 120 h on 2 instances.
    stats = {"records": 10_000, "estimated_tokens": {"mean": 2_000}}
    estimate = estimate_run(MICRO_LORA, stats, PRICES, region="us-east-1")
    expected_hours = 10_000 * 2 * 2_000 / (100_000 * 32_768 * 5 / 120)
    assert estimate.training_hours == pytest.approx(expected_hours, abs=0.01)
    assert estimate.instance_hours == pytest.approx(expected_hours * 2, abs=0.01)
    assert estimate.cost == pytest.approx(expected_hours * 2 * 113.07, abs=1)
    assert "Estimate only" in estimate.method


def test_more_instances_shorten_the_run_proportionally() -> None:
    stats = {"records": 50_000, "estimated_tokens": {"mean": 8_000}}
    wide = JobSpec.model_validate({"model": "micro", "method": "sft", "peft": "lora", "instance_count": 8})
    base_hours = estimate_run(MICRO_LORA, stats, PRICES).training_hours
    wide_hours = estimate_run(wide, stats, PRICES).training_hours
    assert base_hours is not None and wide_hours is not None
    assert wide_hours == pytest.approx(base_hours / 4, rel=0.02)


@pytest.mark.parametrize(
    ("spec", "stats", "note"),
    [
        ({"model": "micro", "method": "sft", "peft": "lora"}, None, "no dataset statistics"),
        ({"model": "micro", "method": "sft", "peft": "lora"}, {}, "no dataset statistics"),
        ({"model": "lite-2", "method": "sft", "peft": "lora"}, {"records": 500}, "steps"),
        (
            {"model": "micro", "method": "sft", "peft": "lora", "instance_type": "ml.g5.12xlarge"},
            {"records": 500},
            "no throughput for ml.g5.12xlarge",
        ),
    ],
)
def test_no_time_estimate_says_why(spec: dict[str, Any], stats: dict[str, Any] | None, note: str) -> None:
    estimate = estimate_run(JobSpec.model_validate(spec), stats, PRICES, region="us-east-1")
    assert estimate.training_hours is None and estimate.cost is None
    assert any(note in text for text in estimate.notes)


def test_missing_token_estimate_counts_each_record_as_max_length() -> None:
    estimate = estimate_run(MICRO_LORA, {"records": 1000}, PRICES, region="us-east-1")
    assert estimate.tokens_per_record is None
    assert any("upper bound" in note for note in estimate.notes)
    assert estimate.training_hours == pytest.approx(1000 * 2 * 32768 / (100_000 * 32_768 * 5 / 120), abs=0.01)


def test_media_datasets_use_the_media_row() -> None:
    lite = JobSpec.model_validate({"model": "lite", "method": "sft", "peft": "lora"})
    estimate = estimate_run(lite, {"records": 1000, "has_images": True, "tokens": {"total": 1_000_000}}, PRICES)
    assert estimate.reference_row is not None and estimate.reference_row["modality"] == "media"
    assert estimate.tokens_per_record == 1000


def test_unknown_price_gives_hours_without_cost() -> None:
    estimate = estimate_run(MICRO_LORA, {"records": 1000}, PRICES, region="ap-northeast-1")
    assert estimate.instance_hours is not None and estimate.cost is None
    assert any("no price" in note for note in estimate.notes)


def test_price_table_file_errors_are_named(tmp_path: Path) -> None:
    bad = tmp_path / "prices.yaml"
    bad.write_text("regions: {us-east-1: {ml.p5.48xlarge: cheap}}\n")
    with pytest.raises(CatalogError, match=r"prices\.yaml"):
        load_price_table(bad)
