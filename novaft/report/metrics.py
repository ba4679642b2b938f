"""Training loss per step, read from a Nova job's own outputs in bounded memory.

Two sources, as the container writes them (docs/report.md):

- ``step_wise_training_metrics.csv`` in the job's ``output.tar.gz`` (columns ``step_number``, ``training_loss``), which
  Nova 2 SFT jobs write when they end;
- the job's CloudWatch log stream (``/aws/sagemaker/TrainingJobs``, ``<job>/algo-1-...``), while the job runs or when
  the archive holds no CSV: lines carrying ``global_step`` and ``reduced_train_loss`` followed by ``=`` or ``:`` (the
  patterns the Nova Forge SDK's ``util/metric_util.py`` parses).

Whatever the input holds (millions of rows, garbage, NaN), the reader keeps at most ``MAX_POINTS`` points for the
curve (every n-th step, n doubling as needed), while the summary (steps, final and minimum loss) is exact over every
row it read. Rows it could not use are counted by reason, never silently dropped.
"""

from __future__ import annotations

import io
import math
import re
import tarfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from novaft.pipeline.facts import TRAINING_METRICS_ARCHIVE_FILE

SOURCE_ARCHIVE = f"output.tar.gz {TRAINING_METRICS_ARCHIVE_FILE}"
SOURCE_LOGS = "CloudWatch log stream"
STEP_COLUMN = "step_number"
LOSS_COLUMN = "training_loss"
# A chart has a few hundred pixels of width: more points than this add nothing but bytes to the report.
MAX_POINTS = 2_000
# Rows read at most (a job runs far fewer steps); the rest is counted as skipped, not parsed.
MAX_ROWS = 5_000_000
# A metrics row or log line is short; a longer one is not one of them (and is not kept in memory whole).
MAX_LINE_CHARS = 4_096
# The CSV inside the archive: a million steps is about 30 MB; anything bigger is not a metrics file.
MAX_CSV_BYTES = 256 * 1024 * 1024

SKIP_MALFORMED = "malformed row"
SKIP_NOT_FINITE = "loss is NaN or infinite"
SKIP_NEGATIVE_STEP = "negative step"
SKIP_TOO_LONG = f"line longer than {MAX_LINE_CHARS} characters"
SKIP_OVER_LIMIT = f"rows beyond the first {MAX_ROWS:,}"
SKIP_LOSS_BEFORE_STEP = "loss before any step was logged"

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf(?:inity)?)"
STEP_PATTERN = re.compile(r"\bglobal_step\s*[=:]\s*(\d+)(?:\.0+)?\b")
LOSS_PATTERN = re.compile(rf"\breduced_train_loss\s*[=:]\s*({_NUMBER})", re.IGNORECASE)


@dataclass(frozen=True)
class LossPoint:
    step: int
    loss: float


@dataclass(frozen=True)
class MetricsSummary:
    steps: int  # the last step seen
    final_loss: float
    min_loss: float
    min_loss_step: int
    source: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TrainingMetrics:
    """The loss curve (at most ``MAX_POINTS`` points, in step order) and what was read to get it."""

    points: tuple[LossPoint, ...]
    source: str
    rows_read: int
    skipped: dict[str, int]
    summary: MetricsSummary | None

    def to_csv(self) -> str:
        """``metrics.csv``: the curve's points in the archive's column names (what the report plots)."""
        rows = [f"{STEP_COLUMN},{LOSS_COLUMN}"] + [f"{point.step},{point.loss!r}" for point in self.points]
        return "\n".join(rows) + "\n"


@dataclass
class _Collector:
    """Keeps every ``stride``-th step and exact summary figures, whatever the number of rows."""

    source: str
    max_points: int = MAX_POINTS
    stride: int = 1
    kept: dict[int, float] = field(default_factory=dict)
    rows_read: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    last: LossPoint | None = None
    best: LossPoint | None = None

    def skip(self, reason: str, count: int = 1) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + count

    def add(self, step: int, loss: float) -> None:
        if step < 0:
            self.skip(SKIP_NEGATIVE_STEP)
            return
        if not math.isfinite(loss):
            self.skip(SKIP_NOT_FINITE)
            return
        point = LossPoint(step, loss)
        # A step logged twice (a restart, or one line per rank) counts once: its latest value.
        if self.last is None or step >= self.last.step:
            self.last = point
        if self.best is None or loss < self.best.loss:
            self.best = point
        if step % self.stride == 0:
            self.kept[step] = loss
            while len(self.kept) > self.max_points:
                self.stride *= 2
                self.kept = {kept: value for kept, value in self.kept.items() if kept % self.stride == 0}

    def result(self) -> TrainingMetrics:
        points = [LossPoint(step, self.kept[step]) for step in sorted(self.kept)]
        # The curve ends where training ended, whatever the stride.
        if self.last is not None and (not points or points[-1].step < self.last.step):
            points.append(self.last)
        summary = None
        if self.last is not None and self.best is not None:
            summary = MetricsSummary(
                steps=self.last.step,
                final_loss=self.last.loss,
                min_loss=self.best.loss,
                min_loss_step=self.best.step,
                source=self.source,
            )
        return TrainingMetrics(tuple(points), self.source, self.rows_read, dict(self.skipped), summary)


