"""Flatten the CloudFormation intrinsics of a resolved CDK value into text, with one hook per kind of reference.

``stacks.asl`` (ASL with placeholder ARNs) and ``stacks.security`` (cdk-nag's finding labels) walk the same shapes
(``Fn::Join``, ``Ref``, ``Fn::GetAtt``, ``Fn::ImportValue``) and differ only in how they write a reference.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


class IntrinsicNotFlattened(ValueError):
    """The value uses an intrinsic function (or shape) the flattener does not know; the message shows it."""


@dataclass(frozen=True)
class ReferenceWriter:
    ref: Callable[[str], str]
    get_att: Callable[[str, str], str]
    # Receives the import name already flattened.
    import_value: Callable[[str], str]


def flatten_intrinsics(node: Any, writer: ReferenceWriter) -> str:
    if isinstance(node, str):
        return node
    if isinstance(node, Mapping) and len(node) == 1:
        ((function, argument),) = node.items()
        if function == "Fn::Join":
            separator, parts = argument
            return str(separator).join(flatten_intrinsics(part, writer) for part in parts)
        if function == "Ref":
            return writer.ref(argument)
        if function == "Fn::GetAtt":
            logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            return writer.get_att(logical_id, attribute)
        if function == "Fn::ImportValue":
            return writer.import_value(flatten_intrinsics(argument, writer))
    raise IntrinsicNotFlattened(json.dumps(node)[:200])
