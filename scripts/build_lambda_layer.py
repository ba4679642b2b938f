#!/usr/bin/env python3
"""Build the Lambda dependency layer (build/lambda-layer/python) from requirements-lambda.txt, without Docker.

pip downloads the wheels for the functions' platform (Linux arm64, CPython 3.14) whatever machine runs this.
The build is skipped when the directory was already built from the same requirements (hash in a marker file).
Usage: python scripts/build_lambda_layer.py [--force]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from stacks.layer_manifest import (  # noqa: E402  (the repository root must be importable first)
    LAYER_DIR,
    LAYER_PLATFORM,
    LAYER_PYTHON_VERSION,
    LAYER_REQUIREMENTS,
    MARKER_NAME,
    built_hash,
    requirements_hash,
)


def build(layer_dir: Path, requirements_file: Path, *, force: bool) -> bool:
    """Build the layer; returns False when it was already up to date."""
    wanted = requirements_hash(requirements_file)
    if not force and built_hash(layer_dir) == wanted and (layer_dir / "python").is_dir():
        return False
    if layer_dir.exists():
        shutil.rmtree(layer_dir)
    target = layer_dir / "python"
    target.mkdir(parents=True)
    command = [
        sys.executable, "-m", "pip", "install",
        "--quiet", "--disable-pip-version-check", "--no-compile",
        "--platform", LAYER_PLATFORM,
        "--implementation", "cp",
        "--python-version", LAYER_PYTHON_VERSION,
        "--only-binary=:all:",
        # The requirements file pins the whole closure; --no-deps keeps boto3/botocore (in the runtime) out.
        "--no-deps",
        "--target", str(target),
        "-r", str(requirements_file),
    ]  # fmt: skip
    subprocess.run(command, check=True)
    # Wheel metadata directories are kept: importlib.metadata (Powertools, pydantic) reads versions from them.
    for cache in target.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)
    (layer_dir / MARKER_NAME).write_text(wanted + "\n")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--force", action="store_true", help="rebuild even when the layer is up to date")
    args = parser.parse_args(argv)
    layer_dir = REPO_ROOT / LAYER_DIR
    try:
        built = build(layer_dir, REPO_ROOT / LAYER_REQUIREMENTS, force=args.force)
    except subprocess.CalledProcessError as error:
        print(f"build_lambda_layer: pip failed (exit {error.returncode}); see its message above", file=sys.stderr)
        return 1
    print(f"lambda layer {'built' if built else 'up to date'}: {LAYER_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
