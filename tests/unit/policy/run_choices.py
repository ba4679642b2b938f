"""The choices one run makes (model, method, adapter, instances, runtime): what a policy request and an approval ask
both start from."""

from __future__ import annotations

from typing import Any


def run_choices(**changes: Any) -> dict[str, Any]:
    """2 x ml.p5.48xlarge for 10 h of micro SFT with LoRA (inside every default policy limit), with ``changes``."""
    choices: dict[str, Any] = {
        "model": "micro",
        "method": "sft",
        "peft": "lora",
        "instance_type": "ml.p5.48xlarge",
        "instance_count": 2,
        "max_runtime_hours": 10,
    }
    return {**choices, **changes}
