"""scripts/compare_official_recipes.py against a small official-repository tree built here (one recipe, one variant)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "compare_official_recipes.py"
VARIANT = "nova_micro_1_0_p5_p4d_gpu_lora_sft"
RECIPE_PATH = f"recipes_collection/recipes/fine-tuning/nova/nova_1_0/nova_micro/SFT/{VARIANT}.yaml"
NOVA = "launcher/recipe_templatization/nova"
ACCOUNT = "111122223333"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("compare_official_recipes", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is created
    spec.loader.exec_module(module)
    return module


compare_script = _load_script()

CATALOG = f"""
image_accounts: {{us-east-1: "{ACCOUNT}"}}
images: {{sft_v1: "nova-fine-tune-repo:SM-TJ-SFT-latest"}}
models:
  micro: {{model_type: "amazon.nova-micro-v1:0:128k", model_name_or_path: nova-micro/prod, schema: nova_1_0}}
recipe_keys:
  nova_1_0:
    epochs: training_config.trainer.max_epochs
    lr: training_config.model.optim.lr
    warmup_steps: training_config.model.optim.sched.warmup_steps
    global_batch_size: training_config.global_batch_size
    max_length: training_config.max_length
limits:
  epochs_sft: {{min: 1, max: 100}}
  lr: {{min: 0.0, max: 1.0, exclusive_min: true}}
  warmup_steps: {{min: 1, max: 20}}
variants:
  - id: {VARIANT}
    model: micro
    method: sft
    peft: lora
    image: sft_v1
    default: true
    instance_types: [ml.p5.48xlarge, ml.p4d.24xlarge]
    replicas: {{default: 2, allowed: [2, 4, 8]}}
    global_batch_size: [16, 32, 64]
    max_length: {{min: 1024, max: 65536, step: 1024}}
"""

TEMPLATE = """
run:
  name: my-lora-run
  model_type: amazon.nova-micro-v1:0:128k
  model_name_or_path: nova-micro/prod
  replicas: 2
  data_s3_path: ''
training_config:
  max_length: 32768
  global_batch_size: 64
  save_steps: 10
  trainer:
    max_epochs: 2
  model:
    optim:
      lr: 1.0e-05
      sched:
        warmup_steps: 10
    peft:
      peft_scheme: lora
"""

# Written as the official recipes are: quoted strings, `1e-5` (a string to PyYAML), an OmegaConf reference, comments.
OFFICIAL_RECIPE = """
run:
  name: "my-lora-run"
  model_type: "amazon.nova-micro-v1:0:128k"
  model_name_or_path: "nova-micro/prod"
  replicas: 2                     # Number of compute instances for training, allowed values are 2, 4, 8
  data_s3_path: ""                # Customer data path
training_config:
  max_length: 32768
  global_batch_size: 64           # Global batch size, allowed values are 16, 32, 64
  save_steps: ${oc.select:training_config.trainer.max_epochs_steps}
  trainer:
    max_epochs: 2
    max_epochs_steps: 10
  model:
    optim:
      lr: 1e-5
      sched:
        warmup_steps: 10
    peft:
      peft_scheme: "lora"
"""

RECORD = f"""
repository: aws/sagemaker-hyperpod-recipes
commit: {COMMIT}
commit_date: "2026-06-23"
kept_differences:
  - subject: limits.warmup_steps
    aspect: range (template parameters warmup_steps)
    reason: the user guide allows 1-20
  - subject: {VARIANT}
    aspect: recipe training_config.trainer.max_epochs_steps
    reason: a key training jobs do not read
