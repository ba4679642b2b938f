"""cdk-nag registration and acknowledgments: one place for the API, so every acknowledgment carries a reason."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct


def register_security_checks(app: cdk.App) -> None:
    """Run the AWS Solutions rule pack on every synth; any unacknowledged finding fails it."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def acknowledge(construct: IConstruct, finding_id: str, reason: str) -> None:
    """Accept one cdk-nag finding on one construct; ``reason`` must state the bound that makes it acceptable."""
    cdk.Validations.of(construct).acknowledge(cdk.Acknowledgment(id=finding_id, reason=reason))


def nag_resource_label(scope: IConstruct, value: str) -> str:
    """How cdk-nag writes a policy resource in a finding id, e.g. ``arn:<AWS::Partition>:s3:::<Bucket.Arn>/runs/*``.

    Lets an acknowledgment name the exact resource string it accepts, whatever account or region the app targets.
    """
    return _render(cdk.Stack.of(scope).resolve(value))


def _render(node: object) -> str:
    if isinstance(node, str):
        return node
    if isinstance(node, dict) and len(node) == 1:
        ((function, argument),) = node.items()
        if function == "Fn::Join":
            separator, parts = argument
            return str(separator).join(_render(part) for part in parts)
        if function == "Ref":
            return f"<{argument}>"
        if function == "Fn::GetAtt":
            return f"<{'.'.join(argument)}>"
        if function == "Fn::ImportValue":
            return _render(argument)
    raise ValueError(f"cannot render {node!r} the way cdk-nag prints it")
