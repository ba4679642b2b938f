"""Human-readable durations and times (pure)."""

from __future__ import annotations

from datetime import UTC, datetime


def format_duration(seconds: float | None) -> str:
    """``42s``, ``3m 05s``, ``2h 07m``, ``1d 03h``; ``-`` when unknown."""
    if seconds is None:
        return "-"
    total = int(seconds)
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def format_time(moment: datetime | None) -> str:
    """UTC, to the second, as ``2026-11-25 22:04:05Z``; ``-`` when unknown."""
    if moment is None:
        return "-"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
