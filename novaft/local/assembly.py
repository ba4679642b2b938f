"""Synthesize the real CDK app for the local emulated AWS, offline, with short waits.

The Lambda dependency layer is built for the functions' architecture and cannot be imported here (the local runner
takes third-party packages from this environment instead), so the local synth uses an empty stand-in layer marked as
built from the current requirements.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

LOCAL_STAGE = "local"
# The workflow's Wait between two DescribeTrainingJob calls (stage setting poll_interval_seconds). The stage model
# allows 60 s at least; the emulator cuts Wait states short instead (TrainingSimulator.max_wait_state_seconds).
LOCAL_POLL_INTERVAL_SECONDS = 60
# Covers the default job's 24 h runtime (SDK default); locally the Waits are shortened, so no run takes that long.
LOCAL_MAX_TRAINING_HOURS = 24
LOCAL_DEFAULT_JOB = {"model": "micro", "method": "sft", "peft": "lora"}


def local_context(
    repo_root: Path, poll_interval_seconds: int = LOCAL_POLL_INTERVAL_SECONDS, policy: dict[str, Any] | None = None
) -> dict[str, Any]:
    """cdk.json's context with a ``local`` stage: the ``dev`` stage's settings, short polling, and ``policy`` (keys of
    the stage policy) over the dev stage's policy when given."""
    from stacks.config import STAGE_CONTEXT_KEY, STAGES_CONTEXT_KEY

    context: dict[str, Any] = json.loads((repo_root / "cdk.json").read_text())["context"]
    stages = context[STAGES_CONTEXT_KEY]
    base = dict(stages.get("dev") or next(iter(stages.values())))
    local_stage = {
        **base,
        "region": "us-east-1",
        "account": None,
        "notification_email": None,
        "vpc": None,
        "poll_interval_seconds": poll_interval_seconds,
        "max_training_hours": LOCAL_MAX_TRAINING_HOURS,
        # A job spec the local run can always render, whatever the deployed stages use.
        "default_job": LOCAL_DEFAULT_JOB,
    }
    if policy is not None:
        local_stage["policy"] = {**(base.get("policy") or {}), **policy}
    return {**context, STAGE_CONTEXT_KEY: LOCAL_STAGE, STAGES_CONTEXT_KEY: {LOCAL_STAGE: local_stage}}


def _stand_in_layer(repo_root: Path) -> Path:
    from stacks.layer_manifest import LAYER_REQUIREMENTS, MARKER_NAME, requirements_hash

    layer_dir = Path(tempfile.mkdtemp(prefix="novaft-local-layer-"))
    (layer_dir / "python").mkdir()
    (layer_dir / "python" / "README.txt").write_text("stand-in layer for the local emulated AWS\n")
    (layer_dir / MARKER_NAME).write_text(requirements_hash(repo_root / LAYER_REQUIREMENTS))
    return layer_dir


def synthesize_local(
    outdir: Path, poll_interval_seconds: int = LOCAL_POLL_INTERVAL_SECONDS, policy: dict[str, Any] | None = None
) -> Path:
    """Synthesize ``Novaft-local-Data`` and ``Novaft-local-Pipeline`` into ``outdir``; returns the assembly dir."""
    from stacks.app_factory import REPO_ROOT, build_app

    app = build_app(
        local_context(REPO_ROOT, poll_interval_seconds, policy),
        str(outdir),
        default_region="us-east-1",
        layer_dir=_stand_in_layer(REPO_ROOT),
    )
    return Path(app.synth().directory)


def synthesize_local_timed(outdir: Path) -> tuple[Path, float]:
    """``synthesize_local`` with the defaults, and how many seconds it took (the slow part of starting locally)."""
    started = time.monotonic()
    assembly = synthesize_local(outdir)
    return assembly, time.monotonic() - started
