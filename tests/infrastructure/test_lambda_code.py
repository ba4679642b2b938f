"""The shared code asset and the dependency layer checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from stacks.app_factory import REPO_ROOT
from stacks.lambda_code import LayerNotBuilt, check_layer_built
from stacks.layer_manifest import LAYER_REQUIREMENTS, MARKER_NAME
from tests.infrastructure.conftest import SynthesizedApp, make_fake_layer


def test_missing_layer_says_run_make_setup(tmp_path: Path) -> None:
    with pytest.raises(LayerNotBuilt, match="run `make setup`"):
        check_layer_built(tmp_path / "nothing", REPO_ROOT / LAYER_REQUIREMENTS)


def test_stale_layer_is_refused(tmp_path: Path) -> None:
    layer = make_fake_layer(tmp_path)
    (layer / MARKER_NAME).write_text("0" * 64)
    with pytest.raises(LayerNotBuilt, match="other requirements"):
        check_layer_built(layer, REPO_ROOT / LAYER_REQUIREMENTS)


def test_built_layer_passes(tmp_path: Path) -> None:
    check_layer_built(make_fake_layer(tmp_path), REPO_ROOT / LAYER_REQUIREMENTS)


def test_layer_requirements_leave_out_the_runtime_sdk() -> None:
    names = {
        line.split("==")[0].lower()
        for line in (REPO_ROOT / LAYER_REQUIREMENTS).read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert {"pydantic", "pyyaml", "orjson", "aws-lambda-powertools", "aws-xray-sdk", "wrapt"} <= names
    assert not names & {"boto3", "botocore", "s3transfer"}


def test_layer_pins_match_the_lock() -> None:
    lock = {
        line.split("==")[0].lower().replace("_", "-"): line.split("==")[1]
        for line in (REPO_ROOT / "requirements.lock").read_text().splitlines()
        if "==" in line
    }
    for line in (REPO_ROOT / LAYER_REQUIREMENTS).read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            assert lock[name.lower().replace("_", "-")] == version, name


def _code_asset(synthesized: SynthesizedApp) -> Path:
    """The staged directory holding lambdas/ (the shared code asset)."""
    (asset,) = [path for path in synthesized.outdir.glob("asset.*") if (path / "lambdas").is_dir()]
    return asset


def test_code_asset_holds_only_the_packages(synthesized: SynthesizedApp) -> None:
    top_level = {path.name for path in _code_asset(synthesized).iterdir()}
    assert top_level <= {"novaft", "lambdas", "recipes"}
    assert {"novaft", "lambdas"} <= top_level


@pytest.mark.parametrize("absent", ["novaft/local", "novaft/cli", "stacks", "tests", ".venv", ".git", "node_modules"])
def test_code_asset_leaves_out_local_only_code(synthesized: SynthesizedApp, absent: str) -> None:
    assert not (_code_asset(synthesized) / absent).exists()


def test_code_asset_has_no_bytecode(synthesized: SynthesizedApp) -> None:
    assert not list(_code_asset(synthesized).rglob("__pycache__"))
