from __future__ import annotations

from typing import Any

import pytest

from novaft.errors import UsageError
from novaft.recipes import JobSpec, JobSpecError

BASE = {"model": "micro", "method": "sft", "peft": "lora"}


def _error(data: dict[str, Any]) -> JobSpecError:
    with pytest.raises(JobSpecError) as info:
        JobSpec.model_validate(data)
    return info.value


def test_job_spec_error_is_a_usage_error_named_for_the_workflow() -> None:
    error = _error({**BASE, "model": "mega"})
    assert isinstance(error, UsageError)
    assert error.workflow_error == "JobSpecInvalid"


def _job(model: str = "micro", method: str = "sft", peft: str = "lora", **fields: Any) -> dict[str, Any]:
    """A job spec: BASE unless the model, method or PEFT is given, plus more top-level fields."""
    return {"model": model, "method": method, "peft": peft, **fields}


def _hp(model: str = "micro", method: str = "sft", peft: str = "lora", **hyperparameters: Any) -> dict[str, Any]:
    return _job(model, method, peft, hyperparameters=hyperparameters)


VPC = {"subnets": ["subnet-1"], "security_group_ids": ["sg-1"]}
HP = "hyperparameters."

# (case, spec, field named, given value in the message, allowed text in the message)
RULES = [
    ("model choice", _job("mega"), "model", "'mega'", "'micro', 'lite', 'pro', 'lite-2'"),
    ("method choice", _job(method="ppo"), "method", "'ppo'", "'sft', 'dpo'"),
    ("peft choice", _job(peft="qlora"), "peft", "'qlora'", "'lora', 'full'"),
    ("missing model", {"method": "sft", "peft": "lora"}, "model", "(missing)", "'micro'"),
    ("unknown top-level key", _job(learning_rate=1), "learning_rate", "1", "hyperparameters"),
    ("unknown hyperparameter", _hp(num_epochs=2), HP + "num_epochs", "2", "epochs"),
    ("no dpo for lite-2", _job("lite-2", "dpo"), "method", "'dpo/lora'", "sft/full, sft/lora"),
    ("g5 for pro", _job("pro", instance_type="ml.g5.48xlarge"), "instance_type", "'ml.g5.48xlarge'", "ml.p5.48xlarge"),
    (
        "g5.12x full-rank",
        _job(peft="full", instance_type="ml.g5.12xlarge"),
        "instance_type",
        "'ml.g5.12xlarge'",
        "ml.g5.48xlarge",
    ),
    ("replicas micro", _job(instance_count=3), "instance_count", "3", "2, 4, 8"),
    (
        "replicas pro p4d dpo",
        _job("pro", "dpo", "full", instance_type="ml.p4d.24xlarge", instance_count=6),
        "instance_count",
        "6",
        "12, 24",
    ),
    ("replicas g5", _job(instance_type="ml.g5.12xlarge", instance_count=2), "instance_count", "2", "1"),
    ("max_length multiple", _hp(max_length=5000), HP + "max_length", "5000", "a multiple of 1024 in [1024, 65536]"),
    ("max_length lite lora", _hp("lite", max_length=65536), HP + "max_length", "65536", "[1024, 32768]"),
    ("max_length dpo", _hp(method="dpo", peft="full", max_length=65536), HP + "max_length", "65536", "[1024, 32768]"),
    (
        "max_length dpo on p4d",
        _job(method="dpo", instance_type="ml.p4d.24xlarge", hyperparameters={"max_length": 32768}),
        HP + "max_length",
        "32768",
        "[1024, 16384]",
    ),
    (
        "max_length g5",
        _job(instance_type="ml.g5.48xlarge", hyperparameters={"max_length": 16384}),
        HP + "max_length",
        "16384",
        "[1024, 8192]",
    ),
    (
        "max_length nova 2",
        _hp("lite-2", max_length=9216),
        HP + "max_length",
        "9216",
        "one of 8192, 16384, 32768, 65536",
    ),
    ("pro sft batch", _hp("pro", peft="full", global_batch_size=64), HP + "global_batch_size", "64", "16, 32"),
    (
        "dpo batch",
        _hp("lite", "dpo", "full", global_batch_size=512),
        HP + "global_batch_size",
        "512",
        "16, 32, 64, 128, 256",
    ),
    ("min_lr below lr", _hp(lr=1e-5, min_lr=1e-5), HP + "min_lr", "1e-05", "less than lr"),
    ("min_lr below template lr", _hp(min_lr=2e-5), HP + "min_lr", "2e-05", "less than lr (1e-05)"),
    ("lr range", _hp(lr=0.0), HP + "lr", "0.0", "(0, 1]"),
    ("lr type", _hp(lr="fast"), HP + "lr", "'fast'", "a number"),
    ("min_lr floor", _hp(min_lr=1e-9), HP + "min_lr", "1e-09", "[1e-07, 1]"),
    ("warmup", _hp(warmup_steps=100), HP + "warmup_steps", "100", "[1, 20]"),
    ("weight decay", _hp(weight_decay=1.5), HP + "weight_decay", "1.5", "[0, 1]"),
    ("hidden dropout", _hp(hidden_dropout=-0.1), HP + "hidden_dropout", "-0.1", "[0, 1]"),
    ("attention dropout", _hp(attention_dropout=2), HP + "attention_dropout", "2", "[0, 1]"),
    ("ffn dropout", _hp(ffn_dropout=1.01), HP + "ffn_dropout", "1.01", "[0, 1]"),
    ("adapter dropout", _hp(adapter_dropout=3), HP + "adapter_dropout", "3", "[0, 1]"),
    ("lora alpha", _hp(lora_alpha=100), HP + "lora_alpha", "100", "one of 32, 64, 96, 128, 160, 192"),
    ("loraplus ratio", _hp(loraplus_lr_ratio=80.0), HP + "loraplus_lr_ratio", "80.0", "[1, 70]"),
    ("dpo beta", _hp(method="dpo", dpo_beta=0.5), HP + "dpo_beta", "0.5", "[0.001, 0.1]"),
    ("dpo beta on sft", _hp(dpo_beta=0.05), HP + "dpo_beta", "0.05", "lr"),
    ("lora setting on full", _hp(peft="full", lora_alpha=64), HP + "lora_alpha", "64", "max_length"),
    ("epochs sft", _hp(epochs=0), HP + "epochs", "0", "[1, 100]"),
    ("epochs dpo", _hp(method="dpo", epochs=6), HP + "epochs", "6", "[1, 5]"),
    ("epochs on nova 2", _hp("lite-2", epochs=2), HP + "epochs", "2", "max_steps"),
    ("max_steps", _hp("lite-2", peft="full", max_steps=2), HP + "max_steps", "2", "[4, "),
    (
        "max_steps above the template parameters' 100,000",
        _hp("lite-2", max_steps=100_001),
        HP + "max_steps",
        "100001",
        "[4, 100000]",
    ),
    ("region", _job(region="eu-west-1"), "region", "'eu-west-1'", "ap-northeast-1, us-east-1, us-west-2"),
    ("runtime", _job(max_runtime_seconds=3_000_000), "max_runtime_seconds", "3000000", "[1, 2419200]"),
    ("volume", _job(volume_size_gb=0), "volume_size_gb", "0", "[1, 16384]"),
    ("tag key", _job(tags={"aws:owner": "x"}), "tags", "'aws:owner'", "not starting with 'aws:'"),
    (
        "stage-owned vpc",
        _job(vpc=VPC),
        "vpc",
        "{'subnets': ['subnet-1'], 'security_group_ids': ['sg-1']}",
        "leave it out of the job spec",
    ),
    ("stage-owned output key", _job(output_kms_key="alias/mine"), "output_kms_key", "'alias/mine'", "leave it"),
    ("base run id", _job(base_run_id="run 1/.."), "base_run_id", "'run 1/..'", "the run id of an earlier run"),
    (
        "two base checkpoints",
        _job(base_run_id="demo-0123456789ab", base_checkpoint_s3_uri="s3://escrow/ckpt"),
        "base_run_id",
        "'demo-0123456789ab'",
        "not both",
    ),
    ("checkpoint uri", _job(base_checkpoint_s3_uri="/local/ckpt"), "base_checkpoint_s3_uri", "'/local/ckpt'", "s3://"),
]


