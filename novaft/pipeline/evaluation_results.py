"""Results of Nova evaluation jobs: read them out of the output archive, compare with the base model, apply the gate.

An evaluation job writes ``<output>/<job>/output/output.tar.gz`` holding
``<run.name>/eval_results/results_<timestamp>.json`` beside ``inference_output.jsonl``, parquet details and
TensorBoard files (Nova user guide, "Access and analyze evaluation results"). The results JSON keeps each task's
metrics under ``results``: bring-your-own-dataset (gen_qa) under ``"custom|gen_qa_gen_qa|0"`` with rouge1, rouge2,
rougeL, em, qem, f1 and bleu, each with a ``_stderr`` twin.

The archive is read as a stream: members are visited once in order, only the results JSON is read (at most
``MAX_RESULTS_BYTES``), and an archive with links, absolute paths or ``..`` is refused, so a hostile or corrupt archive
costs neither memory nor trust. The rest is plain arithmetic on the numbers found.
"""

from __future__ import annotations

import re
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

import orjson

from novaft.pipeline.errors import EvaluationFailed
from novaft.pipeline.facts import GATE_FAILED, GATE_PASSED

# A results JSON is a few kilobytes; anything far larger is not one.
MAX_RESULTS_BYTES = 4 * 1024 * 1024
# Members visited before giving up (parquet details come one file per task and sample shard).
MAX_ARCHIVE_MEMBERS = 10_000
RESULTS_PATH = re.compile(r"(^|/)eval_results/results_[^/]*\.json$")
GEN_QA_RESULTS_KEY = "custom|gen_qa_gen_qa|0"
GEN_QA_METRICS = ("rouge1", "rouge2", "rougeL", "em", "qem", "f1", "bleu")
STDERR_SUFFIX = "_stderr"
# Lighteval-style aggregate entry the benchmark results carry beside the per-task ones.
AGGREGATE_RESULTS_KEY = "all"

# {task: {metric: value}}
TaskMetrics = dict[str, dict[str, float]]


def read_results_archive(stream: BinaryIO, *, source: str) -> dict[str, Any]:
    """The results JSON in an evaluation job's ``output.tar.gz`` (the newest when there are several).

    ``source`` names the archive in errors; every problem is ``EvaluationFailed``.
    """
    found: tuple[str, bytes] | None = None
    try:
        with tarfile.open(fileobj=stream, mode="r|*") as archive:
            for count, member in enumerate(archive, start=1):
                if count > MAX_ARCHIVE_MEMBERS:
                    raise EvaluationFailed(f"{source}: more than {MAX_ARCHIVE_MEMBERS:,} files in the archive")
                _refuse_unsafe(member, source)
                if not member.isfile() or not RESULTS_PATH.search(member.name):
                    continue
                if member.size > MAX_RESULTS_BYTES:
                    raise EvaluationFailed(
                        f"{source}: {member.name} is {member.size:,} bytes, at most {MAX_RESULTS_BYTES:,} expected"
                    )
                extracted = archive.extractfile(member)
                body = extracted.read(MAX_RESULTS_BYTES + 1) if extracted else b""
                # Timestamps in the names sort in time order: keep the newest.
                if found is None or member.name > found[0]:
                    found = (member.name, body)
    except (tarfile.TarError, OSError, EOFError) as error:
        raise EvaluationFailed(f"{source}: not a readable tar.gz archive ({error})") from None
    if found is None:
        raise EvaluationFailed(f"{source}: no eval_results/results_<timestamp>.json in the archive")
    name, body = found
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise EvaluationFailed(f"{source}: {name} is not valid JSON ({error})") from None
    if not isinstance(document, dict) or not isinstance(document.get("results"), dict):
        raise EvaluationFailed(f"{source}: {name} has no 'results' object")
    return document


def _refuse_unsafe(member: tarfile.TarInfo, source: str) -> None:
    if member.issym() or member.islnk():
        raise EvaluationFailed(f"{source}: {member.name} is a link; evaluation archives hold plain files")
    parts = member.name.split("/")
    if member.name.startswith("/") or ".." in parts:
        raise EvaluationFailed(f"{source}: {member.name} points outside the archive")


