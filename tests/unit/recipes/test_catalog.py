from __future__ import annotations

from typing import Any

import pytest
import yaml

from novaft.recipes import load_catalog
from novaft.recipes.catalog import Variant

CATALOG = load_catalog()
VARIANTS = [pytest.param(v, id=v.id) for v in CATALOG.variants]


def test_catalog_has_the_21_nova_1_variants_and_2_nova_2_lite_sft_variants() -> None:
    nova_1 = [v for v in CATALOG.variants if v.model != "lite-2"]
    nova_2 = [v for v in CATALOG.variants if v.model == "lite-2"]
    assert len(nova_1) == 21
    assert {(v.method, v.peft) for v in nova_2} == {("sft", "lora"), ("sft", "full")}


@pytest.mark.parametrize(
    ("variant_id", "name", "default_replicas", "allowed_replicas"),
    [
        ("nova_lite_2_0_p5_gpu_lora_sft", "my-lora-sft-run", 1, (1, 4, 8, 16, 32)),
        ("nova_lite_2_0_p5_gpu_sft", "my-full-rank-sft-run", 4, (4, 8, 16, 32)),
    ],
)
def test_nova_2_lite_sft_follows_the_june_2026_official_recipes(
    variant_id: str, name: str, default_replicas: int, allowed_replicas: tuple[int, ...]
) -> None:
    variant = CATALOG.variant(variant_id)
    assert (variant.replicas.default, variant.replicas.allowed) == (default_replicas, allowed_replicas)
    assert set(variant.instance_types) == {"ml.p5.48xlarge", "ml.p5en.48xlarge", "ml.p4d.24xlarge"}
    assert variant.default_instance_type == "ml.p5.48xlarge"
    assert not variant.validation_channel
    run = CATALOG.template_values(variant)["run"]
    assert (run["name"], run["mlflow_run_name"]) == (name, name)
    assert run["mlflow_experiment_name"] == name.removesuffix("-run") + "-experiment"


def test_nova_2_max_steps_stops_at_the_template_parameters_bound() -> None:
    bounds = CATALOG.limits["max_steps"]
    assert (bounds.min, bounds.max) == (4, 100_000)


def test_regions_with_training_images() -> None:
    assert CATALOG.regions_with_training_images() == frozenset({"us-east-1", "us-west-2", "ap-northeast-1"})


@pytest.mark.parametrize(
    ("variant_id", "region", "image"),
    [
        (
            "nova_micro_1_0_p5_p4d_gpu_lora_sft",
            "us-east-1",
            "708977205387.dkr.ecr.us-east-1.amazonaws.com/nova-fine-tune-repo:SM-TJ-SFT-latest",
        ),
        (
            "nova_pro_1_0_p4d_gpu_dpo",
            "us-west-2",
            "176779409107.dkr.ecr.us-west-2.amazonaws.com/nova-fine-tune-repo:SM-TJ-DPO-latest",
        ),
        (
            "nova_lite_2_0_p5_gpu_sft",
            "ap-northeast-1",
            "878185805882.dkr.ecr.ap-northeast-1.amazonaws.com/nova-fine-tune-repo:SM-TJ-SFT-V2-latest",
        ),
    ],
)
def test_image_uri_per_model_method_and_region(variant_id: str, region: str, image: str) -> None:
    assert CATALOG.image_uri(CATALOG.variant(variant_id), region) == image


def _walk(node: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(node, dict):
        return [item for key, value in node.items() for item in _walk(value, f"{path}.{key}" if path else key)]
    return [(path, node)]


@pytest.mark.parametrize("variant", VARIANTS)
def test_template_matches_its_catalog_entry(variant: Variant) -> None:
    values = CATALOG.template_values(variant)
    model = CATALOG.models[variant.model]
    assert values["run"]["model_type"] == model.model_type
    assert values["run"]["model_name_or_path"] == model.model_name_or_path
    assert values["run"]["replicas"] == variant.replicas.default
    assert values["training_config"]["global_batch_size"] in variant.global_batch_size
    assert variant.max_length.contains(values["training_config"]["max_length"], variant.default_instance_type)
    lora = values["training_config"].get("model", values["training_config"])["peft"]["peft_scheme"] == "lora"
    assert lora == (variant.peft == "lora")


@pytest.mark.parametrize("variant", VARIANTS)
def test_template_has_no_number_that_yaml_1_1_reads_as_a_string(variant: Variant) -> None:
    text = (CATALOG.templates_dir / f"{variant.id}.yaml").read_text()
    for path, value in _walk(yaml.safe_load(text)):
        if isinstance(value, str):
            with pytest.raises(ValueError):
                float(value)  # e.g. "1e-5" would parse here: it must be written 1.0e-05
            assert path  # every string sits at a named key


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_tunable_key_exists_in_the_template(variant: Variant) -> None:
    keys = CATALOG.tunable_keys(variant)
    assert {"lr", "min_lr", "global_batch_size", "max_length"} <= set(keys)
    assert ("dpo_beta" in keys) == (variant.method == "dpo")
    assert ("lora_alpha" in keys) == (variant.peft == "lora")


def test_each_model_method_peft_and_instance_type_has_one_variant() -> None:
    seen = [(v.model, v.method, v.peft, t) for v in CATALOG.variants for t in v.instance_types]
    assert len(seen) == len(set(seen))
    for variant in CATALOG.variants:
        assert CATALOG.find_variant(variant.model, variant.method, variant.peft, variant.instance_types[-1]) == variant


def test_without_instance_type_the_p5_variant_is_chosen() -> None:
    for variant in CATALOG.variants:
        chosen = CATALOG.find_variant(variant.model, variant.method, variant.peft, None)
        assert chosen is not None
        assert chosen.default_instance_type == "ml.p5.48xlarge"
