"""The dashboard: every metric the handlers publish, in the widget of its table, with the statistic that fits it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from novaft.pipeline import facts
from tests.infrastructure.conftest import STAGE, SynthesizedApp

COUNTED = {**facts.RUN_COUNT_METRICS, **facts.EVALUATION_COUNT_METRICS, facts.METRIC_TRAINING_HOURS: "Training hours"}


def _dashboard_metrics(synthesized: SynthesizedApp) -> dict[str, tuple[str, dict[str, Any]]]:
    """Each metric of namespace METRICS_NAMESPACE on the dashboard: the title of its widget and its options."""
    resources = synthesized.template_dict("Pipeline")["Resources"]
    (dashboard,) = (resource for resource in resources.values() if resource["Type"] == "AWS::CloudWatch::Dashboard")
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    # The body is JSON joined with tokens (region, state machine ARN); the tokens sit inside strings only.
    body = json.loads("".join(part if isinstance(part, str) else "token" for part in parts))
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for widget in body["widgets"]:
        properties = widget["properties"]
        for metric in properties.get("metrics", []):
            if metric[0] != facts.METRICS_NAMESPACE:
                continue
            _namespace, name, dimension, value, options = metric
            assert (dimension, value) == ("service", facts.service_name(STAGE)), name
            found[name] = (properties["title"], options)
    return found


def test_the_dashboard_shows_exactly_the_metrics_of_the_facts_tables(synthesized: SynthesizedApp) -> None:
    assert set(_dashboard_metrics(synthesized)) == {*COUNTED, *facts.QUEUE_GAUGE_METRICS}


@pytest.mark.parametrize(
    ("table", "title", "statistic"),
    [
        (facts.RUN_COUNT_METRICS, "Runs by status", "Sum"),
        (facts.EVALUATION_COUNT_METRICS, "Evaluation gate", "Sum"),
        # A gauge: shown as its maximum, as a sum would count each waiting run once per poll.
        (facts.QUEUE_GAUGE_METRICS, "Training queue depth", "Maximum"),
    ],
)
def test_each_metric_is_shown_in_its_widget_with_its_label_and_statistic(
    synthesized: SynthesizedApp, table: dict[str, str], title: str, statistic: str
) -> None:
    shown = _dashboard_metrics(synthesized)
    for name, label in table.items():
        widget, options = shown[name]
        assert (widget, options["label"], options.get("stat", "Average")) == (title, label, statistic), name
