"""The Bedrock adapter's requests pass botocore's parameter validation for the bedrock and bedrock-runtime models, and
its answers are read as those models shape them (Stubber checks both: the request is validated before it is stubbed,
the stubbed response against the operation's output shape)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import ANY, Stubber

from novaft.aws.bedrock import BedrockConverse, BedrockModels, BedrockRequestFailed, BedrockThrottled
from novaft.pipeline.deployment import model_tags, request_token, resource_name
from novaft.pipeline.steps.deploy import ModelImport

REGION = "us-east-1"
MODEL_ARN = "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/abcdef123456"
DEPLOYMENT_ARN = "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/abcdef123456"
PROVISIONED_ARN = "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abcdef123456"
ROLE_ARN = "arn:aws:iam::123456789012:role/novaft-bedrock-import"
CHECKPOINT = "s3://customer-escrow-123456789012-smtj-abc/novaft-demo-1/step-100"
RUN_ID = "demo--run-ab12cd34"


@pytest.fixture
def bedrock() -> Iterator[tuple[BedrockModels, Stubber]]:
    client = boto3.client("bedrock", region_name=REGION, aws_access_key_id="a", aws_secret_access_key="b")
    with Stubber(client) as stubber:
        yield BedrockModels(client), stubber
        stubber.assert_no_pending_responses()


def test_import_request_is_valid_and_names_the_model_for_the_run(bedrock: tuple[BedrockModels, Stubber]) -> None:
    models, stubber = bedrock
    name = resource_name(RUN_ID)
    tags = model_tags(RUN_ID, "dev", CHECKPOINT)
    token = request_token(RUN_ID, "model", CHECKPOINT)
    stubber.add_response(
        "create_custom_model",
        {"modelArn": MODEL_ARN},
        {
            "modelName": name,
            "modelSourceConfig": {"s3DataSource": {"s3Uri": CHECKPOINT}},
            "roleArn": ROLE_ARN,
            "modelTags": ANY,
            "clientRequestToken": token,
        },
    )
    arn = models.import_model(
        ModelImport(
            name=name, checkpoint_s3_uri=CHECKPOINT, role_arn=ROLE_ARN, kms_key_arn=None, tags=tags, token=token
        )
    )
    assert arn == MODEL_ARN
    assert name == "novaft-demo-run-ab12cd34"


def test_deployment_requests_are_valid(bedrock: tuple[BedrockModels, Stubber]) -> None:
    models, stubber = bedrock
    stubber.add_response("create_custom_model_deployment", {"customModelDeploymentArn": DEPLOYMENT_ARN})
    stubber.add_response(
        "get_custom_model_deployment",
        {
            "customModelDeploymentArn": DEPLOYMENT_ARN,
            "modelDeploymentName": "novaft-x",
            "modelArn": MODEL_ARN,
            "createdAt": "2026-01-01T00:00:00Z",
            "status": "Active",
        },
    )
    stubber.add_response("create_provisioned_model_throughput", {"provisionedModelArn": PROVISIONED_ARN})
    stubber.add_response(
        "get_provisioned_model_throughput",
        {
            "modelUnits": 1,
            "desiredModelUnits": 1,
            "provisionedModelName": "novaft-x",
            "provisionedModelArn": PROVISIONED_ARN,
            "modelArn": MODEL_ARN,
            "desiredModelArn": MODEL_ARN,
            "foundationModelArn": MODEL_ARN,
            "status": "InService",
            "creationTime": "2026-01-01T00:00:00Z",
            "lastModifiedTime": "2026-01-01T00:00:00Z",
        },
    )
    stubber.add_response("delete_provisioned_model_throughput", {}, {"provisionedModelId": PROVISIONED_ARN})
    stubber.add_response("delete_custom_model_deployment", {}, {"customModelDeploymentIdentifier": DEPLOYMENT_ARN})
    stubber.add_response("delete_custom_model", {}, {"modelIdentifier": MODEL_ARN})
    tags = {"novaft:run-id": RUN_ID}
    token = request_token(RUN_ID, "bedrock-on-demand", MODEL_ARN, "0")
    assert models.deploy_on_demand(name="novaft-x", model_arn=MODEL_ARN, tags=tags, token=token) == DEPLOYMENT_ARN
    assert models.deployment(DEPLOYMENT_ARN).status == "Active"
    assert models.provision(name="novaft-x", model_arn=MODEL_ARN, model_units=1, tags=tags, token=token) == (
        PROVISIONED_ARN
    )
    assert models.deployment(PROVISIONED_ARN).status == "InService"
    assert models.delete_deployment(PROVISIONED_ARN) is True
    assert models.delete_deployment(DEPLOYMENT_ARN) is True
    assert models.delete_model(MODEL_ARN) is True


def test_a_missing_model_is_none_and_a_throttle_is_named(bedrock: tuple[BedrockModels, Stubber]) -> None:
    models, stubber = bedrock
    stubber.add_client_error("get_custom_model", "ResourceNotFoundException", http_status_code=404)
    stubber.add_client_error("create_custom_model", "ThrottlingException", http_status_code=429)
    stubber.add_client_error("create_custom_model", "AccessDeniedException", "not allowed", http_status_code=403)
    assert models.find_model("novaft-absent") is None
    model = ModelImport(
        name="novaft-x", checkpoint_s3_uri=CHECKPOINT, role_arn=ROLE_ARN, kms_key_arn=None, tags={}, token="abc"
    )
    with pytest.raises(BedrockThrottled):
        models.import_model(model)
    with pytest.raises(BedrockRequestFailed, match="CreateCustomModel for novaft-x: AccessDeniedException"):
        models.import_model(model)


def test_converse_request_is_valid_and_the_answer_is_its_text() -> None:
    client = boto3.client("bedrock-runtime", region_name=REGION, aws_access_key_id="a", aws_secret_access_key="b")
    with Stubber(client) as stubber:
        stubber.add_response(
            "converse",
            {
                "output": {"message": {"role": "assistant", "content": [{"text": "Hello "}, {"text": "there"}]}},
                "stopReason": "end_turn",
                "usage": {"inputTokens": 1, "outputTokens": 2, "totalTokens": 3},
                "metrics": {"latencyMs": 5},
            },
            {
                "modelId": DEPLOYMENT_ARN,
                "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
                "inferenceConfig": {"maxTokens": 64},
            },
        )
        assert BedrockConverse(client).converse(DEPLOYMENT_ARN, "Hi", max_tokens=64) == "Hello there"
