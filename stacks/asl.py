"""Extract state machine definitions (ASL) from a synthesized CloudFormation template, for linting and local runs.

CDK writes ``DefinitionString`` as an ``Fn::Join`` of literal text and references. Each reference becomes a
placeholder ARN that keeps the referenced logical ID readable, so the result is plain JSON any ASL tool accepts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from stacks.intrinsics import IntrinsicNotFlattened, ReferenceWriter, flatten_intrinsics

PLACEHOLDER_ACCOUNT = "123456789012"
PLACEHOLDER_REGION = "us-east-1"
_PSEUDO_PARAMETERS = {
    "AWS::Partition": "aws",
    "AWS::Region": PLACEHOLDER_REGION,
    "AWS::AccountId": PLACEHOLDER_ACCOUNT,
    "AWS::URLSuffix": "amazonaws.com",
}


class DefinitionNotExtractable(ValueError):
    """A DefinitionString uses an intrinsic function this extractor does not flatten."""


def state_machine_definitions(template: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every ``AWS::StepFunctions::StateMachine`` of ``template`` as ``{logical_id: asl_dict}``."""
    definitions: dict[str, dict[str, Any]] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::StepFunctions::StateMachine":
            continue
        properties = resource.get("Properties", {})
        if "Definition" in properties:
            definitions[logical_id] = dict(properties["Definition"])
            continue
        try:
            text = flatten_intrinsics(properties["DefinitionString"], _PLACEHOLDERS)
        except IntrinsicNotFlattened as error:
            raise DefinitionNotExtractable(f"{logical_id}: cannot flatten {error}") from None
        definitions[logical_id] = json.loads(text)
    return definitions


def _placeholder_arn(logical_id: str, attribute: str = "Ref") -> str:
    # A syntactically valid ARN: asl-validator checks the shape of Resource ARNs.
    name = f"{logical_id}-{attribute}".replace(".", "-")
    return f"arn:aws:lambda:{PLACEHOLDER_REGION}:{PLACEHOLDER_ACCOUNT}:function:{name}"


_PLACEHOLDERS = ReferenceWriter(
    ref=lambda name: _PSEUDO_PARAMETERS.get(name, _placeholder_arn(name)),
    get_att=_placeholder_arn,
    import_value=lambda name: _placeholder_arn(name.replace(":", "-")),
)