def task_metrics(task: str, document: Mapping[str, Any], *, source: str) -> dict[str, float]:
    """The metrics of ``task`` in a results document, without their ``_stderr`` twins.

    gen_qa: the entry ``custom|gen_qa_gen_qa|0``. Other tasks: the entry whose key names the task
    (``custom|mmlu|0``), else the aggregate ``all``.
    """
    results = document.get("results")
    if not isinstance(results, Mapping):
        raise EvaluationFailed(f"{source}: no 'results' object")
    entry: Any = None
    if task == "gen_qa":
        entry = results.get(GEN_QA_RESULTS_KEY)
    else:
        named = [value for key, value in results.items() if task in str(key).split("|")]
        entry = named[0] if len(named) == 1 else results.get(AGGREGATE_RESULTS_KEY)
    if not isinstance(entry, Mapping):
        raise EvaluationFailed(f"{source}: no results for task {task} (entries: {', '.join(map(str, results))})")
    metrics = {
        str(name): float(value)
        for name, value in entry.items()
        if not str(name).endswith(STDERR_SUFFIX) and isinstance(value, int | float) and not isinstance(value, bool)
    }
    if not metrics:
        raise EvaluationFailed(f"{source}: the results for task {task} hold no numbers")
    return metrics


def metric_name(task: str, metric: str) -> str:
    """How a metric is named in evaluation.json and on the run record: ``<task>.<metric>``."""
    return f"{task}.{metric}"


@dataclass(frozen=True)
class Gate:
    """job.yaml ``evaluation.gate``: ``metric`` (``task.metric``, or the metric alone when one task has it)."""

    metric: str
    min: float | None = None
    min_delta_vs_base: float | None = None


def compare(fine_tuned: TaskMetrics, base: TaskMetrics | None) -> dict[str, dict[str, float | None]]:
    """Per ``task.metric``: the fine-tuned value, the base value and their difference (None without a base)."""
    table: dict[str, dict[str, float | None]] = {}
    for task in sorted(fine_tuned):
        for metric in sorted(fine_tuned[task]):
            value = fine_tuned[task][metric]
            base_value = (base or {}).get(task, {}).get(metric)
            delta = None if base_value is None else round(value - base_value, 6)
            table[metric_name(task, metric)] = {"fine_tuned": value, "base": base_value, "delta": delta}
    return table


def resolve_gate_metric(metric: str, names: list[str]) -> str | None:
    """The ``task.metric`` a gate names, or None when no metric (or more than one task's) matches."""
    if metric in names:
        return metric
    matches = [name for name in names if name.split(".", 1)[1] == metric]
    return matches[0] if len(matches) == 1 else None


def apply_gate(gate: Gate, table: Mapping[str, Mapping[str, float | None]]) -> dict[str, Any]:
    """The gate's verdict: ``result`` passed or failed (and ``passed``), the values it judged and, when failed, why."""
    resolved = resolve_gate_metric(gate.metric, sorted(table))
    verdict: dict[str, Any] = {
        "metric": resolved or gate.metric,
        "min": gate.min,
        "min_delta_vs_base": gate.min_delta_vs_base,
    }
    reasons: list[str] = []
    if resolved is None:
        reasons.append(f"no result for metric {gate.metric} (results: {', '.join(sorted(table)) or 'none'})")
    else:
        row = table[resolved]
        value, delta = row.get("fine_tuned"), row.get("delta")
        verdict.update(value=value, delta=delta)
        if gate.min is not None and (value is None or value < gate.min):
            reasons.append(f"{resolved} is {value}, below the minimum {gate.min}")
        if gate.min_delta_vs_base is not None:
            if delta is None:
                reasons.append(f"{resolved} has no base result to compare with (set compare_with_base: true)")
            elif delta < gate.min_delta_vs_base:
                reasons.append(
                    f"{resolved} changed by {delta:+g} against the base, less than {gate.min_delta_vs_base:+g}"
                )
    verdict["result"] = GATE_FAILED if reasons else GATE_PASSED
    # ``passed`` and ``reason`` are what the deployment step reads (novaft.pipeline.deployment.gate_blocks).
    verdict["passed"] = not reasons
    if reasons:
        verdict["reasons"] = reasons
        verdict["reason"] = "; ".join(reasons)
    return verdict


def evaluation_document(
    fine_tuned: TaskMetrics, base: TaskMetrics | None, gate: Gate | None, *, jobs: Mapping[str, str]
) -> dict[str, Any]:
    """What ``runs/<run_id>/evaluation.json`` holds: ``metrics`` ({name: {fine_tuned, base, delta}}), ``gate`` (the
    verdict, when the job asked for one), and ``jobs`` (the evaluation job of each task and side)."""
    table = compare(fine_tuned, base)
    document: dict[str, Any] = {"metrics": table}
    if gate is not None:
        document["gate"] = apply_gate(gate, table)
    document["jobs"] = dict(sorted(jobs.items()))
    return document