@pytest.mark.parametrize(("spec", "field", "given", "allowed"), [pytest.param(*r[1:], id=r[0]) for r in RULES])
def test_each_rule_names_field_given_value_and_allowed_values(
    spec: dict[str, Any], field: str, given: str, allowed: str
) -> None:
    message = str(_error(spec))
    line = next((line for line in message.splitlines() if line.strip().startswith(f"- {field}:")), "")
    assert line, message
    assert f"given: {given}" in line
    assert allowed in line.split("allowed:", 1)[1]


def test_all_problems_are_reported_together() -> None:
    error = _error({**BASE, "instance_count": 3, "hyperparameters": {"lora_alpha": 1, "max_length": 5}})
    assert {p.field for p in error.problems} == {
        "instance_count",
        "hyperparameters.lora_alpha",
        "hyperparameters.max_length",
    }


@pytest.mark.parametrize(
    "spec",
    [
        BASE,
        {**BASE, "instance_type": "ml.g6.12xlarge", "instance_count": 1},
        {"model": "pro", "method": "dpo", "peft": "full", "instance_type": "ml.p4d.24xlarge", "instance_count": 24},
        {
            "model": "lite-2",
            "method": "sft",
            "peft": "lora",
            "hyperparameters": {"max_steps": 500, "max_length": 65536},
        },
        {**BASE, "hyperparameters": {"lr": "5e-6", "min_lr": "5e-7"}},  # YAML 1.1 strings still become numbers
        {"model": "micro", "method": "sft", "peft": "full", "hyperparameters": {"max_length": 65536}},
    ],
)
def test_valid_specs_are_accepted(spec: dict[str, Any]) -> None:
    assert JobSpec.model_validate(spec).model == spec["model"]


