"""cdk-nag registration and acknowledgments: one place for the API, so every acknowledgment carries a reason."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

from stacks.intrinsics import ReferenceWriter, flatten_intrinsics


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
    return flatten_intrinsics(cdk.Stack.of(scope).resolve(value), _NAG_LABELS)


# cdk-nag writes a reference as <LogicalId> or <LogicalId.Attribute>, and an import as the export name itself.
_NAG_LABELS = ReferenceWriter(
    ref=lambda name: f"<{name}>",
    get_att=lambda logical_id, attribute: f"<{logical_id}.{attribute}>",
    import_value=lambda name: name,
)
