"""Turn botocore's exceptions into one-line, actionable ``AwsUnavailable`` errors (no traceback for the user)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)

from novaft.operator.errors import AwsUnavailable

_CREDENTIAL_HINT = "configure credentials (aws configure, AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
_EXPIRED_CODES = frozenset({"ExpiredToken", "ExpiredTokenException", "RequestExpired", "InvalidClientTokenId"})


def describe_client_error(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    code = error.get("Code", "Unknown")
    message = error.get("Message", "")
    operation = exc.operation_name
    if code in _EXPIRED_CODES:
        return f"AWS rejected the credentials ({code}) during {operation}; refresh them or {_CREDENTIAL_HINT}"
    return f"AWS refused {operation}: {code}: {message}".rstrip(": ")


@contextmanager
def aws_errors_as_usage() -> Iterator[None]:
    """Wrap a whole command: anything botocore raises becomes ``AwsUnavailable`` with one clear sentence."""
    try:
        yield
    except (NoCredentialsError, PartialCredentialsError) as exc:
        raise AwsUnavailable(f"no usable AWS credentials: {_CREDENTIAL_HINT}") from exc
    except NoRegionError as exc:
        raise AwsUnavailable(
            "no AWS region set: pass --region or set AWS_REGION or AWS_DEFAULT_REGION (or a region in your profile)"
        ) from exc
    except ProfileNotFound as exc:
        raise AwsUnavailable(f"{exc}; check --profile / AWS_PROFILE") from exc
    except (EndpointConnectionError, ConnectTimeoutError) as exc:
        endpoint = exc.kwargs.get("endpoint_url", "the AWS endpoint")
        raise AwsUnavailable(
            f"cannot reach {endpoint}: check the network, the region, and AWS_ENDPOINT_URL if you use one"
        ) from exc
    except ClientError as exc:
        raise AwsUnavailable(describe_client_error(exc)) from exc
    except BotoCoreError as exc:
        raise AwsUnavailable(f"AWS call failed: {exc}") from exc
