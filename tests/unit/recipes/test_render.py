from __future__ import annotations

from typing import Any

import pytest
import yaml
from omegaconf import OmegaConf

from novaft.recipes import JobSpec, load_catalog, render_recipe
from novaft.recipes.catalog import Variant
from novaft.recipes.yaml_io import get_path

CATALOG = load_catalog()
VARIANTS = [pytest.param(v, id=v.id) for v in CATALOG.variants]


def _spec(variant: Variant, **fields: Any) -> JobSpec:
    base = {"model": variant.model, "method": variant.method, "peft": variant.peft}
    return JobSpec.model_validate({**base, "instance_type": variant.instance_types[-1], **fields})


@pytest.mark.parametrize("variant", VARIANTS)
def test_rendered_yaml_loads_back_identically_with_pyyaml_and_omegaconf(variant: Variant) -> None:
    spec = _spec(variant, instance_count=max(variant.replicas.allowed), hyperparameters={"lr": 3e-6, "min_lr": 1e-7})
    rendered = render_recipe(spec)
    assert yaml.safe_load(rendered.yaml_text) == rendered.values
    assert OmegaConf.to_container(OmegaConf.create(rendered.yaml_text)) == rendered.values
    assert isinstance(get_path(rendered.values, CATALOG.tunable_keys(variant)["lr"]), float)
    assert "e-06" in rendered.yaml_text  # 3.0e-06, never the YAML 1.1 string form 3e-6


@pytest.mark.parametrize("variant", VARIANTS)
def test_replicas_equal_instance_count_and_hyperpod_keys_are_empty(variant: Variant) -> None:
    count = max(variant.replicas.allowed)
    rendered = render_recipe(_spec(variant, instance_count=count))
    run = rendered.values["run"]
    assert run["replicas"] == rendered.instance_count == count
    assert run["data_s3_path"] == "" and run["output_s3_path"] == ""
    assert "save_top_k" not in rendered.values["training_config"]
    assert rendered.file_name == "recipe.yaml"


def _hp(**hyperparameters: Any) -> dict[str, Any]:
    return {"hyperparameters": hyperparameters}


CHECKPOINT = "s3://customer-escrow-1-smtj-x/j/s"


@pytest.mark.parametrize(
    ("choice", "fields", "path", "value"),
    [
        ("micro sft lora", _hp(lora_alpha=32), "training_config.model.peft.lora_tuning.alpha", 32),
        ("lite dpo full", _hp(dpo_beta=0.05), "training_config.model.dpo_cfg.beta", 0.05),
        ("lite-2 sft lora", _hp(loraplus_lr_ratio=8.0), "training_config.peft.lora_tuning.lora_plus_lr_ratio", 8.0),
        ("lite-2 sft full", _hp(max_steps=250), "training_config.save_steps", 250),
        ("pro sft lora", {"base_checkpoint_s3_uri": CHECKPOINT}, "run.model_name_or_path", CHECKPOINT),
    ],
)
def test_overrides_land_on_the_recipe_key(choice: str, fields: dict[str, Any], path: str, value: Any) -> None:
    model, method, peft = choice.split()
    spec = JobSpec.model_validate({"model": model, "method": method, "peft": peft, **fields})
    assert get_path(render_recipe(spec).values, path) == value


def test_rendering_does_not_change_the_cached_template() -> None:
    variant = CATALOG.variant("nova_micro_1_0_p5_p4d_gpu_lora_sft")
    render_recipe(_spec(variant, hyperparameters={"lr": 2e-5}))
    assert CATALOG.template_values(variant)["training_config"]["model"]["optim"]["lr"] == 1e-5


@pytest.mark.parametrize("variant", [pytest.param(v, id=v.id) for v in CATALOG.variants if v.model == "lite-2"])
def test_nova_2_validation_keys_render_as_in_the_official_recipe_and_stay_empty(variant: Variant) -> None:
    # The June 2026 recipes carry these keys; the job sends no validation data (see recipes/README.md), so the paths
    # stay empty and the interval keys keep the official defaults.
    rendered = render_recipe(_spec(variant))
    assert rendered.values["run"]["validation_data_s3_path"] == ""
    assert rendered.values["run"]["validation_data_s3_path_list"] == {}
    assert get_path(rendered.values, "training_config.val_check_interval") == 2500
    assert get_path(rendered.values, "training_config.limit_val_batches") == 2
    assert OmegaConf.to_container(OmegaConf.create(rendered.yaml_text)) == rendered.values
