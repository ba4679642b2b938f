"""``novaft local up`` (``make local``): the emulated AWS with both stacks deployed, kept up for other terminals.

It prints the settings to export; with them, ``novaft submit / status / runs / report / cancel`` in another terminal
drive the local pipeline without extra flags. It runs until Ctrl-C or SIGTERM, then stops the emulator.
"""

from __future__ import annotations

import os
import shlex
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from novaft.local.assembly import LOCAL_STAGE
from novaft.pipeline.facts import STAGE_ENV, pipeline_stack_name

REPO_ROOT = Path(__file__).resolve().parents[2]
ASSEMBLY_DIR = REPO_ROOT / "build" / "local-up-cdk.out"
DEFAULT_TRAINING_SECONDS = 20.0
# Workflow Wait states (the poll between two DescribeTrainingJob calls) are cut to this on the emulator.
WAIT_STATE_SECONDS = 1.0
READY_LINE = "novaft local: ready; stop with Ctrl-C"
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# What another terminal needs: where the emulator listens, its region, its dummy credentials, the stage.
_EXPORTED = (
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)


def settings_to_export(environment: dict[str, str]) -> dict[str, str]:
    """The variables another shell exports to use the emulator, taken from the emulator's own environment."""
    return {**{name: environment[name] for name in _EXPORTED}, STAGE_ENV: LOCAL_STAGE}


def _say(text: str) -> None:
    # Flushed at once: the settings are read from a pipe by whoever started the command.
    print(text, flush=True)


def export_lines(settings: dict[str, str]) -> list[str]:
    return [f"export {name}={shlex.quote(value)}" for name, value in settings.items()]


@contextmanager
def stop_requested() -> Iterator[threading.Event]:
    """An event set by the first SIGINT or SIGTERM; the previous handlers are back afterwards."""
    stop = threading.Event()

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {number: signal.signal(number, handle) for number in _STOP_SIGNALS}
    try:
        yield stop
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def local_up(
    *,
    training_seconds: float = DEFAULT_TRAINING_SECONDS,
    assembly: Path | None = None,
    say: Callable[[str], None] = _say,
) -> None:
    """Synthesize (unless ``assembly`` is given), start the emulator, deploy, print the settings, wait for a stop."""
    from novaft.local.assembly import synthesize_local_timed
    from novaft.local.deploy import deploy_assembly
    from novaft.local.server import local_aws
    from novaft.local.training import TrainingSimulator

    with stop_requested() as stop:
        if assembly is None:
            say("novaft local: synthesizing the CDK app ...")
            assembly, synth_seconds = synthesize_local_timed(ASSEMBLY_DIR)
            say(f"novaft local: synthesized in {synth_seconds:.1f} s")
        with local_aws(simulator=TrainingSimulator.for_local_runs(training_seconds, WAIT_STATE_SECONDS)) as aws:
            say(f"novaft local: {aws.notice}")
            deploy_assembly(assembly, on_progress=lambda message: say(f"novaft local:   {message}"))
            say(f"novaft local: deployed {pipeline_stack_name(LOCAL_STAGE)}; in another terminal run:")
            for line in export_lines(settings_to_export(dict(os.environ))):
                say(line)
            say(READY_LINE)
            stop.wait()
            say("novaft local: stopping the emulated AWS")
        say("novaft local: stopped")
