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


# (case, spec, field named, given value in the message, allowed text in the message)
RULES = [
    ("model choice", {**BASE, "model": "mega"}, "model", "'mega'", "'micro', 'lite', 'pro', 'lite-2'"),
    ("method choice", {**BASE, "method": "ppo"}, "method", "'ppo'", "'sft', 'dpo'"),
    ("peft choice", {**BASE, "peft": "qlora"}, "peft", "'qlora'", "'lora', 'full'"),
    ("missing model", {"method": "sft", "peft": "lora"}, "model", "(missing)", "'micro'"),
    ("unknown top-level key", {**BASE, "learning_rate": 1}, "learning_rate", "1", "hyperparameters"),
    (
        "unknown hyperparameter",
        {**BASE, "hyperparameters": {"num_epochs": 2}},
        "hyperparameters.num_epochs",
        "2",
        "epochs",
    ),
    (
        "no dpo for lite-2",
        {"model": "lite-2", "method": "dpo", "peft": "lora"},
        "method",
        "'dpo/lora'",
        "sft/full, sft/lora",
    ),
    (
        "g5 for pro",
        {"model": "pro", "method": "sft", "peft": "lora", "instance_type": "ml.g5.48xlarge"},
        "instance_type",
        "'ml.g5.48xlarge'",
        "ml.p5.48xlarge",
    ),
    (
        "g5.12x full-rank",
        {"model": "micro", "method": "sft", "peft": "full", "instance_type": "ml.g5.12xlarge"},
        "instance_type",
        "'ml.g5.12xlarge'",
        "ml.g5.48xlarge",
    ),
    ("replicas micro", {**BASE, "instance_count": 3}, "instance_count", "3", "2, 4, 8"),
    (
        "replicas pro p4d dpo",
        {"model": "pro", "method": "dpo", "peft": "full", "instance_type": "ml.p4d.24xlarge", "instance_count": 6},
        "instance_count",
        "6",
        "12, 24",
    ),
    ("replicas g5", {**BASE, "instance_type": "ml.g5.12xlarge", "instance_count": 2}, "instance_count", "2", "1"),
    (
        "max_length multiple",
        {**BASE, "hyperparameters": {"max_length": 5000}},
        "hyperparameters.max_length",
        "5000",
        "a multiple of 1024 in [1024, 65536]",
    ),
    (
        "max_length lite lora",
        {"model": "lite", "method": "sft", "peft": "lora", "hyperparameters": {"max_length": 65536}},
        "hyperparameters.max_length",
        "65536",
        "[1024, 32768]",
    ),
    (
        "max_length dpo",
        {"model": "micro", "method": "dpo", "peft": "full", "hyperparameters": {"max_length": 65536}},
        "hyperparameters.max_length",
        "65536",
        "[1024, 32768]",
    ),
    (
        "max_length dpo on p4d",
        {
            "model": "micro",
            "method": "dpo",
            "peft": "lora",
            "instance_type": "ml.p4d.24xlarge",
            "hyperparameters": {"max_length": 32768},
        },
        "hyperparameters.max_length",
        "32768",
        "[1024, 16384]",
    ),
    (
        "max_length g5",
        {**BASE, "instance_type": "ml.g5.48xlarge", "hyperparameters": {"max_length": 16384}},
        "hyperparameters.max_length",
        "16384",
        "[1024, 8192]",
    ),
    (
        "max_length nova 2",
        {"model": "lite-2", "method": "sft", "peft": "lora", "hyperparameters": {"max_length": 9216}},
        "hyperparameters.max_length",
        "9216",
        "one of 8192, 16384, 32768, 65536",
    ),
    (
        "pro sft batch",
        {"model": "pro", "method": "sft", "peft": "full", "hyperparameters": {"global_batch_size": 64}},
        "hyperparameters.global_batch_size",
        "64",
        "16, 32",
    ),
    (
        "dpo batch",
        {"model": "lite", "method": "dpo", "peft": "full", "hyperparameters": {"global_batch_size": 512}},
        "hyperparameters.global_batch_size",
        "512",
        "16, 32, 64, 128, 256",
    ),
    (
        "min_lr below lr",
        {**BASE, "hyperparameters": {"lr": 1e-5, "min_lr": 1e-5}},
        "hyperparameters.min_lr",
        "1e-05",
        "less than lr",
    ),
    (
        "min_lr below template lr",
        {**BASE, "hyperparameters": {"min_lr": 2e-5}},
        "hyperparameters.min_lr",
        "2e-05",
        "less than lr (1e-05)",
    ),
    ("lr range", {**BASE, "hyperparameters": {"lr": 0.0}}, "hyperparameters.lr", "0.0", "(0, 1]"),
    ("lr type", {**BASE, "hyperparameters": {"lr": "fast"}}, "hyperparameters.lr", "'fast'", "a number"),
    ("min_lr floor", {**BASE, "hyperparameters": {"min_lr": 1e-9}}, "hyperparameters.min_lr", "1e-09", "[1e-07, 1]"),
    ("warmup", {**BASE, "hyperparameters": {"warmup_steps": 100}}, "hyperparameters.warmup_steps", "100", "[1, 20]"),
    (
        "weight decay",
        {**BASE, "hyperparameters": {"weight_decay": 1.5}},
        "hyperparameters.weight_decay",
        "1.5",
        "[0, 1]",
    ),
    (
        "hidden dropout",
        {**BASE, "hyperparameters": {"hidden_dropout": -0.1}},
        "hyperparameters.hidden_dropout",
        "-0.1",
        "[0, 1]",
    ),
    (
        "attention dropout",
        {**BASE, "hyperparameters": {"attention_dropout": 2}},
        "hyperparameters.attention_dropout",
        "2",
        "[0, 1]",
    ),
    (
        "ffn dropout",
        {**BASE, "hyperparameters": {"ffn_dropout": 1.01}},
        "hyperparameters.ffn_dropout",
        "1.01",
        "[0, 1]",
    ),
    (
        "adapter dropout",
        {**BASE, "hyperparameters": {"adapter_dropout": 3}},
        "hyperparameters.adapter_dropout",
        "3",
        "[0, 1]",
    ),
    (
        "lora alpha",
        {**BASE, "hyperparameters": {"lora_alpha": 100}},
        "hyperparameters.lora_alpha",
        "100",
        "one of 32, 64, 96, 128, 160, 192",
    ),
    (
        "loraplus ratio",
        {**BASE, "hyperparameters": {"loraplus_lr_ratio": 80.0}},
        "hyperparameters.loraplus_lr_ratio",
        "80.0",
        "[1, 70]",
    ),
    (
        "dpo beta",
        {"model": "micro", "method": "dpo", "peft": "lora", "hyperparameters": {"dpo_beta": 0.5}},
        "hyperparameters.dpo_beta",
        "0.5",
        "[0.001, 0.1]",
    ),
    ("dpo beta on sft", {**BASE, "hyperparameters": {"dpo_beta": 0.05}}, "hyperparameters.dpo_beta", "0.05", "lr"),
    (
        "lora setting on full",
        {"model": "micro", "method": "sft", "peft": "full", "hyperparameters": {"lora_alpha": 64}},
        "hyperparameters.lora_alpha",
        "64",
        "max_length",
    ),
    ("epochs sft", {**BASE, "hyperparameters": {"epochs": 0}}, "hyperparameters.epochs", "0", "[1, 100]"),
    (
        "epochs dpo",
        {"model": "micro", "method": "dpo", "peft": "lora", "hyperparameters": {"epochs": 6}},
        "hyperparameters.epochs",
        "6",
        "[1, 5]",
    ),
    (
        "epochs on nova 2",
        {"model": "lite-2", "method": "sft", "peft": "lora", "hyperparameters": {"epochs": 2}},
        "hyperparameters.epochs",
        "2",
        "max_steps",
    ),
    (
        "max_steps",
        {"model": "lite-2", "method": "sft", "peft": "full", "hyperparameters": {"max_steps": 2}},
        "hyperparameters.max_steps",
        "2",
        "[4, ",
    ),
    ("region", {**BASE, "region": "eu-west-1"}, "region", "'eu-west-1'", "ap-northeast-1, us-east-1, us-west-2"),
    ("runtime", {**BASE, "max_runtime_seconds": 3_000_000}, "max_runtime_seconds", "3000000", "[1, 2419200]"),
    ("volume", {**BASE, "volume_size_gb": 0}, "volume_size_gb", "0", "[1, 16384]"),
    ("tag key", {**BASE, "tags": {"aws:owner": "x"}}, "tags", "'aws:owner'", "not starting with 'aws:'"),
    (
        "subnet id",
        {**BASE, "vpc": {"subnets": ["vpc-1"], "security_group_ids": ["sg-1"]}},
        "vpc.subnets",
        "'vpc-1'",
        "starting with 'subnet-'",
    ),
    ("vpc keys", {**BASE, "vpc": {"subnets": ["subnet-1"]}}, "vpc.security_group_ids", "(missing)", "a list"),
    (
        "checkpoint uri",
        {**BASE, "base_checkpoint_s3_uri": "/local/ckpt"},
        "base_checkpoint_s3_uri",
        "'/local/ckpt'",
        "s3://",
    ),
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
