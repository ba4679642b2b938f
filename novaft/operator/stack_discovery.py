"""Find the deployed pipeline from its CloudFormation stack outputs."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from novaft.operator.errors import StackNotFound
from novaft.operator.stack_outputs import PipelineOutputs, pipeline_outputs_from_stack


def discover_pipeline(cloudformation: Any, stack_name: str, *, region: str) -> PipelineOutputs:
    """``describe_stacks`` of the pipeline stack; a missing stack is a ``StackNotFound`` naming stack and region."""
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as exc:
        # CloudFormation answers a missing stack with ValidationError "Stack with id X does not exist".
        if exc.response.get("Error", {}).get("Code") == "ValidationError" and "does not exist" in str(exc):
            raise StackNotFound(
                f"no stack {stack_name} in region {region}: deploy the pipeline first, or pass --stage/--stack "
                "(and check AWS_REGION / AWS_PROFILE)"
            ) from exc
        raise
    if not stacks:
        raise StackNotFound(f"no stack {stack_name} in region {region}")
    return pipeline_outputs_from_stack(stack_name, stacks[0].get("Outputs", []))
