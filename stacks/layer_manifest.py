"""Identity of the built dependency layer, shared by scripts/build_lambda_layer.py and the CDK app (no CDK imports).

The build writes the hash of its inputs next to the layer; the app refuses to synth a layer built from other
requirements, so a stale ``build/`` never ships silently.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

LAYER_DIR = Path("build") / "lambda-layer"
LAYER_REQUIREMENTS = Path("requirements-lambda.txt")
MARKER_NAME = ".requirements.sha256"
# What the layer is built for: the functions' runtime and architecture (stacks/constructs/house_function.py).
LAYER_PYTHON_VERSION = "3.14"
LAYER_PLATFORM = "manylinux2014_aarch64"


def requirements_hash(requirements_file: Path) -> str:
    """SHA-256 over the requirements text and the target platform, so a platform change also rebuilds."""
    digest = hashlib.sha256()
    digest.update(f"{LAYER_PLATFORM} cp{LAYER_PYTHON_VERSION}\n".encode())
    digest.update(requirements_file.read_bytes())
    return digest.hexdigest()


def built_hash(layer_dir: Path) -> str | None:
    marker = layer_dir / MARKER_NAME
    return marker.read_text().strip() if marker.is_file() else None
