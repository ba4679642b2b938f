"""stacks.asl flattens CDK's DefinitionString joins into plain ASL with placeholder ARNs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stacks.asl import DefinitionNotExtractable, state_machine_definitions


def _template(definition_string: Any) -> dict[str, Any]:
    return {
        "Resources": {
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {"DefinitionString": definition_string},
            },
            "Other": {"Type": "AWS::S3::Bucket", "Properties": {}},
        }
    }


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ({"Fn::GetAtt": ["Fn1", "Arn"]}, "arn:aws:lambda:us-east-1:123456789012:function:Fn1-Arn"),
        ({"Ref": "Topic1"}, "arn:aws:lambda:us-east-1:123456789012:function:Topic1-Ref"),
        ({"Ref": "AWS::Partition"}, "aws"),
        ({"Fn::ImportValue": "Stack:Export"}, "arn:aws:lambda:us-east-1:123456789012:function:Stack-Export-Ref"),
    ],
)
def test_references_become_placeholders(reference: dict[str, Any], expected: str) -> None:
    joined = {
        "Fn::Join": ["", ['{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"', reference, '","End":true}}}']]
    }
    (definition,) = state_machine_definitions(_template(joined)).values()
    assert definition["States"]["A"]["Resource"] == expected


def test_plain_string_definition() -> None:
    text = json.dumps({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}})
    assert state_machine_definitions(_template(text)) == {"Machine": json.loads(text)}


def test_unknown_intrinsic_is_named() -> None:
    joined = {"Fn::Join": ["", ['{"a":"', {"Fn::Sub": "x"}, '"}']]}
    with pytest.raises(DefinitionNotExtractable, match="Machine: cannot flatten"):
        state_machine_definitions(_template(joined))