@pytest.mark.parametrize(
    ("spec", "instance_type", "count"),
    [
        (BASE, "ml.p5.48xlarge", 2),
        ({"model": "pro", "method": "sft", "peft": "full"}, "ml.p5.48xlarge", 6),
        ({**BASE, "instance_type": "ml.g5.12xlarge"}, "ml.g5.12xlarge", 1),
        ({"model": "pro", "method": "dpo", "peft": "full", "instance_type": "ml.p4d.24xlarge"}, "ml.p4d.24xlarge", 12),
    ],
)
def test_instance_defaults_come_from_the_catalog(spec: dict[str, Any], instance_type: str, count: int) -> None:
    resolved = JobSpec.model_validate(spec).resolve()
    assert (resolved.instance_type, resolved.instance_count) == (instance_type, count)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("model: [unclosed", "not valid YAML"),
        ("- just\n- a list\n", "not a mapping"),
        ("model: micro\nmethod: sft\npeft: lora\nhyperparameters:\n  lr: 5e-6\n", None),
    ],
)
def test_from_yaml_text_names_the_source(text: str, fragment: str | None) -> None:
    if fragment is None:
        assert JobSpec.from_yaml_text(text, source="incoming/r/job.yaml").hyperparameters.lr == 5e-6
        return
    with pytest.raises(JobSpecError) as info:
        JobSpec.from_yaml_text(text, source="incoming/r/job.yaml")
    assert str(info.value).startswith("incoming/r/job.yaml:")
    assert fragment in str(info.value)