"""


def _metadata() -> dict[str, Any]:
    return {VARIANT: {"display_name": "Nova Micro LoRA SFT", "instance_types": ["ml.p4d.24xlarge", "ml.p5.48xlarge"]}}


def _regional() -> dict[str, Any]:
    image = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/nova-fine-tune-repo:SM-TJ-SFT-latest"
    return {VARIANT: {"k8s": {}, "sm_jobs": {"container_image": {"prod": {"us-east-1": image}}}}}


def _template_parameters() -> dict[str, Any]:
    return {
        "templates": {
            "nova_lora_sft": {
                "recipe_override_parameters": {
                    "replicas": {
                        "enum": [1, 2, 4, 8],
                        "default": 1,
                        "conditional_constraints": {
                            "enum": {"Name": {VARIANT: [2, 4, 8], "default": [1]}},
                            "default": {"Name": {VARIANT: 2, "default": 1}},
                        },
                    },
                    "global_batch_size": {"enum": [16, 32, 64]},
                    "max_epochs": {"min": 1, "max": 100},
                    "learning_rate": {"min": 0, "max": 1},
                    "warmup_steps": {"min": 0, "max": 100},
                    "namespace": {"default": "kubeflow"},
                }
            }
        }
    }


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _build(tmp_path: Path) -> tuple[Path, Path]:
    recipes = tmp_path / "recipes"
    _write(recipes / "catalog.yaml", CATALOG)
    _write(recipes / "templates" / f"{VARIANT}.yaml", TEMPLATE)
    _write(recipes / "OFFICIAL_SOURCE.yaml", RECORD)
    official = tmp_path / "official"
    _write(official / RECIPE_PATH, OFFICIAL_RECIPE)
    _write(official / NOVA / "nova_metadata.json", json.dumps(_metadata()))
    _write(official / NOVA / "nova_regional_parameters.json", json.dumps(_regional()))
    _write(official / NOVA / "nova_recipe_template_parameters.json", json.dumps(_template_parameters()))
    return recipes, official


def _run(recipes: Path, official: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, list[str]]:
    code = compare_script.main(["--official", str(official), "--recipes-dir", str(recipes), *extra])
    return code, capsys.readouterr().out.splitlines()


def _edit_json(official: Path, name: str, change: Callable[[dict[str, Any]], None]) -> None:
    path = official / NOVA / name
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def test_a_matching_tree_passes_and_prints_the_kept_differences(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipes, official = _build(tmp_path)
    code, lines = _run(recipes, official, capsys)
    assert code == 0, lines
    assert [line for line in lines if line.startswith("KEPT")] == [
        f"KEPT   {VARIANT}: recipe training_config.trainer.max_epochs_steps: ours absent, official 10 -- a key "
        "training jobs do not read",
        "KEPT   limits.warmup_steps: range (template parameters warmup_steps): ours [1, 20], official [0, 100] -- the "
        "user guide allows 1-20",
    ]
    assert not [line for line in lines if line.startswith(("DIFF", "STALE"))]
    assert lines[-1] == "0 to fix, 2 kept on purpose"
    assert f"recorded: aws/sagemaker-hyperpod-recipes at {COMMIT} (2026-06-23)" in lines[0]


def _change_recipe(old: str, new: str) -> Callable[[Path], None]:
    def change(official: Path) -> None:
        path = official / RECIPE_PATH
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new))

    return change


DRIFT = [
    (
        "changed default",
        _change_recipe("lr: 1e-5", "lr: 2e-5"),
        f"DIFF   {VARIANT}: recipe training_config.model.optim.lr: ours 1e-05, official 2e-05",
    ),
    (
        "new key",
        _change_recipe('  data_s3_path: ""', '  data_s3_path: ""\n  validation_data_s3_path: ""'),
        f"DIFF   {VARIANT}: recipe run.validation_data_s3_path: ours absent, official ''",
    ),
    (
        "renamed run",
        _change_recipe('name: "my-lora-run"', 'name: "my-lora-sft-run"'),
        f"DIFF   {VARIANT}: recipe run.name: ours 'my-lora-run', official 'my-lora-sft-run'",
    ),
    (
        "replica set in the recipe comment",
        _change_recipe("allowed values are 2, 4, 8", "allowed values are 1, 2, 4, 8"),
        f"DIFF   {VARIANT}: replicas allowed (recipe comment): ours {{2, 4, 8}}, official {{1, 2, 4, 8}}",
    ),
    (
        "instance type added",
        lambda official: _edit_json(
            official, "nova_metadata.json", lambda d: d[VARIANT]["instance_types"].append("ml.p5en.48xlarge")
        ),
        f"DIFF   {VARIANT}: instance types (nova_metadata.json): ours ml.p4d.24xlarge, ml.p5.48xlarge, official "
        "ml.p4d.24xlarge, ml.p5.48xlarge, ml.p5en.48xlarge",
    ),
    (
        "image in a new region",
        lambda official: _edit_json(
            official,
            "nova_regional_parameters.json",
            lambda d: d[VARIANT]["sm_jobs"]["container_image"]["prod"].update({"eu-west-2": "x/repo:tag"}),
        ),
        f"DIFF   {VARIANT}: training image in eu-west-2 (nova_regional_parameters.json): ours none, official "
        "x/repo:tag",
    ),
    (
        "replica default in the template parameters",
        lambda official: _edit_json(
            official,
            "nova_recipe_template_parameters.json",
            lambda d: d["templates"]["nova_lora_sft"]["recipe_override_parameters"]["replicas"][
                "conditional_constraints"
            ]["default"]["Name"].update({VARIANT: 4}),
        ),
        f"DIFF   {VARIANT}: replicas default (template parameters nova_lora_sft): ours 2, official 4",
    ),
    (
        "range in the template parameters",
        lambda official: _edit_json(
            official,
            "nova_recipe_template_parameters.json",
            lambda d: d["templates"]["nova_lora_sft"]["recipe_override_parameters"]["max_epochs"].update({"max": 5}),
        ),
        "DIFF   limits.epochs_sft: range (template parameters max_epochs): ours [1, 100], official [1, 5]",
    ),
    (
        "official recipe the catalog lacks",
        lambda official: _write(official / RECIPE_PATH.replace("lora_sft", "sft"), "run: {}\n"),
        "DIFF   nova_micro_1_0_p5_p4d_gpu_sft: official recipe: ours not in the catalog, official "
        "recipes_collection/recipes/fine-tuning/nova/nova_1_0/nova_micro/SFT/nova_micro_1_0_p5_p4d_gpu_sft.yaml",
    ),
]


@pytest.mark.parametrize(("change", "expected"), [pytest.param(*d[1:], id=d[0]) for d in DRIFT])
def test_each_kind_of_drift_is_one_line_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: Callable[[Path], None], expected: str
) -> None:
    recipes, official = _build(tmp_path)
    change(official)
    code, lines = _run(recipes, official, capsys)
    assert code == 1
    assert [line for line in lines if line.startswith("DIFF")] == [expected]
    assert lines[-1] == "1 to fix, 2 kept on purpose"


def test_a_kept_difference_that_no_longer_occurs_is_stale(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recipes, official = _build(tmp_path)
    catalog = recipes / "catalog.yaml"
    catalog.write_text(
        catalog.read_text().replace("warmup_steps: {min: 1, max: 20}", "warmup_steps: {min: 0, max: 100}")
    )
    code, lines = _run(recipes, official, capsys)
    assert code == 1
    assert (
        "STALE  limits.warmup_steps: range (template parameters warmup_steps): recorded as kept, but it no longer "
        "differs" in lines
    )


def test_a_path_that_is_not_a_recipes_checkout_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recipes, _ = _build(tmp_path)
    assert compare_script.main(["--official", str(tmp_path / "elsewhere"), "--recipes-dir", str(recipes)]) == 2
    assert "is not a checkout of aws/sagemaker-hyperpod-recipes" in capsys.readouterr().err


def _git(official: Path, *args: str) -> str:
    identity = ("-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false")
    result = subprocess.run(["git", "-C", str(official), *identity, *args], capture_output=True, text=True, check=True)
    return result.stdout.strip()


def test_the_checkout_commit_is_checked_against_the_record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recipes, official = _build(tmp_path)
    code, lines = _run(recipes, official, capsys)
    assert code == 0 and "NOTE   checkout is not at the recorded commit" in lines  # a note unless asked to check
    code, lines = _run(recipes, official, capsys, "--check-commit")
    assert code == 1 and "DIFF   checkout is not at the recorded commit" in lines

    _git(official, "init", "-q")
    _git(official, "add", ".")
    _git(official, "commit", "-q", "-m", "fixture")
    head = _git(official, "rev-parse", "HEAD")
    record = recipes / "OFFICIAL_SOURCE.yaml"
    record.write_text(record.read_text().replace(COMMIT, head))
    code, lines = _run(recipes, official, capsys, "--check-commit")
    assert code == 0, lines
    assert lines[1] == f"checkout: {official} at {head}"
    assert not [line for line in lines if "recorded commit" in line]


@pytest.mark.parametrize(
    ("recipe", "allowed"),
    [
        ("run:\n  replicas: 2   # Number of instances, allowed values are 2, 4, 8\n", (2, 4, 8)),
        ("run:\n    replicas: 12  # Number of instances. All supported values: {12, 24}\n", (12, 24)),
        ("run:\n  replicas: 1   # Number of instances, allowed value is 1\n", (1,)),
        ("run:\n  replicas: 4\n", None),
        ("run:\n  actor_train_replicas: 2 # Actor train model replicas\n", None),
    ],
)
def test_the_replica_set_is_read_from_either_comment_style(recipe: str, allowed: tuple[int, ...] | None) -> None:
    assert compare_script.allowed_replicas_in_comment(recipe) == allowed
