"""CloudFormation discovery: a deployed stack's outputs, and which novaft pipeline stacks exist."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from novaft.aws.errors import StackNotFound, is_not_found

# Stacks that exist (or are being changed): a deleted stack keeps answering ListStacks for 90 days.
_LIVE_STATUSES = (
    "CREATE_COMPLETE",
    "UPDATE_COMPLETE",
    "UPDATE_ROLLBACK_COMPLETE",
    "IMPORT_COMPLETE",
    "CREATE_IN_PROGRESS",
    "UPDATE_IN_PROGRESS",
    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
)


class CloudFormationStacks:
    def __init__(self, cloudformation: Any, *, region: str) -> None:
        self._cloudformation = cloudformation
        self.region = region

    def outputs(self, stack_name: str) -> dict[str, str]:
        """``{OutputKey: OutputValue}`` of the stack; a missing stack is a ``StackNotFound`` naming stack and region."""
        try:
            stacks = self._cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
        except ClientError as error:
            if not is_not_found(error):
                raise
            stacks = []
        if not stacks:
            raise StackNotFound(
                f"no stack {stack_name} in region {self.region}: deploy the pipeline first, or pass --stage/--stack "
                "(and check AWS_REGION / AWS_PROFILE)"
            )
        return {output["OutputKey"]: output.get("OutputValue", "") for output in stacks[0].get("Outputs", [])}

    def names(self) -> list[str]:
        """The names of every live stack in the account and region."""
        paginator = self._cloudformation.get_paginator("list_stacks")
        return [
            summary["StackName"]
            for page in paginator.paginate(StackStatusFilter=list(_LIVE_STATUSES))
            for summary in page.get("StackSummaries", [])
        ]
