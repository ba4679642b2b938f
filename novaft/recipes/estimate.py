"""Estimate a run's training time, instance-hours and cost. It is an estimate, not a quote.

How it is computed:
1. The source document gives, per model, method, PEFT, context length and modality, how many records fit in a 5-day
   job at 5 epochs when every record is as long as the context (``recipes/throughput.yaml``). That is a throughput in
   trained tokens per hour: ``records x context x 5 epochs / 120 h``, assumed to hold for the recipe's default p5
   instance count. The row used is the smallest context at or above the job's ``max_length``.
2. The run's work is ``records x epochs x tokens per record``, with tokens per record from the validator's estimate
   (mean, capped at ``max_length``), or ``max_length`` itself when no estimate is available (an upper bound).
3. Hours = work / throughput, scaled linearly by default instance count / chosen count (optimistic: scaling is rarely
   linear). Instance-hours = hours x instance count; cost = instance-hours x the price table's on-demand rate.
Only Nova 1.0 on p5/p5en has figures; other variants get no time or cost estimate and say why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from novaft.recipes.catalog import DEFAULT_RECIPES_DIR, Catalog, load_catalog
from novaft.recipes.errors import CatalogError
from novaft.recipes.job_spec import JobSpec
from novaft.recipes.render import recipe_overrides
from novaft.recipes.yaml_io import YamlSyntaxError, get_path, load_yaml_text

# The throughput table was measured (per the source document) on p5-class instances.
THROUGHPUT_INSTANCE_TYPES = ("ml.p5.48xlarge", "ml.p5en.48xlarge")
DEFAULT_PRICES_FILE = DEFAULT_RECIPES_DIR / "prices.yaml"


class PriceTable(BaseModel):
    """On-demand USD per instance-hour by region and instance type (``recipes/prices.yaml`` shape)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    currency: str = "USD"
    as_of: str
    source: str
    verified: bool = False
    regions: dict[str, dict[str, float]]

    def price(self, region: str, instance_type: str) -> float | None:
        return self.regions.get(region, {}).get(instance_type)


def load_price_table(path: Path | None = None) -> PriceTable:
    """Read a price table file (default: the one shipped in ``recipes/prices.yaml``)."""
    path = path or DEFAULT_PRICES_FILE
    try:
        data = load_yaml_text(path.read_text(encoding="utf-8"), source=str(path))
        return PriceTable.model_validate(data)
    except OSError as exc:
        raise CatalogError(f"price table {path} cannot be read: {exc.strerror}") from None
    except (YamlSyntaxError, ValidationError) as exc:
        raise CatalogError(f"price table {path} is invalid: {exc}") from None


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    method: str
    model: str
    peft: tuple[str, ...]
    context: int
    modality: str
    records: int


