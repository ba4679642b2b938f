"""Amazon Bedrock: import a checkpoint (CreateCustomModel), deploy it on demand or on provisioned throughput, call it
with Converse, and remove what was created. Request shapes follow botocore's bedrock 2023-04-20 and bedrock-runtime
service models (tests check every request against them).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from novaft.aws.errors import error_code, error_message, is_not_found
from novaft.errors import NovaftError
from novaft.pipeline.steps.deploy import BedrockResource, ModelImport

# A provisioned throughput ARN names the resource type "provisioned-model"; a custom model deployment's
# "custom-model-deployment" (Bedrock's ARN formats in the service authorization reference).
PROVISIONED_ARN_MARK = ":provisioned-model/"
_THROTTLING_CODES = frozenset({"ThrottlingException", "TooManyRequestsException", "ServiceUnavailableException"})


class BedrockThrottled(NovaftError):
    """Bedrock refused the call for rate reasons; the workflow retries with backoff."""


class BedrockRequestFailed(NovaftError):
    """Bedrock refused a call; the message names the call, the resource and Bedrock's reason."""


def _missing(error: ClientError) -> bool:
    return is_not_found(error) or error_code(error) == "ResourceNotFoundException"


def _named(error: ClientError, *, action: str, resource: str) -> NovaftError:
    code, message = error_code(error), error_message(error)
    if code in _THROTTLING_CODES:
        return BedrockThrottled(f"Bedrock throttled {action} for {resource}: {message}")
    return BedrockRequestFailed(f"Bedrock refused {action} for {resource}: {code}: {message}")


def _deleted(delete: Callable[[], Any], *, action: str, resource: str) -> bool:
    """Run the Delete* call; False when the resource no longer exists (deleting is then done already)."""
    try:
        delete()
    except ClientError as error:
        if _missing(error):
            return False
        raise _named(error, action=action, resource=resource) from None
    return True


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": key, "value": value} for key, value in sorted(tags.items())]


class BedrockModels:
    """The ``bedrock`` control plane, for imported Nova models and their deployments."""

    def __init__(self, bedrock: Any) -> None:
        self._bedrock = bedrock

    def find_model(self, name: str) -> BedrockResource | None:
        """The imported model called ``name`` with its tags, or None."""
        try:
            response = self._bedrock.get_custom_model(modelIdentifier=name)
        except ClientError as error:
            if _missing(error):
                return None
            raise _named(error, action="GetCustomModel", resource=name) from None
        arn = str(response["modelArn"])
        return BedrockResource(
            arn=arn,
            status=str(response.get("modelStatus", "Active")),
            failure_message=response.get("failureMessage"),
            tags=self.tags(arn),
        )

    def tags(self, arn: str) -> dict[str, str]:
        try:
            response = self._bedrock.list_tags_for_resource(resourceARN=arn)
        except ClientError as error:
            raise _named(error, action="ListTagsForResource", resource=arn) from None
        return {str(tag["key"]): str(tag["value"]) for tag in response.get("tags") or []}

    def import_model(self, model: ModelImport) -> str:
        request: dict[str, Any] = {
            "modelName": model.name,
            "modelSourceConfig": {"s3DataSource": {"s3Uri": model.checkpoint_s3_uri}},
            "roleArn": model.role_arn,
            "modelTags": _tag_list(model.tags),
            "clientRequestToken": model.token,
        }
        if model.kms_key_arn:
            request["modelKmsKeyArn"] = model.kms_key_arn
        try:
            return str(self._bedrock.create_custom_model(**request)["modelArn"])
        except ClientError as error:
            raise _named(error, action="CreateCustomModel", resource=model.name) from None

    def model(self, model_arn: str) -> BedrockResource:
        try:
            response = self._bedrock.get_custom_model(modelIdentifier=model_arn)
        except ClientError as error:
            raise _named(error, action="GetCustomModel", resource=model_arn) from None
        return BedrockResource(
            arn=model_arn, status=str(response.get("modelStatus", "")), failure_message=response.get("failureMessage")
        )

    def deploy_on_demand(self, *, name: str, model_arn: str, tags: dict[str, str], token: str) -> str:
        try:
            response = self._bedrock.create_custom_model_deployment(
                modelDeploymentName=name,
                modelArn=model_arn,
                description="novaft: on-demand deployment of a fine-tuned Nova model",
                tags=_tag_list(tags),
                clientRequestToken=token,
            )
        except ClientError as error:
            raise _named(error, action="CreateCustomModelDeployment", resource=name) from None
        return str(response["customModelDeploymentArn"])

    def provision(self, *, name: str, model_arn: str, model_units: int, tags: dict[str, str], token: str) -> str:
        # No commitmentDuration: no-commitment throughput, which can be deleted at any time.
        try:
            response = self._bedrock.create_provisioned_model_throughput(
                modelUnits=model_units,
                provisionedModelName=name,
                modelId=model_arn,
                tags=_tag_list(tags),
                clientRequestToken=token,
            )
        except ClientError as error:
            raise _named(error, action="CreateProvisionedModelThroughput", resource=name) from None
        return str(response["provisionedModelArn"])

    def deployment(self, deployment_arn: str) -> BedrockResource:
        try:
            if PROVISIONED_ARN_MARK in deployment_arn:
                response = self._bedrock.get_provisioned_model_throughput(provisionedModelId=deployment_arn)
                return BedrockResource(
                    arn=deployment_arn,
                    status=str(response.get("status", "")),
                    failure_message=response.get("failureMessage"),
                    model_arn=response.get("modelArn"),
                )
            response = self._bedrock.get_custom_model_deployment(customModelDeploymentIdentifier=deployment_arn)
        except ClientError as error:
            raise _named(error, action="GetDeployment", resource=deployment_arn) from None
        return BedrockResource(
            arn=deployment_arn,
            status=str(response.get("status", "")),
            failure_message=response.get("failureMessage"),
            model_arn=response.get("modelArn"),
        )

    def delete_deployment(self, deployment_arn: str) -> bool:
        """Delete the deployment or provisioned throughput; False when it no longer exists."""
        if PROVISIONED_ARN_MARK in deployment_arn:
            delete = functools.partial(
                self._bedrock.delete_provisioned_model_throughput, provisionedModelId=deployment_arn
            )
        else:
            delete = functools.partial(
                self._bedrock.delete_custom_model_deployment, customModelDeploymentIdentifier=deployment_arn
            )
        return _deleted(delete, action="DeleteDeployment", resource=deployment_arn)

    def delete_model(self, model_arn: str) -> bool:
        delete = functools.partial(self._bedrock.delete_custom_model, modelIdentifier=model_arn)
        return _deleted(delete, action="DeleteCustomModel", resource=model_arn)


class BedrockConverse:
    """The ``bedrock-runtime`` Converse call, for the smoke test and ``novaft invoke``."""

    def __init__(self, runtime: Any) -> None:
        self._runtime = runtime

    def converse(self, model_id: str, prompt: str, *, max_tokens: int) -> str:
        try:
            response = self._runtime.converse(
                modelId=model_id,
                messages=[{"role": "user", "content": [{"text": prompt}]}],
                inferenceConfig={"maxTokens": max_tokens},
            )
        except ClientError as error:
            raise _named(error, action="Converse", resource=model_id) from None
        blocks = response.get("output", {}).get("message", {}).get("content") or []
        return "".join(str(block.get("text", "")) for block in blocks if isinstance(block, dict))
