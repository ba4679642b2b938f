"""Reading evaluation archives, comparing with the base model and the gate (novaft/pipeline/evaluation_results.py)."""

from __future__ import annotations

import io
import json

import pytest

from novaft.pipeline.errors import EvaluationFailed
from novaft.pipeline.evaluation_results import (
    MAX_RESULTS_BYTES,
    Gate,
    apply_gate,
    compare,
    evaluation_document,
    read_results_archive,
    task_metrics,
)
from novaft.pipeline.facts import GATE_FAILED, GATE_PASSED
from tests.unit.archives import tar_archive

GEN_QA = {
    "rouge1": 0.5,
    "rouge1_stderr": 0.01,
    "rouge2": 0.3,
    "rougeL": 0.45,
    "em": 0.2,
    "qem": 0.25,
    "f1": 0.4,
    "bleu": 21.0,
    "bleu_stderr": 1.2,
}


def _archive(files: dict[str, bytes], *, link: str | None = None) -> io.BytesIO:
    return io.BytesIO(tar_archive(files, link=link))


def _results(entries: dict[str, dict[str, float]]) -> bytes:
    return json.dumps({"results": entries}).encode()


def test_reads_gen_qa_metrics_without_stderr_from_the_newest_results_file() -> None:
    older = _results({"custom|gen_qa_gen_qa|0": {"rouge1": 0.1}})
    newer = _results({"custom|gen_qa_gen_qa|0": GEN_QA})
    stream = _archive(
        {
            "my-run/eval_results/results_2026-01-01T00-00-00.json": older,
            "my-run/eval_results/inference_output.jsonl": b"{}\n",
            "my-run/eval_results/results_2026-02-01T00-00-00.json": newer,
        }
    )
    document = read_results_archive(stream, source="s3://b/out.tar.gz")
    metrics = task_metrics("gen_qa", document, source="x")
    assert metrics == {"rouge1": 0.5, "rouge2": 0.3, "rougeL": 0.45, "em": 0.2, "qem": 0.25, "f1": 0.4, "bleu": 21.0}


def test_benchmark_metrics_come_from_the_entry_naming_the_task() -> None:
    document = {"results": {"custom|mmlu|0": {"accuracy": 0.7, "accuracy_stderr": 0.01}, "all": {"accuracy": 0.1}}}
    assert task_metrics("mmlu", document, source="x") == {"accuracy": 0.7}
    assert task_metrics("gpqa", {"results": {"all": {"accuracy": 0.3}}}, source="x") == {"accuracy": 0.3}


def test_missing_task_names_the_entries_found() -> None:
    with pytest.raises(EvaluationFailed, match=r"no results for task gen_qa \(entries: custom\|mmlu\|0\)"):
        task_metrics("gen_qa", {"results": {"custom|mmlu|0": {"accuracy": 0.7}}}, source="x")


@pytest.mark.parametrize(
    ("files", "link", "message"),
    [
        ({"run/other.json": b"{}"}, None, "no eval_results/results_<timestamp>.json"),
        ({"/abs/eval_results/results_1.json": _results({})}, None, "points outside the archive"),
        ({"run/../eval_results/results_1.json": _results({})}, None, "points outside the archive"),
        ({}, "run/eval_results/results_1.json", "is a link"),
        ({"run/eval_results/results_1.json": b"{not json"}, None, "is not valid JSON"),
        ({"run/eval_results/results_1.json": b"[]"}, None, "has no 'results' object"),
    ],
)
def test_refuses_unsafe_or_unusable_archives(files: dict[str, bytes], link: str | None, message: str) -> None:
    with pytest.raises(EvaluationFailed, match=message):
        read_results_archive(_archive(files, link=link), source="s3://b/out.tar.gz")


def test_refuses_an_oversized_results_member_without_reading_it() -> None:
    big = b" " * (MAX_RESULTS_BYTES + 1)
    with pytest.raises(EvaluationFailed, match="bytes, at most"):
        read_results_archive(_archive({"r/eval_results/results_1.json": big}), source="s")


def test_refuses_a_file_that_is_not_an_archive() -> None:
    with pytest.raises(EvaluationFailed, match=r"not a readable tar\.gz archive"):
        read_results_archive(io.BytesIO(b"plain text"), source="s")


def test_compare_gives_fine_tuned_base_and_delta_per_task_metric() -> None:
    table = compare({"gen_qa": {"rougeL": 0.5, "f1": 0.4}}, {"gen_qa": {"rougeL": 0.45}})
    assert table == {
        "gen_qa.f1": {"fine_tuned": 0.4, "base": None, "delta": None},
        "gen_qa.rougeL": {"fine_tuned": 0.5, "base": 0.45, "delta": 0.05},
    }


def test_gate_passes_when_both_bars_are_met_and_accepts_the_short_metric_name() -> None:
    table = compare({"gen_qa": {"rougeL": 0.5}}, {"gen_qa": {"rougeL": 0.45}})
    verdict = apply_gate(Gate(metric="rougeL", min=0.4, min_delta_vs_base=0.02), table)
    assert verdict["result"] == GATE_PASSED
    assert verdict["metric"] == "gen_qa.rougeL"
    assert verdict["value"] == 0.5
    assert "reasons" not in verdict


def test_gate_fails_with_each_reason() -> None:
    table = compare({"gen_qa": {"rougeL": 0.3}}, {"gen_qa": {"rougeL": 0.29}})
    verdict = apply_gate(Gate(metric="gen_qa.rougeL", min=0.4, min_delta_vs_base=0.05), table)
    assert verdict["result"] == GATE_FAILED
    assert verdict["reasons"] == [
        "gen_qa.rougeL is 0.3, below the minimum 0.4",
        "gen_qa.rougeL changed by +0.01 against the base, less than +0.05",
    ]


def test_gate_without_a_base_result_fails_on_the_delta_bar() -> None:
    verdict = apply_gate(Gate(metric="gen_qa.f1", min_delta_vs_base=0.0), compare({"gen_qa": {"f1": 0.9}}, None))
    assert verdict["result"] == GATE_FAILED
    assert "no base result" in verdict["reasons"][0]


def test_gate_on_a_metric_that_was_not_reported_fails() -> None:
    verdict = apply_gate(Gate(metric="mmlu.accuracy", min=0.1), compare({"gen_qa": {"f1": 0.9}}, None))
    assert verdict["result"] == GATE_FAILED
    assert verdict["reasons"] == ["no result for metric mmlu.accuracy (results: gen_qa.f1)"]


def test_evaluation_document_has_the_report_shape() -> None:
    document = evaluation_document(
        {"mmlu": {"accuracy": 0.7}},
        {"mmlu": {"accuracy": 0.6}},
        Gate(metric="accuracy", min=0.5),
        jobs={"mmlu.fine_tuned": "job-a", "mmlu.base": "job-b"},
    )
    assert document["metrics"]["mmlu.accuracy"] == {"fine_tuned": 0.7, "base": 0.6, "delta": 0.1}
    assert document["gate"]["result"] == GATE_PASSED
    assert list(document["jobs"]) == ["mmlu.base", "mmlu.fine_tuned"]
