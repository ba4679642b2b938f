"""Simulated Amazon Bedrock for the local emulator: no model is imported, deployed or run, ever.

An imported model, an on-demand deployment or a provisioned throughput is ``Creating`` for a configurable number of
seconds, then ``Active`` (``InService`` for provisioned throughput), or ``Failed`` with the configured reason. A
model import fails when its checkpoint URI contains a configured fragment, so a test names its dataset and gets the
outcome it wants. Converse answers with a fixed text that says it is simulated. Requests are checked as Bedrock checks
them where the pipeline relies on it: a repeated clientRequestToken returns the first resource, a taken name is a
conflict, a deployment needs an Active model.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

SIMULATED_ANSWER = (
    "[SIMULATED answer from the local emulated Bedrock: no model ran] The deployment received your prompt: {prompt}"
)
PROVISIONED_READY = "InService"


class SimulatedBedrockError(Exception):
    """A refusal as Bedrock gives it: ``code`` is the error code, the message its text."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


@dataclass
class SimulatedResource:
    kind: str  # "model", "deployment" or "provisioned"
    arn: str
    name: str
    created_at: float
    tags: dict[str, str]
    details: dict[str, Any]
    failure: str | None = None
    deleted: bool = False


@dataclass
class BedrockSimulator:
    """Holds the simulated resources of every account and region (ARNs keep them apart)."""

    ready_after_seconds: float = 0.2
    # Checkpoint URI fragment -> the failure message of an import from a matching checkpoint.
    import_failures: dict[str, str] = field(default_factory=dict)
    resources: dict[str, SimulatedResource] = field(default_factory=dict)
    _tokens: dict[tuple[str, str], str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def fail_imports_from(self, checkpoint_fragment: str, message: str) -> None:
        self.import_failures[checkpoint_fragment] = message

    # --- creating ----------------------------------------------------------------------------------------------------

    def create(
        self,
        kind: str,
        *,
        account: str,
        region: str,
        name: str,
        token: str | None,
        tags: dict[str, str],
        **details: Any,
    ) -> str:
        with self._lock:
            if token and (kind, token) in self._tokens:
                return self._tokens[(kind, token)]
            if any(r.kind == kind and r.name == name and not r.deleted for r in self.resources.values()):
                raise SimulatedBedrockError("ConflictException", f"a {_noun(kind)} named {name} already exists")
            arn = _arn(kind, account, region)
            failure = None
            if kind == "model":
                uri = str(details.get("checkpoint_s3_uri", ""))
                failure = next((msg for fragment, msg in self.import_failures.items() if fragment in uri), None)
            self.resources[arn] = SimulatedResource(kind, arn, name, time.monotonic(), dict(tags), details, failure)
            if token:
                self._tokens[(kind, token)] = arn
            return arn

    def create_deployment(self, kind: str, *, model_arn: str, **kwargs: Any) -> str:
        model = self.find("model", model_arn)
        if self.status(model) != "Active":
            raise SimulatedBedrockError("ValidationException", f"model {model_arn} is not Active")
        return self.create(kind, model_arn=model_arn, **kwargs)

    # --- reading -----------------------------------------------------------------------------------------------------

    def find(self, kind: str, identifier: str) -> SimulatedResource:
        with self._lock:
            for resource in self.resources.values():
                if resource.kind == kind and not resource.deleted and identifier in (resource.arn, resource.name):
                    return resource
        raise SimulatedBedrockError("ResourceNotFoundException", f"{_noun(kind)} {identifier} not found", 404)

    def owns(self, arn: str) -> bool:
        return arn in self.resources and not self.resources[arn].deleted

    def status(self, resource: SimulatedResource) -> str:
        if time.monotonic() - resource.created_at < self.ready_after_seconds:
            return "Creating"
        if resource.failure:
            return "Failed"
        return PROVISIONED_READY if resource.kind == "provisioned" else "Active"

    def delete(self, kind: str, identifier: str) -> None:
        resource = self.find(kind, identifier)
        with self._lock:
            resource.deleted = True

    def converse(self, model_id: str, prompt: str) -> str:
        resource = next(
            (r for r in self.resources.values() if r.arn == model_id and r.kind != "model" and not r.deleted), None
        )
        if resource is None:
            raise SimulatedBedrockError("ResourceNotFoundException", f"no deployment {model_id}", 404)
        if self.status(resource) not in ("Active", PROVISIONED_READY):
            raise SimulatedBedrockError("ValidationException", f"deployment {model_id} is not ready")
        return SIMULATED_ANSWER.format(prompt=prompt[:200])


def _noun(kind: str) -> str:
    return {"model": "custom model", "deployment": "custom model deployment"}.get(kind, "provisioned model")


def _arn(kind: str, account: str, region: str) -> str:
    # The ARN formats Bedrock returns: custom-model/imported/<id> for a model imported with CreateCustomModel.
    suffix = uuid.uuid4().hex[:12]
    resource = {
        "model": f"custom-model/imported/{suffix}",
        "deployment": f"custom-model-deployment/{suffix}",
        "provisioned": f"provisioned-model/{suffix}",
    }[kind]
    return f"arn:aws:bedrock:{region}:{account}:{resource}"
