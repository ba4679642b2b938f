"""Validator throughput, memory and start-up: ``python -m bench.validate_bench [--mb N] [--repeat N] [--starts N]``.

Generates synthetic text SFT and DPO datasets in a temporary folder, then for each file measures a parse-only
baseline (every line read and parsed with orjson, nothing checked) and the full validation, in the same run. Prints
MB/s, the ratio to the baseline, the peak Python heap of the validation (tracemalloc, measured in a separate pass so
it does not slow the timed one), the process peak RSS, and the time extrapolated for a 13 GB dataset on one core.

Start-up: the wall time of ``novaft validate`` on a one-line file and of importing each Lambda handler module, each
as a ratio to a bare ``python -c pass`` measured in the same run (best of ``--starts`` runs, taken in turns so that
load on a shared machine hits every command alike). A cold start pays these imports before any work.
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import orjson

from novaft.pipeline.facts import ExitCode
from novaft.validation import ValidationOptions, iter_byte_lines, validate_dataset

TARGET_DATASET_BYTES = 13 * 1000**3
REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
HANDLERS_DIR = REPOSITORY_ROOT / "lambdas" / "handlers"
# Handler-package modules that are not handlers: the shared runtime is measured through every handler importing it.
_NOT_HANDLERS = {"__init__", "runtime"}
DEFAULT_STARTS = 10
_WORDS = [
    "the",
    "customer",
    "asked",
    "about",
    "returns",
    "shipping",
    "warranty",
    "tent",
    "backpack",
    "stove",
    "jacket",
    "boots",
    "order",
    "refund",
    "size",
    "colour",
    "delivery",
    "store",
    "weekend",
    "trail",
    "rain",
    "waterproof",
    "light",
    "warm",
    "price",
    "discount",
    "policy",
    "days",
    "receipt",
    "help",
    "thanks",
]
# Real conversations carry times, labels, links and brackets: the characters that make the reserved-word check look
# closer. A share of the words (--marker-rate) is drawn from these, so the benchmark does not measure plain prose only.
_MARKED_WORDS = ["note:", "10:30", "https://shop.example.com/returns", "[1]", "<3", "step:"]
DEFAULT_MARKER_RATE = 0.02


class _Text:
    """Random sentences; ``marker_rate`` of the words come from ``_MARKED_WORDS``."""

    def __init__(self, rng: random.Random, marker_rate: float) -> None:
        self.rng = rng
        self.marker_rate = marker_rate

    def sentence(self, words: int) -> str:
        rng, rate = self.rng, self.marker_rate
        chosen = (rng.choice(_MARKED_WORDS) if rng.random() < rate else rng.choice(_WORDS) for _ in range(words))
        return " ".join(chosen).capitalize() + "."


def _sft_record(text: _Text) -> dict[str, object]:
    messages = []
    for _ in range(text.rng.choice((1, 1, 2, 3))):
        messages.append({"role": "user", "content": [{"text": text.sentence(text.rng.randint(10, 60))}]})
        messages.append({"role": "assistant", "content": [{"text": text.sentence(text.rng.randint(30, 200))}]})
    return {
        "schemaVersion": "bedrock-conversation-2024",
        "system": [{"text": "You are a helpful support agent for an outdoor gear shop."}],
        "messages": messages,
    }


def _dpo_record(text: _Text) -> dict[str, object]:
    rng = text.rng
    return {
        "schemaVersion": "bedrock-conversation-2024",
        "messages": [
            {"role": "user", "content": [{"text": text.sentence(text.rng.randint(10, 60))}]},
            {
                "role": "assistant",
                "candidates": [
                    {"content": [{"text": text.sentence(rng.randint(30, 150))}], "preferenceLabel": "preferred"},
                    {"content": [{"text": text.sentence(rng.randint(10, 80))}], "preferenceLabel": "non-preferred"},
                ],
            },
        ],
    }


def write_dataset(
    path: Path, megabytes: float, make_record: Callable[[_Text], dict[str, object]], marker_rate: float
) -> int:
    """Write about ``megabytes`` MB of records; a pool of distinct records is cycled to keep generation fast."""
    text = _Text(random.Random(7), marker_rate)
    pool = [orjson.dumps(make_record(text)) + b"\n" for _ in range(2000)]
    target = int(megabytes * 1000**2)
    written = 0
    with path.open("wb") as out:
        while written < target:
            for line in pool:
                out.write(line)
                written += len(line)
    return written


def parse_only(path: Path) -> int:
    records = 0
    with path.open("rb") as stream:
        for line in stream:
            orjson.loads(line)
            records += 1
    return records


def full_validation(path: Path, options: ValidationOptions) -> int:
    with path.open("rb") as stream:
        report = validate_dataset(iter_byte_lines(stream), options)
    if not report.error_counts.keys() <= {"too_many_records"}:
        raise SystemExit(f"benchmark data unexpectedly invalid: {report.error_counts}")
    return report.records


def _timed(run: Callable[[], int], repeat: int) -> tuple[float, float, int]:
    """Best wall seconds and best CPU seconds of this process over ``repeat`` runs (a shared machine adds only
    noise, never speed), and the records counted."""
    best_wall = best_cpu = float("inf")
    records = 0
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        records = run()
        best_wall = min(best_wall, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - start_cpu)
    return best_wall, best_cpu, records


def _peak_heap(run: Callable[[], int]) -> int:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def bench_file(
    label: str, path: Path, size: int, options: ValidationOptions, heap_sample: Path | None, repeat: int
) -> None:
    mb = size / 1000**2
    baseline_seconds, baseline_cpu, records = _timed(lambda: parse_only(path), repeat)
    validate_seconds, validate_cpu, _ = _timed(lambda: full_validation(path, options), repeat)
    print(
        f"{label}: {mb:,.1f} MB, {records:,} records "
        "(best of the runs: wall clock; CPU time of this process in brackets)"
    )
    print(
        f"  parse-only baseline  {baseline_seconds:7.2f} s  {mb / baseline_seconds:8.1f} MB/s"
        f"  [{baseline_cpu:6.2f} s  {mb / baseline_cpu:8.1f} MB/s]"
    )
    print(
        f"  full validation      {validate_seconds:7.2f} s  {mb / validate_seconds:8.1f} MB/s"
        f"  [{validate_cpu:6.2f} s  {mb / validate_cpu:8.1f} MB/s]"
    )
    print(f"  ratio to baseline    {validate_seconds / baseline_seconds:7.2f}x  [{validate_cpu / baseline_cpu:6.2f}x]")
    extrapolated = validate_seconds * TARGET_DATASET_BYTES / size
    extrapolated_cpu = validate_cpu * TARGET_DATASET_BYTES / size
    print(f"  13 GB on one core    {extrapolated / 60:7.1f} min  [{extrapolated_cpu / 60:6.1f} min] (extrapolated)")
    peak = _peak_heap(lambda: full_validation(path, options))
    print(f"  peak Python heap     {peak / 1024**2:7.1f} MiB (tracemalloc, full file)")
    if heap_sample is not None:
        small_peak = _peak_heap(lambda: full_validation(heap_sample, options))
        print(f"  peak heap, 1/10 file {small_peak / 1024**2:7.1f} MiB (flat if close to the line above)")


def _best_start_seconds(commands: dict[str, list[str]], starts: int) -> dict[str, float]:
    """Best wall seconds of each command over ``starts`` rounds; every round runs each command once, in turn."""
    best = dict.fromkeys(commands, float("inf"))
    for _ in range(starts):
        for label, command in commands.items():
            begin = time.perf_counter()
            result = subprocess.run(command, cwd=REPOSITORY_ROOT, capture_output=True, text=True, check=False)
            elapsed = time.perf_counter() - begin
            if result.returncode not in (ExitCode.OK, ExitCode.FAILED):
                raise SystemExit(f"{label} failed (exit {result.returncode}): {result.stderr.strip()[-500:]}")
            best[label] = min(best[label], elapsed)
    return best


def bench_startup(one_line_file: Path, starts: int) -> None:
    bare = "bare interpreter (python -c pass)"
    commands = {
        bare: [sys.executable, "-c", "pass"],
        "novaft validate, one-line file": [
            *(sys.executable, "-m", "novaft", "validate", str(one_line_file)),
            *("--model", "micro", "--method", "sft", "--min-records", "1"),
        ],
    }
    for handler in sorted(HANDLERS_DIR.glob("*.py")):
        if handler.stem not in _NOT_HANDLERS:
            module = f"lambdas.handlers.{handler.stem}"
            commands[f"import {module}"] = [sys.executable, "-c", f"import {module}"]
    best = _best_start_seconds(commands, starts)
    print(f"start-up: best of {starts} runs each, as a ratio to a bare interpreter start")
    width = max(map(len, commands))
    for label, seconds in best.items():
        print(f"  {label:<{width}}  {seconds * 1000:7.1f} ms  {seconds / best[bare]:5.1f}x")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=100.0, help="size of the text SFT file in MB (default 100)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each measurement; the best counts")
    parser.add_argument(
        "--marker-rate",
        type=float,
        default=DEFAULT_MARKER_RATE,
        help=f"share of words holding ':', '<' or '[' (default {DEFAULT_MARKER_RATE}; 0 = plain prose)",
    )
    parser.add_argument(
        "--starts",
        type=int,
        default=DEFAULT_STARTS,
        help=f"runs of each start-up measurement (default {DEFAULT_STARTS})",
    )
    args = parser.parse_args(argv)
    options_sft = ValidationOptions(model="lite", method="sft", max_records=0)
    options_dpo = ValidationOptions(model="lite", method="dpo", max_records=0)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        sft, sft_small, dpo = root / "sft.jsonl", root / "sft-small.jsonl", root / "dpo.jsonl"
        sft_size = write_dataset(sft, args.mb, _sft_record, args.marker_rate)
        write_dataset(sft_small, args.mb / 10, _sft_record, args.marker_rate)
        dpo_size = write_dataset(dpo, args.mb / 2, _dpo_record, args.marker_rate)
        print(f"synthetic text: {args.marker_rate:.0%} of words hold ':', '<' or '[' (--marker-rate)")
        bench_file("text SFT", sft, sft_size, options_sft, sft_small, args.repeat)
        bench_file("DPO", dpo, dpo_size, options_dpo, None, args.repeat)
        one_line = root / "one-line.jsonl"
        one_line.write_bytes(orjson.dumps(_sft_record(_Text(random.Random(7), args.marker_rate))) + b"\n")
        bench_startup(one_line, args.starts)
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"process peak RSS {rss_kib / 1024:,.1f} MiB (includes the interpreter and imports)")


if __name__ == "__main__":
    main()
