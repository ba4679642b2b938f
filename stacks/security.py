"""The synth gates (cdk-nag, the Resource "*" guard) and acknowledgments, each acknowledgment with its reason."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_iam as iam
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct, IValidation

from stacks.intrinsics import ReferenceWriter, flatten_intrinsics

# The only actions an identity policy may allow on Resource "*": they have no resource-level permissions (the
# "Resource types" column is empty in the Service Authorization Reference, "Actions, resources, and condition keys
# for <service>": AWS X-Ray, Amazon CloudWatch Logs, Amazon Elastic Container Registry, Amazon CloudWatch, Amazon EC2).
ACTIONS_WITHOUT_RESOURCE_LEVEL = frozenset(
    {
        # Active tracing of the functions and the state machine.
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        # Step Functions' delivery of execution logs to CloudWatch Logs.
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
        # The training role: the ECR login token, the job's metrics (bounded by a cloudwatch:namespace condition).
        "ecr:GetAuthorizationToken",
        "cloudwatch:PutMetricData",
        # The training role in a VPC: what SageMaker reads of the job's network.
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeVpcs",
        "ec2:DescribeDhcpOptions",
        "ec2:DescribeSubnets",
        "ec2:DescribeSecurityGroups",
        # The approver's answer to a waiting task (stacks/constructs/approver_policy.py): the task token names the
        # task, AWS Step Functions lists no resource types for these actions.
        "states:SendTaskSuccess",
        "states:SendTaskFailure",
    }
)


def register_security_checks(app: cdk.App) -> None:
    """Run the AWS Solutions rule pack and the Resource "*" guard on every synth; any finding fails it."""
    app.node.add_validation(WildcardResourceGuard(app))
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))


@jsii.implements(IValidation)
class WildcardResourceGuard:
    """Fails the synth when an identity policy under ``scope`` allows, on ``Resource: "*"``, an action outside
    ``ACTIONS_WITHOUT_RESOURCE_LEVEL``. Resource policies (key, bucket, topic) are not identity policies: there
    "*" means the resource itself."""

    def __init__(self, scope: IConstruct) -> None:
        self._scope = scope

    def validate(self) -> list[str]:
        return [
            f'{path}: allows {", ".join(actions)} on Resource "*"; only actions without resource-level permissions '
            "may (stacks/security.py, ACTIONS_WITHOUT_RESOURCE_LEVEL): name the resources instead"
            for path, actions in self.violations()
        ]

    def violations(self) -> Iterator[tuple[str, list[str]]]:
        for construct in self._scope.node.find_all():
            for document in _identity_policy_documents(construct):
                for statement in _as_list(document.get("Statement", [])):
                    unbounded = _unbounded_actions(statement)
                    if unbounded:
                        yield construct.node.path, unbounded


def _identity_policy_documents(construct: IConstruct) -> list[dict[str, Any]]:
    if isinstance(construct, iam.CfnPolicy | iam.CfnManagedPolicy):
        documents = [construct.policy_document]
    elif isinstance(construct, iam.CfnRole):
        inline = cdk.Stack.of(construct).resolve(construct.policies) or []
        # A resolved PolicyProperty struct keeps the jsii spelling of its keys.
        documents = [policy.get("policyDocument", policy.get("PolicyDocument")) for policy in inline]
    else:
        return []
    resolved = [cdk.Stack.of(construct).resolve(document) for document in documents]
    return [document for document in resolved if isinstance(document, dict)]


def _unbounded_actions(statement: dict[str, Any]) -> list[str]:
    if statement.get("Effect") != "Allow" or "*" not in _as_list(statement.get("Resource", [])):
        return []
    return sorted(set(_as_list(statement.get("Action", []))) - ACTIONS_WITHOUT_RESOURCE_LEVEL)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def acknowledge(construct: IConstruct, finding_id: str, reason: str) -> None:
    """Accept one cdk-nag finding on one construct; ``reason`` must state the bound that makes it acceptable."""
    cdk.Validations.of(construct).acknowledge(cdk.Acknowledgment(id=finding_id, reason=reason))


def checkov_skip(construct: IConstruct, check_id: str, reason: str) -> None:
    """Accept one checkov finding on one resource (checkov reads ``Metadata.checkov.skip`` of a CloudFormation
    resource); ``reason`` states why it does not apply, as for cdk-nag."""
    resource = construct if isinstance(construct, cdk.CfnResource) else construct.node.default_child
    assert isinstance(resource, cdk.CfnResource), f"{construct.node.path} has no CloudFormation resource"
    accepted = resource.get_metadata("checkov") or {"skip": []}
    accepted["skip"].append({"id": check_id, "comment": reason})
    resource.add_metadata("checkov", accepted)


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
