import math
import tarfile

import pytest

from novaft.pipeline.facts import TRAINING_METRICS_ARCHIVE_FILE
from novaft.report.metrics import (
    MAX_LINE_CHARS,
    MAX_POINTS,
    SKIP_LOSS_BEFORE_STEP,
    SKIP_MALFORMED,
    SKIP_NOT_FINITE,
    SKIP_TOO_LONG,
    SOURCE_LOGS,
    metrics_from_archive,
    parse_log_lines,
    parse_metrics_csv,
)
from tests.unit.archives import tar_archive


def test_csv_rows_give_the_curve_and_an_exact_summary() -> None:
    metrics = parse_metrics_csv(["step_number,training_loss", "1,2.5", "2,1.25", "3,1.5"])

    assert [(p.step, p.loss) for p in metrics.points] == [(1, 2.5), (2, 1.25), (3, 1.5)]
    assert metrics.summary is not None
    assert (metrics.summary.steps, metrics.summary.final_loss) == (3, 1.5)
    assert (metrics.summary.min_loss, metrics.summary.min_loss_step) == (1.25, 2)
    assert metrics.to_csv() == "step_number,training_loss\n1,2.5\n2,1.25\n3,1.5\n"


def test_columns_are_found_by_name_in_any_order() -> None:
    metrics = parse_metrics_csv([b"epoch,training_loss,step_number", b"0,0.9,10"])
    assert [(p.step, p.loss) for p in metrics.points] == [(10, 0.9)]


def test_garbage_nan_and_overlong_rows_are_counted_by_reason_not_plotted() -> None:
    lines = [
        "step_number,training_loss",
        "1,1.0",
        "two,0.5",
        "3",
        "4,nan",
        "5,inf",
        "6," + "9" * (MAX_LINE_CHARS + 1),
        "7,0.5",
    ]
    metrics = parse_metrics_csv(lines)

    assert [p.step for p in metrics.points] == [1, 7]
    assert metrics.skipped == {SKIP_MALFORMED: 2, SKIP_NOT_FINITE: 2, SKIP_TOO_LONG: 1}
    assert all(math.isfinite(p.loss) for p in metrics.points)


def test_a_file_without_the_header_yields_no_points() -> None:
    metrics = parse_metrics_csv(["1,2.0", "2,1.0"])
    assert metrics.points == ()
    assert metrics.summary is None
    assert metrics.skipped == {SKIP_MALFORMED: 2}


def test_a_huge_file_keeps_a_bounded_curve_but_an_exact_summary() -> None:
    rows = 50_000
    lines = ("step_number,training_loss", *(f"{step},{1000 / (step + 1)}" for step in range(rows)))
    metrics = parse_metrics_csv(lines)

    assert len(metrics.points) <= MAX_POINTS + 1
    assert metrics.points[0].step == 0 and metrics.points[-1].step == rows - 1
    assert metrics.summary is not None
    assert metrics.summary.steps == rows - 1
    assert metrics.summary.min_loss == pytest.approx(1000 / rows)
    assert metrics.rows_read == rows


def test_a_step_logged_twice_counts_once_with_its_latest_value() -> None:
    metrics = parse_metrics_csv(["step_number,training_loss", "1,2.0", "2,1.0", "2,0.8"])
    assert [(p.step, p.loss) for p in metrics.points] == [(1, 2.0), (2, 0.8)]


def test_log_lines_pair_loss_with_the_step_on_the_line_or_before_it() -> None:
    lines = [
        "INFO starting training",
        "reduced_train_loss: 9.0",  # before any step: cannot be placed
        "Epoch 0: global_step: 1 reduced_train_loss: 2.5 lr: 1e-5",
        "global_step=2.0",
        "[rank0] reduced_train_loss=1.75e0",
        "global_step: 3, reduced_train_loss: NaN",
        "unrelated line mentioning loss 0.1",
    ]
    metrics = parse_log_lines(lines)

    assert metrics.source == SOURCE_LOGS
    assert [(p.step, p.loss) for p in metrics.points] == [(1, 2.5), (2, 1.75)]
    assert metrics.skipped == {SKIP_LOSS_BEFORE_STEP: 1, SKIP_NOT_FINITE: 1}


def test_the_archive_csv_is_read_at_any_depth_and_its_absence_is_none() -> None:
    csv = b"step_number,training_loss\n1,0.7\n2,0.6\n"
    found = metrics_from_archive(tar_archive({f"out/{TRAINING_METRICS_ARCHIVE_FILE}": csv, "manifest.json": b"{}"}))
    assert found is not None and [p.loss for p in found.points] == [0.7, 0.6]
    assert metrics_from_archive(tar_archive({"manifest.json": b"{}"})) is None


def test_an_unreadable_archive_raises_a_tar_error() -> None:
    with pytest.raises(tarfile.TarError):
        metrics_from_archive(b"not a tar")
