from novaft.report.metrics import parse_log_lines
from novaft.report.progress import format_progress, progress_of, total_steps


def test_total_steps_from_max_steps_or_epochs_times_batches() -> None:
    assert total_steps({"training_config": {"max_steps": 100, "global_batch_size": 32}}, 10_000) == 100
    nova1 = {"training_config": {"global_batch_size": 16, "trainer": {"max_epochs": 2}}}
    assert total_steps(nova1, 100) == 14  # 2 x ceil(100 / 16)
    assert total_steps(nova1, None) is None
    assert total_steps({}, 100) is None


def test_progress_uses_the_pace_once_steps_are_logged_else_the_estimate() -> None:
    metrics = parse_log_lines(["global_step: 5 reduced_train_loss: 0.75"])
    paced = progress_of(metrics, total=20, training_seconds=100.0, estimated_hours=1.0)
    assert (paced.step, paced.loss, paced.remaining_seconds, paced.remaining_from) == (5, 0.75, 300.0, "steps")
    assert format_progress(paced, bar=False) == "step 5/20  25%  loss 0.75  elapsed 1m 40s  remaining ~5m 00s (steps)"
    assert "[######..................]  25%" in format_progress(paced, bar=True)

    early = progress_of(None, total=20, training_seconds=600.0, estimated_hours=1.0)
    assert (early.remaining_seconds, early.remaining_from) == (3000.0, "estimate")
    assert format_progress(early, bar=True).startswith("no step logged yet")
