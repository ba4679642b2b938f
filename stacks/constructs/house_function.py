"""One workflow Lambda with the house defaults: runtime, architecture, own role, log group with retention, tracing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from stacks.constructs.log_group import Retention
from stacks.lambda_code import ARCHITECTURE, RUNTIME
from stacks.security import acknowledge


@dataclass(frozen=True)
class FunctionSizing:
    memory_mb: int
    timeout: cdk.Duration


class HouseFunction(Construct):
    """``lambdas.handlers.<handler_module>.lambda_handler`` from the shared code asset.

    The function gets its own role with only its log group's write access; ``HandlerPermissions`` adds exactly the
    grants the handler needs, so no managed policy and no CDK-generated wildcard ends up on it.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler_module: str,
        description: str,
        code: lambda_.Code,
        layers: list[lambda_.ILayerVersion],
        environment: Mapping[str, str],
        sizing: FunctionSizing,
        retention: Retention,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = retention.log_group(self)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"novaft {handler_module} function",
        )
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=code,
            handler=f"lambdas.handlers.{handler_module}.lambda_handler",
            description=description,
            layers=layers,
            environment=dict(environment),
            memory_size=sizing.memory_mb,
            timeout=sizing.timeout,
            role=self.role,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            tracing=lambda_.Tracing.ACTIVE,
        )
        # grant_write gives logs:CreateLogStream and logs:PutLogEvents on this one log group.
        self.log_group.grant_write(self.role)
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "Active tracing adds xray:PutTraceSegments and xray:PutTelemetryRecords, which have no resource-level "
            "permissions in IAM; nothing else in this role uses Resource *.",
        )
