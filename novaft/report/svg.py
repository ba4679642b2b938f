"""Charts as inline SVG text: a line chart (the loss curve) and a bar chart (the token-length histogram).

Inline SVG rather than a plotting library: it adds no dependency to the Lambda package or the CLI, the same data
always gives the same bytes (a report can be diffed and tested), a chart of 2,000 points is a few tens of KB, and the
page needs no script to draw it, so it opens anywhere, offline, under a policy that forbids scripts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

WIDTH = 640
HEIGHT = 260
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 12, 12, 36


def _fmt(value: float) -> str:
    """Coordinates to 0.1 px: deterministic and short."""
    value = float(value)
    return f"{value:.1f}".rstrip("0").rstrip(".") if not value.is_integer() else str(int(value))


def _label(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:.3g}"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering ``low``..``high`` (1, 2 or 5 times a power of ten apart)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    if high <= low:
        return [low]
    raw = (high - low) / max(1, count)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks


def _frame(kind: str, title: str, x_label: str, y_label: str, body: list[str]) -> str:
    return "\n".join(
        [
            f'<svg class="chart" data-chart="{escape(kind)}" xmlns="http://www.w3.org/2000/svg" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
            f'aria-label="{escape(title)}">',
            f"<title>{escape(title)}</title>",
            *body,
            f'<text class="axis-label" x="{_LEFT + (WIDTH - _LEFT - _RIGHT) / 2:.0f}" y="{HEIGHT - 4}" '
            f'text-anchor="middle">{escape(x_label)}</text>',
            f'<text class="axis-label" x="12" y="{_TOP + (HEIGHT - _TOP - _BOTTOM) / 2:.0f}" text-anchor="middle" '
            f'transform="rotate(-90 12 {_TOP + (HEIGHT - _TOP - _BOTTOM) / 2:.0f})">{escape(y_label)}</text>',
            "</svg>",
        ]
    )


def _axes(x_ticks: list[tuple[float, str]], y_ticks: list[tuple[float, str]]) -> list[str]:
    """Grid lines and labels at pixel positions already computed."""
    plot_bottom, plot_right = HEIGHT - _BOTTOM, WIDTH - _RIGHT
    parts = [
        f'<line class="axis" x1="{_LEFT}" y1="{plot_bottom}" x2="{plot_right}" y2="{plot_bottom}"/>',
        f'<line class="axis" x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{plot_bottom}"/>',
    ]
    for y, text in y_ticks:
        parts.append(f'<line class="grid" x1="{_LEFT}" y1="{_fmt(y)}" x2="{plot_right}" y2="{_fmt(y)}"/>')
        parts.append(f'<text class="tick" x="{_LEFT - 6}" y="{_fmt(y + 4)}" text-anchor="end">{escape(text)}</text>')
    for x, text in x_ticks:
        parts.append(
            f'<text class="tick" x="{_fmt(x)}" y="{plot_bottom + 16}" text-anchor="middle">{escape(text)}</text>'
        )
    return parts


def line_chart(points: Sequence[tuple[float, float]], *, kind: str, title: str, x_label: str, y_label: str) -> str:
    """A polyline through ``points`` (x ascending); needs at least one point."""
    if not points:
        raise ValueError("a line chart needs at least one point")
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    x_low, x_high = min(xs), max(xs)
    y_low, y_high = min(ys), max(ys)
    if x_high == x_low:
        x_low, x_high = x_low - 1, x_high + 1
    if y_high == y_low:
        pad = abs(y_low) * 0.1 or 1.0
        y_low, y_high = y_low - pad, y_high + pad
    plot_width, plot_height = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM

    def px(x: float) -> float:
        return _LEFT + (x - x_low) / (x_high - x_low) * plot_width

    def py(y: float) -> float:
        return _TOP + (y_high - y) / (y_high - y_low) * plot_height

    coordinates = " ".join(f"{_fmt(px(x))},{_fmt(py(y))}" for x, y in points)
    x_ticks = [(px(t), _label(t)) for t in nice_ticks(x_low, x_high) if x_low <= t <= x_high]
    y_ticks = [(py(t), _label(t)) for t in nice_ticks(y_low, y_high) if y_low <= t <= y_high]
    body = _axes(x_ticks, y_ticks)
    body.append(f'<polyline class="series" fill="none" points="{coordinates}"/>')
    if len(points) == 1:  # one point draws no line: mark it
        x, y = points[0]
        body.append(f'<circle class="series-point" cx="{_fmt(px(x))}" cy="{_fmt(py(y))}" r="3"/>')
    return _frame(kind, title, x_label, y_label, body)


def bar_chart(bars: Sequence[tuple[str, int]], *, kind: str, title: str, x_label: str, y_label: str) -> str:
    """One bar per (label, count), in the order given; needs at least one bar."""
    if not bars:
        raise ValueError("a bar chart needs at least one bar")
    highest = max(count for _, count in bars) or 1
    plot_width, plot_height = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM
    slot = plot_width / len(bars)
    y_ticks = [(_TOP + (highest - t) / highest * plot_height, _label(t)) for t in nice_ticks(0, highest)]
    # Label at most ~8 bars so the labels never overlap.
    every = max(1, math.ceil(len(bars) / 8))
    x_ticks = [(_LEFT + slot * (i + 0.5), label) for i, (label, _) in enumerate(bars) if i % every == 0]
    body = _axes(x_ticks, y_ticks)
    for index, (label, count) in enumerate(bars):
        height = count / highest * plot_height
        body.append(
            f'<rect class="bar" x="{_fmt(_LEFT + slot * index + 1)}" y="{_fmt(_TOP + plot_height - height)}" '
            f'width="{_fmt(max(1.0, slot - 2))}" height="{_fmt(height)}"><title>{escape(label)}: {count:,}</title>'
            "</rect>"
        )
    return _frame(kind, title, x_label, y_label, body)
