"""The HTML reports open in a real browser (headless Chromium): no console error, every chart drawn and non-empty.

Chromium is Debian's package (``apt-get install -y chromium``; ``make setup`` installs it when run as root). Without
it this test fails with that command: a report nobody opened in a browser is not checked. Screenshots are left in
``build/browser/`` as artifacts.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from novaft.local.training import SIMULATED_STEPS, simulated_loss
from novaft.pipeline.facts import STATUS_COMPLETED, STATUS_DATASET_INVALID, ExitCode
from novaft.report.metrics import parse_metrics_csv
from novaft.report.page import run_report_html

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
ARTIFACTS = REPO / "build" / "browser"
INSTALL = "sudo apt-get install -y chromium   (or `make setup` as root)"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
HOSTILE_NAME = "<script>alert(1)</script> \"run\" & 'x'"
# Chromium prints page console messages on stderr with --enable-logging=stderr: "...:INFO:CONSOLE(12)] ..." or
# "...:INFO:CONSOLE:12] ...", including a refused load under the page's Content-Security-Policy.
CONSOLE_LINE = re.compile(r":CONSOLE[(:]")


def _chromium() -> str:
    configured = os.environ.get("NOVAFT_CHROMIUM")
    found = configured or next((path for name in BROWSERS if (path := shutil.which(name))), None)
    if not found:
        pytest.fail(f"headless Chromium is needed to check the HTML reports and was not found; install it: {INSTALL}")
    return found


def _run_chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        _chromium(),
        "--headless",
        "--no-sandbox",  # the test may run as root (CI containers); the pages are our own local files
        "--disable-gpu",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


class _Charts(HTMLParser):
    """Each ``svg[data-chart]``: its name and how many drawn marks it holds (line points, bars taller than 0)."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: dict[str, int] = {}
        self._current: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "svg" and values.get("data-chart"):
            self._current = str(values["data-chart"])
            self.charts[self._current] = 0
        elif self._current and tag == "polyline":
            self.charts[self._current] += len(str(values.get("points") or "").split())
        elif self._current and tag == "rect" and float(values.get("height") or 0) > 0:
            self.charts[self._current] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._current = None


def open_in_browser(page: Path, tmp_path: Path) -> tuple[dict[str, int], list[str]]:
    """The charts of the page as the browser built its DOM, and the console lines it logged; saves a screenshot."""
    loaded = _run_chromium(tmp_path / "profile-dom", "--dump-dom", page.as_uri())
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert "</html>" in loaded.stdout, "the browser returned no document"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / f"{page.stem}.png"
    shot = _run_chromium(
        tmp_path / "profile-shot", f"--screenshot={screenshot}", "--window-size=1100,2400", page.as_uri()
    )
    assert shot.returncode == 0 and screenshot.stat().st_size > 0, shot.stderr[-2000:]
    console = [line for line in (loaded.stderr + shot.stderr).splitlines() if CONSOLE_LINE.search(line)]
    parser = _Charts()
    parser.feed(loaded.stdout)
    return parser.charts, console


def _validate(sample: str, output_format: str) -> subprocess.CompletedProcess[str]:
    command = ["validate", str(SAMPLES / sample), "--model", "lite", "--method", "sft", "--format", output_format]
    return subprocess.run([sys.executable, "-m", "novaft", *command], capture_output=True, text=True, check=False)


def _validation_page(tmp_path: Path, sample: str) -> Path:
    target = tmp_path / f"validation-{Path(sample).stem}.html"
    result = _validate(sample, "html")
    assert result.returncode in (ExitCode.OK, ExitCode.FAILED), result.stderr
    target.write_text(result.stdout, encoding="utf-8")
    return target


def _report_json(sample: str) -> dict[str, object]:
    import json

    report: dict[str, object] = json.loads(_validate(sample, "json").stdout)
    return report


def _run_report_page(target: Path, run: dict[str, Any], sample: str, **sections: Any) -> Path:
    """The run report of ``run`` (its dataset section from validating ``sample``), written to ``target``."""
    generated_at = datetime.now(UTC).isoformat()
    target.write_text(
        run_report_html(run, validation=_report_json(sample), generated_at=generated_at, **sections), encoding="utf-8"
    )
    return target


def test_the_detector_sees_a_console_error_and_a_refused_load(tmp_path: Path) -> None:
    # Without this the test below could pass on a browser that logs nothing at all.
    page = tmp_path / "broken.html"
    page.write_text('<!DOCTYPE html><html><body><script>console.error("boom")</script></body></html>')
    _, console = open_in_browser(page, tmp_path)
    assert any("boom" in line for line in console)


def test_completed_run_report_loads_cleanly_with_both_charts(tmp_path: Path) -> None:
    metrics = parse_metrics_csv(
        ["step_number,training_loss", *(f"{s},{simulated_loss(s)}" for s in range(1, SIMULATED_STEPS + 1))]
    )
    run = {
        "run_id": "browser-completed",
        "run_name": HOSTILE_NAME,
        "status": STATUS_COMPLETED,
        "billable_seconds": 5400,
        "training_hours": 3.0,
        "training_job_arn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/x",
        "training_metrics": metrics.summary.to_dict() if metrics.summary else None,
        "links": {"training_job": "https://us-east-1.console.aws.amazon.com/sagemaker/home"},
    }
    plan = {
        "estimate": {
            "instance_type": "ml.p5.48xlarge",
            "instance_count": 2,
            "training_hours": 1.4,
            "instance_hours": 2.8,
            "cost": 154.0,
            "price_per_instance_hour": 55.0,
            "currency": "USD",
        }
    }
    evaluation = {"metrics": {"accuracy": {"fine_tuned": 0.81, "base": 0.74, "delta": 0.07}}, "gate": "passed"}
    page = _run_report_page(
        tmp_path / "run-report-completed.html",
        run,
        "sft-valid.jsonl",
        plan=plan,
        metrics=metrics,
        evaluation=evaluation,
    )

    charts, console = open_in_browser(page, tmp_path)

    assert console == []
    assert set(charts) == {"loss", "token-histogram"}
    assert charts["loss"] == SIMULATED_STEPS
    assert charts["token-histogram"] >= 1


def test_failed_run_report_and_validation_page_load_cleanly(tmp_path: Path) -> None:
    run = {
        "run_id": "browser-failed",
        "run_name": HOSTILE_NAME,
        "status": STATUS_DATASET_INVALID,
        "failure_error": "DatasetInvalid",
        "failure_cause": "<img src=x onerror=alert(1)> errors in the data",
    }
    failed = _run_report_page(
        tmp_path / "run-report-failed.html", run, "sft-broken.jsonl", plan=None, metrics=None, evaluation=None
    )
    for page in (failed, _validation_page(tmp_path, "sft-broken.jsonl")):
        charts, console = open_in_browser(page, tmp_path)
        assert console == [], page.name
        assert charts.get("token-histogram", 0) >= 1, page.name