def _text(line: bytes | str) -> str:
    return line.decode("utf-8", errors="replace") if isinstance(line, bytes) else line


def parse_metrics_csv(lines: Iterable[bytes | str], *, source: str = SOURCE_ARCHIVE) -> TrainingMetrics:
    """Read ``step_number,training_loss`` rows (header required, other columns ignored, any column order)."""
    collector = _Collector(source)
    step_index = loss_index = -1
    for raw in lines:
        if len(raw) > MAX_LINE_CHARS:
            collector.skip(SKIP_TOO_LONG)
            continue
        line = _text(raw).strip()
        if not line:
            continue
        cells = [cell.strip().strip('"') for cell in line.split(",")]
        if step_index < 0:
            if STEP_COLUMN in cells and LOSS_COLUMN in cells:
                step_index, loss_index = cells.index(STEP_COLUMN), cells.index(LOSS_COLUMN)
            else:
                collector.skip(SKIP_MALFORMED)
            continue
        if collector.rows_read >= MAX_ROWS:
            collector.skip(SKIP_OVER_LIMIT)
            continue
        collector.rows_read += 1
        try:
            step = int(float(cells[step_index]))
            loss = float(cells[loss_index])
        except (IndexError, ValueError, OverflowError):
            collector.skip(SKIP_MALFORMED)
            continue
        collector.add(step, loss)
    return collector.result()


def parse_log_lines(lines: Iterable[str]) -> TrainingMetrics:
    """Read ``global_step`` / ``reduced_train_loss`` from training log lines.

    A loss is paired with the step on its own line, else with the last step logged before it (some loggers print
    them on separate lines). Lines without either pattern are ordinary log output and are not counted as skipped.
    """
    collector = _Collector(SOURCE_LOGS)
    current_step: int | None = None
    for line in lines:
        if len(line) > MAX_LINE_CHARS:
            collector.skip(SKIP_TOO_LONG)
            continue
        step_match = STEP_PATTERN.search(line)
        if step_match:
            current_step = int(step_match.group(1))
        loss_match = LOSS_PATTERN.search(line)
        if loss_match is None:
            continue
        if collector.rows_read >= MAX_ROWS:
            collector.skip(SKIP_OVER_LIMIT)
            continue
        collector.rows_read += 1
        if current_step is None:
            collector.skip(SKIP_LOSS_BEFORE_STEP)
            continue
        collector.add(current_step, float(loss_match.group(1)))
    return collector.result()


def metrics_from_archive(archive: bytes) -> TrainingMetrics | None:
    """The CSV's metrics from ``output.tar.gz`` bytes; None when the archive holds no such file (Nova 1 jobs).

    Raises ``tarfile.TarError``/``OSError`` for an unreadable archive (the caller names it).
    """
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:*") as tar:
        member = next(
            (m for m in tar if m.isfile() and m.name.rsplit("/", 1)[-1] == TRAINING_METRICS_ARCHIVE_FILE), None
        )
        if member is None:
            return None
        extracted = tar.extractfile(member)
        if extracted is None:
            return None
        # Streamed line by line, never read whole; the size bound stops an archive bomb.
        limited = io.BufferedReader(_Limited(extracted, MAX_CSV_BYTES))
        return parse_metrics_csv(limited, source=SOURCE_ARCHIVE)


class _Limited(io.RawIOBase):
    """A readable stream that ends after ``limit`` bytes of ``inner``."""

    def __init__(self, inner: Any, limit: int) -> None:
        self._inner = inner
        self._left = limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._left <= 0:
            return 0
        view = memoryview(buffer)[: self._left]
        data = self._inner.read(len(view))
        view[: len(data)] = data
        self._left -= len(data)
        return len(data)


def latest_progress(metrics: TrainingMetrics) -> LossPoint | None:
    """The last step and its loss (for live progress)."""
    if metrics.summary is None:
        return None
    return LossPoint(metrics.summary.steps, metrics.summary.final_loss)
