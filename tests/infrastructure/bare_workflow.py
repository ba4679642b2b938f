"""The workflow definition built in a bare stack from imported functions and topic: its states as data, no synth."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn

from stacks.constructs.workflow_definition import PollingBounds, WorkflowDefinition
from stacks.constructs.workflow_fragment import WorkflowFunctions

ACCOUNT = "123456789012"
REGION = "us-east-1"


class BareStack:
    """A stack no app synthesizes: its functions are imported by ARN, so building the definition deploys nothing."""

    def __init__(self) -> None:
        self.stack = cdk.Stack(cdk.App(), "Bare", env=cdk.Environment(account=ACCOUNT, region=REGION))

    def function(self, name: str) -> lambda_.IFunction:
        return lambda_.Function.from_function_arn(
            self.stack, name, f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
        )

    def workflow_graph(self, polling: PollingBounds, **fragments: Any) -> dict[str, Any]:
        """The state graph (``StartAt``, ``States``) of the training workflow with the optional ``fragments``
        (``gate=``, ``evaluation=``, ``deployment=``) of ``WorkflowDefinition``, built from this stack's functions."""
        definition = WorkflowDefinition(
            self.stack,
            "Definition",
            functions=WorkflowFunctions(**{name: self.function(name) for name in WorkflowFunctions.names()}),
            topic=sns.Topic.from_topic_arn(self.stack, "Topic", f"arn:aws:sns:{REGION}:{ACCOUNT}:runs"),
            training_job_arn_pattern=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/novaft-*",
            polling=polling,
            **fragments,
        )
        return dict(sfn.StateGraph(definition.start.start_state, "novaft").to_graph_json())