class _Throughput(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    hours_per_row: float
    epochs_per_row: int
    rows: tuple[_Row, ...]


@cache
def _throughput(path: Path) -> _Throughput:
    try:
        return _Throughput.model_validate(load_yaml_text(path.read_text(encoding="utf-8"), source=path.name))
    except (OSError, YamlSyntaxError, ValidationError) as exc:
        raise CatalogError(f"throughput table {path.name} is invalid: {exc}") from None


@dataclass(frozen=True)
class Estimate:
    variant: str
    instance_type: str
    instance_count: int
    region: str | None
    records: int | None
    epochs: int | None
    tokens_per_record: float | None
    tokens_source: str
    reference_row: dict[str, Any] | None
    training_hours: float | None
    instance_hours: float | None
    price_per_instance_hour: float | None
    cost: float | None
    currency: str
    price_source: str
    notes: list[str] = field(default_factory=list)
    method: str = (
        "Estimate only. Throughput from the source document's 5-day dataset-size table (records x context x 5 epochs"
        " / 120 h at the recipe's default p5 instance count), scaled linearly to the chosen count; work = records x"
        " epochs x estimated tokens per record; cost = instance-hours x on-demand price."
    )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def estimate_run(
    spec: JobSpec,
    stats: Mapping[str, Any] | None,
    prices: PriceTable | None,
    *,
    region: str | None = None,
    catalog: Catalog | None = None,
) -> Estimate:
    """Estimate hours, instance-hours and cost for ``spec`` on a dataset described by the validator's ``stats``."""
    catalog = catalog or load_catalog()
    resolved = spec.resolve(catalog)
    variant = resolved.variant
    region = region or spec.region
    values = catalog.template_values(variant)
    overrides = recipe_overrides(spec, catalog)
    max_length = int(overrides.get("training_config.max_length", get_path(values, "training_config.max_length")))
    epochs_key = catalog.tunable_keys(variant).get("epochs")
    epochs = int(overrides.get(epochs_key, get_path(values, epochs_key))) if epochs_key else None
    records, tokens_per_record, tokens_source, media = _read_stats(stats, max_length)
    notes: list[str] = []

    row = None
    hours = None
    if records is None:
        notes.append("no dataset statistics: no time estimate (pass the validator's report)")
    elif epochs is None:
        notes.append("Nova 2.0 recipes count steps, and the source document gives no throughput for them")
    elif resolved.instance_type not in THROUGHPUT_INSTANCE_TYPES:
        notes.append(f"the source document gives no throughput for {resolved.instance_type}")
    else:
        row = _pick_row(spec, max_length, media)
        if row is None:
            notes.append(f"no throughput figure for {spec.model} {spec.method} {spec.peft} at {max_length} tokens")
        else:
            table = _throughput(DEFAULT_RECIPES_DIR / "throughput.yaml")
            tokens_per_hour = row.records * row.context * table.epochs_per_row / table.hours_per_row
            per_record = tokens_per_record if tokens_per_record is not None else float(max_length)
            reference_hours = records * epochs * per_record / tokens_per_hour
            hours = reference_hours * variant.replicas.default / resolved.instance_count
            if tokens_per_record is None:
                notes.append("no token estimate in the statistics: every record counted as max_length (upper bound)")

    instance_hours = hours * resolved.instance_count if hours is not None else None
    price = prices.price(region, resolved.instance_type) if prices is not None and region else None
    if prices is not None and region and price is None:
        notes.append(f"no price for {resolved.instance_type} in {region} in the price table")
    if prices is not None and not prices.verified:
        notes.append(f"prices are as recorded {prices.as_of} and unverified; check {prices.source}")
    cost = instance_hours * price if instance_hours is not None and price is not None else None
    return Estimate(
        variant=variant.id,
        instance_type=resolved.instance_type,
        instance_count=resolved.instance_count,
        region=region,
        records=records,
        epochs=epochs,
        tokens_per_record=tokens_per_record,
        tokens_source=tokens_source,
        reference_row=row.model_dump(mode="json") if row is not None else None,
        training_hours=_round(hours),
        instance_hours=_round(instance_hours),
        price_per_instance_hour=price,
        cost=_round(cost),
        currency=prices.currency if prices is not None else "USD",
        price_source=f"{prices.source} (as of {prices.as_of})" if prices is not None else "none",
        notes=notes,
    )


def _pick_row(spec: JobSpec, max_length: int, media: bool) -> _Row | None:
    table = _throughput(DEFAULT_RECIPES_DIR / "throughput.yaml")
    modality = "media" if media else "text"
    rows = [
        row
        for row in table.rows
        if (row.method, row.model, row.modality) == (spec.method, spec.model, modality) and spec.peft in row.peft
    ]
    if not rows:
        return None
    at_or_above = [row for row in rows if row.context >= max_length]
    return min(at_or_above, key=lambda row: row.context) if at_or_above else max(rows, key=lambda row: row.context)


def _read_stats(stats: Mapping[str, Any] | None, max_length: int) -> tuple[int | None, float | None, str, bool]:
    """Records, mean tokens per record (capped at max_length), where that came from, and whether media is present.

    Accepts the validator's stats dict: ``records`` plus a token block under ``estimated_tokens`` or ``tokens`` with
    ``mean`` (or ``total``, or ``p50``); ``has_images`` / ``has_video`` mark media. Missing pieces are tolerated.
    """
    if not stats:
        return None, None, "none", False
    records = stats.get("records")
    records = int(records) if isinstance(records, int | float) and records > 0 else None
    media = bool(stats.get("has_images") or stats.get("has_video"))
    block = next((stats[key] for key in ("estimated_tokens", "tokens") if isinstance(stats.get(key), Mapping)), None)
    if block is None or records is None:
        return records, None, "none", media
    for key in ("mean", "total", "p50"):
        value = block.get(key)
        if isinstance(value, int | float) and value > 0:
            mean = value / records if key == "total" else float(value)
            return records, float(min(mean, max_length)), f"validator estimate ({key})", media
    return records, None, "none", media


def _round(value: float | None) -> float | None:
    return round(value, 2) if value is not None else None
