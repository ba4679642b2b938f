"""job.yaml `evaluation:` (novaft/recipes/job_spec.py): tasks the workflow can run, base comparison and the gate."""

from __future__ import annotations

from typing import Any

import pytest

from novaft.recipes import JobSpec, JobSpecError

BASE = {"model": "micro", "method": "sft", "peft": "lora"}


def _problems(evaluation: dict[str, Any], **spec: Any) -> str:
    with pytest.raises(JobSpecError) as info:
        JobSpec.model_validate({**BASE, **spec, "evaluation": evaluation})
    return str(info.value)


def test_no_evaluation_by_default() -> None:
    assert JobSpec.model_validate(BASE).evaluation.tasks == []


def test_a_full_evaluation_section_is_accepted() -> None:
    evaluation = {
        "tasks": ["gen_qa", "mmlu"],
        "compare_with_base": True,
        "gate": {"metric": "gen_qa.rougeL", "min": 0.3, "min_delta_vs_base": 0.01},
    }
    spec = JobSpec.model_validate({**BASE, "evaluation": evaluation})
    assert spec.evaluation.tasks == ["gen_qa", "mmlu"]
    assert spec.evaluation.gate is not None and spec.evaluation.gate.min_delta_vs_base == 0.01


def test_the_metric_alone_names_the_gate_when_one_task_has_it() -> None:
    spec = JobSpec.model_validate(
        {**BASE, "evaluation": {"tasks": ["mmlu", "gen_qa"], "gate": {"metric": "accuracy", "min": 0.5}}}
    )
    assert spec.evaluation.gate is not None and spec.evaluation.gate.metric == "accuracy"


def test_an_unknown_task_is_refused_naming_the_choices() -> None:
    assert "evaluation.tasks" in _problems({"tasks": ["trivia"]})


def test_a_task_the_model_lacks_names_the_runnable_ones() -> None:
    message = _problems({"tasks": ["mmmu"]})  # Nova Micro has no multimodal benchmark
    assert "micro has no such evaluation" in message
    assert "gen_qa" in message and "mmmu, " not in message


def test_judge_tasks_need_data_the_drop_contract_lacks() -> None:
    assert "needs a data file" in _problems({"tasks": ["llm_judge"]})


def test_a_repeated_task_is_refused() -> None:
    assert "a task is repeated" in _problems({"tasks": ["mmlu", "mmlu"]})


@pytest.mark.parametrize(
    ("gate", "message"),
    [
        ({"metric": "gen_qa.accuracy", "min": 0.1}, "not one metric of these tasks"),
        ({"metric": "rougeL"}, "a gate needs a bar"),
        ({"metric": "rougeL", "min_delta_vs_base": 0.1}, "compare_with_base: true"),
    ],
)
def test_gate_problems(gate: dict[str, Any], message: str) -> None:
    assert message in _problems({"tasks": ["gen_qa"], "gate": gate})


def test_a_gate_without_tasks_is_refused() -> None:
    assert "nothing to evaluate" in _problems({"gate": {"metric": "f1", "min": 0.1}})


def test_unknown_evaluation_keys_name_the_known_ones() -> None:
    message = _problems({"tasks": ["gen_qa"], "threshold": 1})
    assert "evaluation.threshold" in message and "compare_with_base" in message
