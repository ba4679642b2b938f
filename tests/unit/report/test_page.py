import re
from html.parser import HTMLParser
from typing import Any

from novaft.pipeline.facts import STATUS_COMPLETED, STATUS_DATASET_INVALID
from novaft.report.metrics import parse_metrics_csv
from novaft.report.page import run_report_html, validation_report_html
from novaft.report.svg import bar_chart, line_chart, nice_ticks

HOSTILE = "<script>alert('x')</script>\"quoted\" & 'single'"


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(page: str) -> _Collector:
    collector = _Collector()
    collector.feed(page)
    return collector


def _validation_report(valid: bool = True) -> dict[str, Any]:
    errors = (
        []
        if valid
        else [
            {"file": "train", "line": 3, "code": "E_ROLE", "path": "$.messages[0].role", "message": HOSTILE},
            {"file": "train", "line": 7, "code": "E_JSON", "path": "$", "message": "not JSON"},
        ]
    )
    return {
        "valid": valid,
        "records": 10,
        "errors": errors,
        "error_counts": {} if valid else {"E_ROLE": 1, "E_JSON": 1},
        "warnings": [],
        "stats": {
            "records": 10,
            "turns": 20,
            "mean_turns": 2.0,
            "images": 1,
            "videos": 0,
            "documents": 0,
            "estimated_tokens": {
                "min": 5,
                "p50": 9,
                "p95": 40,
                "max": 44,
                "histogram": [{"from": 5, "to": 24, "records": 8}, {"from": 25, "to": 44, "records": 2}],
            },
        },
        "model": "micro",
        "method": "sft",
    }


def _run(status: str = STATUS_COMPLETED, **fields: Any) -> dict[str, Any]:
    return {
        "run_id": "r-1",
        "run_name": HOSTILE,
        "status": status,
        "attempt": 1,
        "billable_seconds": 3600,
        "training_hours": 2.0,
        "training_job_arn": "arn:aws:sagemaker:us-east-1:1:training-job/j",
        "links": {"training_job": "https://console.example/j", "evil": "javascript:alert(1)"},
        **fields,
    }


PLAN = {
    "estimate": {
        "instance_type": "ml.p5.48xlarge",
        "instance_count": 2,
        "training_hours": 1.5,
        "instance_hours": 3.0,
        "cost": 165.0,
        "price_per_instance_hour": 55.0,
        "currency": "USD",
        "notes": [],
    }
}
METRICS = parse_metrics_csv(["step_number,training_loss", "1,2.0", "2,1.5", "3,1.0"])


def _self_contained(page: str) -> None:
    parsed = _parse(page)
    assert not [tag for tag, _ in parsed.tags if tag in ("script", "link", "img", "iframe", "object")]
    assert not [attrs for _, attrs in parsed.tags if "src" in attrs]
    assert all(str(attrs.get("href", "https://")).startswith("https://") for _, attrs in parsed.tags)
    assert "Content-Security-Policy" in page


def test_completed_run_report_has_loss_curve_histogram_and_plan_against_actual() -> None:
    page = run_report_html(
        _run(), validation=_validation_report(), plan=PLAN, metrics=METRICS, evaluation=None, generated_at="now"
    )

    _self_contained(page)
    charts = [attrs.get("data-chart") for tag, attrs in _parse(page).tags if tag == "svg"]
    assert charts == ["token-histogram", "loss"]
    assert re.search(r'<polyline class="series" fill="none" points="[\d.]+,[\d.]+ [\d.]+,[\d.]+ [\d.]+,[\d.]+"', page)
    text = " ".join(_parse(page).text)
    assert "2 x ml.p5.48xlarge" in text
    assert "165.00 USD" in text and "110.00 USD" in text  # estimate, and 2 instance-hours x 55
    assert "1h 00m 00s" in text


def test_every_run_string_is_escaped_and_only_https_links_survive() -> None:
    page = run_report_html(
        _run(status=STATUS_DATASET_INVALID, failure_error="DatasetInvalid", failure_cause=HOSTILE),
        validation=_validation_report(valid=False),
        plan=None,
        metrics=None,
        evaluation={"metrics": {HOSTILE: {"fine_tuned": 0.5, "base": 0.4, "delta": 0.1}}, "gate": {"passed": True}},
        generated_at="now",
    )

    _self_contained(page)
    assert "<script>" not in page
    assert HOSTILE in "".join(_parse(page).text)  # shown, as text
    assert "javascript:" not in page


def test_failed_run_report_shows_the_failure_and_the_errors_by_line() -> None:
    page = run_report_html(
        _run(status=STATUS_DATASET_INVALID, failure_error="DatasetInvalid", failure_cause="2 errors"),
        validation=_validation_report(valid=False),
        plan=None,
        metrics=None,
        evaluation=None,
        generated_at="now",
    )

    text = " ".join(_parse(page).text)
    assert "DatasetInvalid: 2 errors" in text
    assert "Validation errors (first 2 of 2, by line)" in text
    lines = re.findall(r'<td class="num">(\d+)</td><td><code>\$', page)
    assert lines == ["3", "7"]


def test_validation_page_lists_every_error_with_line_path_code_and_message() -> None:
    page = validation_report_html(_validation_report(valid=False), path="data/<x>.jsonl", generated_at="now")

    _self_contained(page)
    text = " ".join(_parse(page).text)
    assert "Validation of data/<x>.jsonl" in text and "INVALID" in text
    for needle in ("$.messages[0].role", "E_ROLE", "E_JSON", "not JSON"):
        assert needle in text
    assert [attrs.get("data-chart") for tag, attrs in _parse(page).tags if tag == "svg"] == ["token-histogram"]


def test_charts_are_deterministic_and_cover_their_data() -> None:
    first = line_chart([(0, 1.0), (10, 0.5)], kind="loss", title="t", x_label="x", y_label="y")
    assert first == line_chart([(0, 1.0), (10, 0.5)], kind="loss", title="t", x_label="x", y_label="y")
    single = line_chart([(5, 0.3)], kind="loss", title="t", x_label="x", y_label="y")
    assert "<circle" in single
    bars = bar_chart([("a", 3), ("b", 0)], kind="h", title="t", x_label="x", y_label="y")
    heights = re.findall(r'<rect class="bar"[^>]* height="([\d.]+)"', bars)
    assert float(heights[0]) > 0 and float(heights[1]) == 0
    assert nice_ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
