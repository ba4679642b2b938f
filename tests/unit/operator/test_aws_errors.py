import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ProfileNotFound,
)

from novaft.operator.aws_errors import aws_errors_as_usage
from novaft.operator.errors import AwsUnavailable


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
