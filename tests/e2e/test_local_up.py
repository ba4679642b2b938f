"""``novaft local up`` as a user drives it: started in one terminal, ``novaft`` commands in another, then Ctrl-C.

Everything runs as separate processes with only the settings ``local up`` printed; nothing is shared in-process.
"""

from __future__ import annotations

import os
import queue
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pytest

from novaft.local.session import READY_LINE
from novaft.pipeline import facts
from tests.e2e.conftest import REPO_ROOT, SAMPLES

pytestmark = pytest.mark.e2e

NOVAFT = [sys.executable, "-m", "novaft"]
# Long enough for `cancel` to catch a job in progress, short enough for the completed run.
TRAINING_SECONDS = 8
START_TIMEOUT_SECONDS = 240.0
STOP_TIMEOUT_SECONDS = 60.0


@dataclass
class LocalUp:
    process: subprocess.Popen[str]
    lines: list[str]
    settings: dict[str, str]

    @property
    def endpoint(self) -> tuple[str, int]:
        url = urlparse(self.settings["AWS_ENDPOINT_URL"])
        assert url.hostname is not None and url.port is not None
        return url.hostname, url.port


def _clean_environment() -> dict[str, str]:
    """This machine's environment without any AWS or novaft setting: only what `local up` printed may count."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "NOVAFT_", "MOTO_")) and name not in ("AWS_PROFILE",)
    }


def _read_lines(stream: object, into: queue.Queue[str | None]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(line.rstrip("\n"))
    into.put(None)


@pytest.fixture(scope="module")
def local_up(local_assembly: tuple[Path, float]) -> Iterator[LocalUp]:
    assembly, _ = local_assembly
    process = subprocess.Popen(
        [*NOVAFT, "local", "up", "--assembly", str(assembly), "--training-seconds", str(TRAINING_SECONDS)],
        cwd=REPO_ROOT,
        env=_clean_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    pending: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_read_lines, args=(process.stdout, pending), daemon=True).start()
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while READY_LINE not in lines:
        remaining = deadline - time.monotonic()
        assert remaining > 0, "novaft local up was not ready in time:\n" + "\n".join(lines)
        try:
            line = pending.get(timeout=remaining)
        except queue.Empty:
            continue
        assert line is not None, "novaft local up ended before it was ready:\n" + "\n".join(lines)
        lines.append(line)
    settings = dict(
        shlex.split(line.removeprefix("export "))[0].split("=", 1) for line in lines if line.startswith("export ")
    )
    up = LocalUp(process, lines, settings)
    try:
        yield up
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def novaft(up: LocalUp, *args: str, without: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """``novaft ARGS`` in another terminal that exported what `local up` printed."""
    environment = {**_clean_environment(), **{k: v for k, v in up.settings.items() if k not in without}}
    return subprocess.run(
        [*NOVAFT, *args], cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=180, check=False
    )


def _row(text: str, label: str) -> str:
    for line in text.splitlines():
        if line.startswith(label + " "):
            return line[len(label) :].strip()
    raise AssertionError(f"no {label!r} row in:\n{text}")


def test_the_printed_settings_point_at_the_local_stage(local_up: LocalUp) -> None:
    assert local_up.settings[facts.STAGE_ENV] == "local"
    assert local_up.settings["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert {"AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= set(local_up.settings)


def test_submit_status_runs_report_cancel_then_ctrl_c(local_up: LocalUp) -> None:
    sample = str(SAMPLES / "sft-valid.jsonl")
    submitted = novaft(
        local_up, "submit", sample, "--run", "up-happy", "--wait", "--interval", "0.5", "--timeout", "120"
    )
    assert submitted.returncode == facts.ExitCode.OK, submitted.stdout + submitted.stderr

    status = novaft(local_up, "status", "up-happy")
    assert status.returncode == facts.ExitCode.OK, status.stderr
    assert _row(status.stdout, "status") == facts.STATUS_COMPLETED
    assert _row(status.stdout, "training").startswith("Completed")

    runs = novaft(local_up, "runs")
    assert runs.returncode == facts.ExitCode.OK, runs.stderr
    assert any(row.split()[:1] == ["up-happy"] and facts.STATUS_COMPLETED in row for row in runs.stdout.splitlines())
    # Without the exported stage, discovery finds the one pipeline stack the emulator holds.
    unstaged = novaft(local_up, "runs", without=(facts.STAGE_ENV,))
    assert unstaged.returncode == facts.ExitCode.OK and "up-happy" in unstaged.stdout, unstaged.stderr

    report = novaft(local_up, "report", "up-happy")
    assert report.returncode == facts.ExitCode.OK, report.stderr
    assert report.stdout.splitlines()[0].endswith(": valid")

    assert novaft(local_up, "submit", sample, "--run", "up-cancel").returncode == facts.ExitCode.OK
    deadline = time.monotonic() + 60
    while "training    InProgress" not in (current := novaft(local_up, "status", "up-cancel")).stdout:
        assert time.monotonic() < deadline, f"up-cancel never started training:\n{current.stdout}{current.stderr}"
        time.sleep(0.5)
    cancelled = novaft(local_up, "cancel", "up-cancel", "--interval", "0.5", "--timeout", "30")
    assert cancelled.returncode == facts.ExitCode.OK, cancelled.stdout + cancelled.stderr
    assert "stopping training job novaft-up-cancel-" in cancelled.stdout
    assert _row(cancelled.stdout, "status") == facts.STATUS_STOPPED

    local_up.process.send_signal(signal.SIGINT)
    assert local_up.process.wait(timeout=STOP_TIMEOUT_SECONDS) == facts.ExitCode.OK
    with pytest.raises(ProcessLookupError):
        os.kill(local_up.process.pid, 0)
    with pytest.raises(ConnectionRefusedError), socket.create_connection(local_up.endpoint, timeout=5):
        pass
