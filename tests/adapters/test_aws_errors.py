"""The one mapping of botocore errors: one-line AwsUnavailable for the user, one not-found test for the adapters."""

import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ProfileNotFound,
)

from novaft.aws.errors import AwsUnavailable, aws_errors_as_usage, is_not_found


@pytest.mark.parametrize(
    ("raised", "message"),
    [
        (NoCredentialsError(), "no usable AWS credentials: configure credentials"),
        (NoRegionError(), "no AWS region set: pass --region or set AWS_REGION"),
        (ProfileNotFound(profile="x"), "The config profile (x) could not be found; check --profile"),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), "cannot reach http://127.0.0.1:1"),
        (
            ClientError({"Error": {"Code": "AccessDenied", "Message": "not allowed"}}, "Query"),
            "AWS refused Query: AccessDenied: not allowed",
        ),
        (
            ClientError({"Error": {"Code": "ExpiredToken", "Message": "old"}}, "DescribeStacks"),
            "AWS rejected the credentials (ExpiredToken) during DescribeStacks",
        ),
    ],
)
def test_botocore_errors_become_one_clear_line(raised: Exception, message: str) -> None:
    with pytest.raises(AwsUnavailable) as caught, aws_errors_as_usage():
        raise raised
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_other_errors_pass_through() -> None:
    with pytest.raises(KeyError), aws_errors_as_usage():
        raise KeyError("x")


def _client_error(code: str, message: str, operation: str = "Op") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


@pytest.mark.parametrize(
    ("error", "missing"),
    [
        (_client_error("NoSuchKey", "The specified key does not exist."), True),
        (_client_error("404", "Not Found"), True),
        (_client_error("ExecutionDoesNotExist", "Execution Does Not Exist"), True),
        (_client_error("ValidationException", "Requested resource not found"), True),
        (_client_error("ValidationException", "Could not find job"), True),
        (_client_error("ValidationError", "Stack with id X does not exist"), True),
        (_client_error("ValidationException", "1 validation error detected: InstanceCount"), False),
        (_client_error("AccessDeniedException", "not allowed"), False),
        (_client_error("ThrottlingException", "Rate exceeded"), False),
    ],
)
def test_not_found_is_told_apart_from_other_refusals(error: ClientError, missing: bool) -> None:
    assert is_not_found(error) is missing
