"""What the main definition lends each workflow fragment (gate, evaluation, deployment), so that their tasks get the
same retries and catches as its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_cdk import aws_stepfunctions as sfn

# Builds a Lambda task the way the main definition does (retries, catch): name, function, payload, result path, catch.
Invoke = Callable[..., Any]
# Builds an SNS task on the run topic: name, then the state paths of the subject and the message.
Publish = Callable[..., Any]
# Builds the catch-all Catch to a state, keeping the error at a path (workflow_definition.CatchTo).
CatchTarget = Callable[[sfn.IChainable, str], Any]
