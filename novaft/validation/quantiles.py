"""Percentiles of non-negative integers in constant memory: a fixed histogram with exact and geometric buckets.

Values below ``EXACT_BELOW`` get one bucket each, so their percentiles are exact. Larger values fall into buckets
whose bounds grow by ``GROWTH`` (1%), and a percentile reports its bucket's upper bound clipped to the true maximum,
so it is never below the true value and at most 1% above it. The histogram has a fixed ~2,600 counters whatever the
number of values, and min, max, count and sum are exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

EXACT_BELOW = 1024
GROWTH = 1.01
# Enough geometric buckets to reach 2**40 tokens; anything larger lands in the last bucket (and max stays exact).
_GEOMETRIC_BUCKETS = math.ceil(math.log(2**40 / EXACT_BELOW, GROWTH)) + 1
_LOG_GROWTH = math.log(GROWTH)


def _bucket_of(value: int) -> int:
    if value < EXACT_BELOW:
        return value
    index = int(math.log(value / EXACT_BELOW) / _LOG_GROWTH)
    return EXACT_BELOW + min(index, _GEOMETRIC_BUCKETS - 1)


def _upper_bound_of(bucket: int) -> int:
    if bucket < EXACT_BELOW:
        return bucket
    return math.ceil(EXACT_BELOW * GROWTH ** (bucket - EXACT_BELOW + 1))


@dataclass(slots=True)
class StreamingQuantiles:
    counts: list[int] = field(default_factory=lambda: [0] * (EXACT_BELOW + _GEOMETRIC_BUCKETS))
    count: int = 0
    total: int = 0
    minimum: int | None = None
    maximum: int | None = None

    def add(self, value: int) -> None:
        self.counts[value if value < EXACT_BELOW else _bucket_of(value)] += 1
        self.count += 1
        self.total += value
        if self.minimum is None or value < self.minimum:
            self.minimum = value
        if self.maximum is None or value > self.maximum:
            self.maximum = value

    def percentile(self, fraction: float) -> int | None:
        """The smallest tracked value with at least ``fraction`` of all values at or below it (nearest rank)."""
        if self.count == 0 or self.maximum is None:
            return None
        rank = max(1, math.ceil(fraction * self.count))
        seen = 0
        for bucket, bucket_count in enumerate(self.counts):
            seen += bucket_count
            if seen >= rank:
                return min(_upper_bound_of(bucket), self.maximum)
        return self.maximum

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None

    def histogram(self, bins: int = 20) -> list[tuple[int, int, int]]:
        """``(low, high, count)`` for ``bins`` equal ranges from min to max (high inclusive). A geometric bucket counts
        in the range of its upper bound (clipped to max), so a value may shift up by at most 1%, as for percentiles."""
        if self.count == 0 or self.minimum is None or self.maximum is None:
            return []
        low, high = self.minimum, self.maximum
        width = max(1, math.ceil((high - low + 1) / bins))
        counts = [0] * math.ceil((high - low + 1) / width)
        for bucket, bucket_count in enumerate(self.counts):
            if bucket_count:
                value = max(low, min(_upper_bound_of(bucket), high))
                counts[(value - low) // width] += bucket_count
        return [(low + i * width, min(high, low + (i + 1) * width - 1), count) for i, count in enumerate(counts)]
