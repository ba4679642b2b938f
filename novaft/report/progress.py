"""Live training progress for ``novaft status --wait``: step of total, latest loss, elapsed and remaining time."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from novaft.report.metrics import TrainingMetrics

BAR_WIDTH = 24


def total_steps(recipe: Mapping[str, Any], records: int | None) -> int | None:
    """Steps the recipe trains for: ``training_config.max_steps`` (Nova 2), else epochs x ceil(records / batch)
    (Nova 1: ``training_config.trainer.max_epochs`` and ``global_batch_size``); None when it cannot be told."""
    config = recipe.get("training_config")
    if not isinstance(config, Mapping):
        return None
    max_steps = config.get("max_steps")
    if isinstance(max_steps, int) and max_steps > 0:
        return max_steps
    trainer = config.get("trainer")
    epochs = trainer.get("max_epochs") if isinstance(trainer, Mapping) else None
    batch = config.get("global_batch_size")
    if isinstance(epochs, int) and isinstance(batch, int) and batch > 0 and records:
        return epochs * math.ceil(records / batch)
    return None


@dataclass(frozen=True)
class Progress:
    step: int | None
    total: int | None
    loss: float | None
    elapsed_seconds: float | None
    remaining_seconds: float | None
    remaining_from: str  # "steps" (measured pace) or "estimate" (the plan's hours) or ""

    @property
    def fraction(self) -> float | None:
        if self.step is None or not self.total:
            return None
        return max(0.0, min(1.0, self.step / self.total))


def progress_of(
    metrics: TrainingMetrics | None,
    *,
    total: int | None,
    training_seconds: float | None,
    estimated_hours: float | None,
) -> Progress:
    """Where a running job is. Remaining time comes from the pace so far once steps are logged, else from the plan's
    estimate minus the time already spent."""
    step = metrics.summary.steps if metrics and metrics.summary else None
    loss = metrics.summary.final_loss if metrics and metrics.summary else None
    remaining, source = None, ""
    if step and total and training_seconds is not None:
        remaining, source = max(0.0, training_seconds * (total - step) / step), "steps"
    elif estimated_hours is not None and training_seconds is not None:
        remaining, source = max(0.0, estimated_hours * 3600 - training_seconds), "estimate"
    return Progress(step, total, loss, training_seconds, remaining, source)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"


def format_progress(progress: Progress, *, bar: bool) -> str:
    """``step 12/20 [#####...] 60%  loss 0.512  elapsed 3m 05s  remaining ~2m 03s (steps)``; no bar off a terminal."""
    parts = []
    if progress.step is None:
        parts.append("no step logged yet")
    else:
        parts.append(f"step {progress.step:,}/{progress.total:,}" if progress.total else f"step {progress.step:,}")
    fraction = progress.fraction
    if bar and fraction is not None:
        filled = round(fraction * BAR_WIDTH)
        parts.append(f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {fraction:4.0%}")
    elif fraction is not None:
        parts.append(f"{fraction:.0%}")
    if progress.loss is not None:
        parts.append(f"loss {progress.loss:.4g}")
    parts.append(f"elapsed {_duration(progress.elapsed_seconds)}")
    if progress.remaining_seconds is not None:
        parts.append(f"remaining ~{_duration(progress.remaining_seconds)} ({progress.remaining_from})")
    return "  ".join(parts)
