"""Shipping a trained model to Amazon Bedrock: which targets can work, resource names, request tokens, progress.

Pure: no AWS calls and no environment. The deployment steps (novaft.pipeline.steps.deploy) and the operator commands
call these rules; ``novaft plan`` and RenderRecipe call ``deploy_problems`` so that what cannot work is refused before
any instance starts (docs/deployment.md).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from novaft.errors import NovaftError, Problem, ProblemsFound
from novaft.pipeline import facts

# Bedrock's CustomModelName, ModelDeploymentName and ProvisionedModelName: ([0-9a-zA-Z][_-]?){1,63}
# (botocore bedrock 2023-04-20 service model).
MAX_RESOURCE_NAME_CHARS: Final = 63
# IdempotencyToken: [a-zA-Z0-9]([-a-zA-Z0-9]{0,254}[a-zA-Z0-9])?, at most 256 characters.
TOKEN_CHARS: Final = 64
# Bedrock tag values hold at most 256 characters; a longer checkpoint URI is tagged by its digest.
MAX_TAG_VALUE_CHARS: Final = 256
DEFAULT_SMOKE_PROMPT: Final = "Reply with one short sentence that says you are ready."


class DeploymentRefused(ProblemsFound):
    """The run asks for a deployment that cannot work (target, model or region); nothing is started."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        super().__init__(problems, source="the requested deployment")


class DeploymentNotFound(NovaftError):
    """The run has no imported model or deployment to act on."""


class ModelNameTaken(NovaftError):
    """A Bedrock model with the run's model name exists but was imported from another checkpoint."""


def deploy_problems(target: str, *, peft: str, region: str | None) -> list[Problem]:
    """What makes ``target`` impossible for a model trained with ``peft`` in ``region`` (None: not known yet)."""
    if target not in facts.DEPLOY_TARGETS:
        return [Problem("deploy.target", target, ", ".join(facts.DEPLOY_TARGETS), "unknown target")]
    if target != facts.DEPLOY_ON_DEMAND:
        return []
    problems = []
    if peft != "lora":
        problems.append(
            Problem(
                "deploy.target",
                target,
                f"{facts.DEPLOY_PROVISIONED} (or peft: lora)",
                f"on-demand deployment serves only LoRA (PEFT) Nova models trained with SageMaker, not peft: {peft}",
            )
        )
    if region is not None and region not in facts.ON_DEMAND_REGIONS:
        problems.append(
            Problem(
                "deploy.target",
                target,
                f"{facts.DEPLOY_PROVISIONED}, or a stage in {' or '.join(facts.ON_DEMAND_REGIONS)}",
                f"custom model on-demand deployment is not offered in {region}",
            )
        )
    return problems


def check_deploy(target: str, *, peft: str, region: str | None) -> None:
    problems = deploy_problems(target, peft=peft, region=region)
    if problems:
        raise DeploymentRefused(problems)


def resource_name(run_id: str, suffix: str = "") -> str:
    """``novaft-<run id>[-suffix]`` as Bedrock names allow it: letters and digits, single '-' between, 63 at most.

    The same run always gets the same name, which is how a rerun finds the model it imported before.
    """
    base = re.sub(r"[^0-9A-Za-z]+", "-", f"novaft-{run_id}").strip("-")
    tail = f"-{suffix}" if suffix else ""
    if len(base) + len(tail) > MAX_RESOURCE_NAME_CHARS:
        digest = hashlib.sha256(run_id.encode()).hexdigest()[:8]
        keep = MAX_RESOURCE_NAME_CHARS - len(tail) - len(digest) - 1
        base = f"{base[:keep].rstrip('-')}-{digest}"
    return base + tail


def request_token(run_id: str, purpose: str, *parts: str) -> str:
    """A clientRequestToken fixed by the run and what is being created: a retried call is not a second resource."""
    material = json.dumps([run_id, purpose, *parts])
    return hashlib.sha256(material.encode()).hexdigest()[:TOKEN_CHARS]


def checkpoint_tag_value(checkpoint_s3_uri: str) -> str:
    if len(checkpoint_s3_uri) <= MAX_TAG_VALUE_CHARS:
        return checkpoint_s3_uri
    return "sha256:" + hashlib.sha256(checkpoint_s3_uri.encode()).hexdigest()


def model_tags(run_id: str, stage: str, checkpoint_s3_uri: str) -> dict[str, str]:
    """The tags of an imported model: a rerun of the run finds and reuses the model by them."""
    return {
        facts.RUN_ID_TAG: run_id,
        facts.STAGE_TAG: stage,
        facts.CHECKPOINT_TAG: checkpoint_tag_value(checkpoint_s3_uri),
    }


def truncated(text: str, limit: int = facts.SMOKE_ANSWER_MAX_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def first_user_prompt(lines: Iterable[str]) -> str | None:
    """The first user text of a Converse (or evaluation) JSONL file: the smoke test asks what the run was shown."""
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        text = _user_text(record) if isinstance(record, Mapping) else None
        if text:
            return text
    return None


def _user_text(record: Mapping[str, Any]) -> str | None:
    # Evaluation data (gen_qa, llm_judge) holds the prompt in "query" or "prompt".
    for key in ("query", "prompt"):
        if isinstance(record.get(key), str) and record[key].strip():
            return str(record[key])
    for message in record.get("messages") or ():
        if not isinstance(message, Mapping) or message.get("role") != "user":
            continue
        for block in message.get("content") or ():
            if isinstance(block, Mapping) and isinstance(block.get("text"), str) and block["text"].strip():
                return str(block["text"])
    return None


def how_to_call(*, run_id: str, model_id: str, region: str) -> str:
    """What the notification and ``novaft runs`` say about calling the deployment."""
    return (
        f'novaft invoke {run_id} "your prompt"   or   aws bedrock-runtime converse --region {region} '
        f'--model-id {model_id} --messages \'[{{"role":"user","content":[{{"text":"your prompt"}}]}}]\''
    )


def gate_blocks(evaluation: Mapping[str, Any] | None) -> str | None:
    """Why the evaluation gate keeps the model back, or None. No evaluation, or no gate in it, means no gate."""
    gate = (evaluation or {}).get("gate")
    if not isinstance(gate, Mapping):
        return None
    if gate.get("passed") is True:
        return None
    reason = gate.get("reason") or gate.get("message") or "the gate did not pass"
    return f"the evaluation gate did not pass: {reason}"
