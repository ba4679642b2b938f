"""The code every function shares: one asset of the repository's own packages plus one dependency layer."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from novaft.errors import UsageError
from stacks.layer_manifest import LAYER_REQUIREMENTS, MARKER_NAME, built_hash, requirements_hash

RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64

# The asset is the repository root filtered down to the packages the handlers import. CDK's exclude globs apply in
# order and the last match wins, so "*" drops everything and each "!" line brings one tree back.
SHARED_CODE_EXCLUDES = [
    "*",
    "!novaft",
    "!novaft/**",
    "!lambdas",
    "!lambdas/**",
    "!recipes",
    "!recipes/**",
    # Local-only parts of the package: the emulated AWS (needs moto) and the command line.
    "novaft/local",
    "novaft/cli",
    "**/__pycache__",
    "**/*.pyc",
    # "*" does not match names that start with a dot (.git, .venv, caches), so they are dropped explicitly.
    # ("**/.*" would also work but makes CDK walk every directory, .venv included: 14 s instead of 0.7 s.)
    ".*",
]


class LayerNotBuilt(UsageError):
    """The dependency layer directory is missing or was built from other requirements."""


def shared_code(repo_root: Path) -> lambda_.Code:
    return lambda_.Code.from_asset(str(repo_root), exclude=SHARED_CODE_EXCLUDES)


def dependency_layer(scope: Construct, construct_id: str, *, layer_dir: Path, repo_root: Path) -> lambda_.LayerVersion:
    """The third-party packages (pydantic, PyYAML, orjson, Powertools) as one layer built without Docker."""
    check_layer_built(layer_dir, repo_root / LAYER_REQUIREMENTS)
    return lambda_.LayerVersion(
        scope,
        construct_id,
        code=lambda_.Code.from_asset(str(layer_dir), exclude=[MARKER_NAME]),
        compatible_runtimes=[RUNTIME],
        compatible_architectures=[ARCHITECTURE],
        description="novaft third-party dependencies (requirements-lambda.txt)",
    )


def check_layer_built(layer_dir: Path, requirements_file: Path) -> None:
    """Fail with the fix when the layer is absent or stale."""
    if not (layer_dir / "python").is_dir():
        raise LayerNotBuilt(
            f"the Lambda dependency layer is not built ({layer_dir / 'python'} is missing); run `make setup`"
        )
    if built_hash(layer_dir) != requirements_hash(requirements_file):
        raise LayerNotBuilt(
            f"the Lambda dependency layer in {layer_dir} was built from other requirements than "
            f"{requirements_file.name}; run `make setup` to rebuild it"
        )
