"""What every part of the run workflow shares: the functions it invokes, and what the main definition lends each
fragment (gate, evaluation, deployment) so that their tasks get the same retries and catches as its own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn

# Builds a Lambda task the way the main definition does (retries, catch): name, function, payload, result path, catch.
Invoke = Callable[..., Any]
# Builds an SNS task on the run topic: name, then the state paths of the subject and the message.
Publish = Callable[..., Any]
# Builds the catch-all Catch to a state, keeping the error at a path (workflow_definition.CatchTo).
CatchTarget = Callable[[sfn.IChainable, str], Any]


@dataclass(frozen=True)
class WorkflowFunctions:
    """The handlers the run workflow invokes, named as their modules (lambdas/handlers/<name>.py), in workflow order.
    A fragment the definition leaves out (no gate, evaluation or deployment) leaves its functions uninvoked."""

    register_run: lambda_.IFunction
    validate_dataset: lambda_.IFunction
    render_recipe: lambda_.IFunction
    await_approval: lambda_.IFunction
    acquire_slot: lambda_.IFunction
    start_training: lambda_.IFunction
    release_slot: lambda_.IFunction
    record_result: lambda_.IFunction
    plan_evaluation: lambda_.IFunction
    start_evaluation: lambda_.IFunction
    record_evaluation: lambda_.IFunction
    deploy_model: lambda_.IFunction
    record_deployment: lambda_.IFunction

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(field.name for field in fields(cls))


@dataclass(frozen=True)
class FragmentTools:
    """The main definition's task builders, and the training-job ARNs the fragments' SDK tasks may call with the
    errors those tasks retry."""

    invoke: Invoke
    publish: Publish
    catch_to: CatchTarget
    training_job_arns: str
    sdk_transient_errors: list[str]
