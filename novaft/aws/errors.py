"""One mapping of botocore's errors to novaft's named errors, and one test for "the resource does not exist".

Every adapter in ``novaft.aws`` uses these; callers above the adapters see named errors, never a ClientError code.
"""

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

from novaft.errors import InputFileError, NovaftError, UsageError
from novaft.pipeline.errors import SageMakerCapacityError, SageMakerThrottled


class AwsUnavailable(NovaftError):
    """AWS could not be reached or refused the call: missing credentials, no region, endpoint down, access denied."""


class StackNotFound(UsageError):
    """No pipeline stack with the expected name in the account/region the AWS settings point at."""


class ObjectNotFound(InputFileError):
    """The S3 object (or the version asked for) does not exist."""


class ExecutionNotFound(NovaftError):
    """No Step Functions execution with that ARN."""


# Codes that mean "no such resource" whatever the message: S3 objects, Step Functions executions, DynamoDB tables.
_NOT_FOUND_CODES = frozenset(
    {"404", "NoSuchKey", "NotFound", "NoSuchVersion", "ExecutionDoesNotExist", "ResourceNotFound"}
)
# SageMaker answers an unknown job with ValidationException "Requested resource not found" (or "Could not find"),
# CloudFormation an unknown stack with ValidationError "Stack with id X does not exist".
_VALIDATION_CODES = frozenset({"ValidationException", "ValidationError"})
_NOT_FOUND_WORDS = ("not found", "could not find", "does not exist")
_THROTTLING_CODES = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"})
_CAPACITY_CODES = frozenset({"ResourceLimitExceeded", "CapacityError", "InsufficientCapacityError"})
_ACCESS_DENIED_CODES = frozenset({"AccessDeniedException", "AccessDenied"})
_EXPIRED_CODES = frozenset({"ExpiredToken", "ExpiredTokenException", "RequestExpired", "InvalidClientTokenId"})
_CREDENTIAL_HINT = "configure credentials (aws configure, AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def error_message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", ""))


def is_not_found(error: ClientError) -> bool:
    """Whether AWS answered that the object, job, execution or stack asked for does not exist."""
    code = error_code(error)
    if code in _NOT_FOUND_CODES:
        return True
    message = error_message(error).lower()
    return code in _VALIDATION_CODES and any(words in message for words in _NOT_FOUND_WORDS)


@contextmanager
def missing_as(named: Exception) -> Iterator[None]:
    """Raise ``named`` where AWS answers that what was asked for does not exist (``is_not_found``); other errors
    pass unchanged."""
    try:
        yield
    except ClientError as error:
        if is_not_found(error):
            raise named from None
        raise


def is_access_denied(error: ClientError) -> bool:
    return error_code(error) in _ACCESS_DENIED_CODES


def raise_named(error: ClientError, *, action: str, resource: str) -> None:
    """Raise the named SageMaker error for throttling or lack of capacity; return for others (the caller re-raises)."""
    code, message = error_code(error), error_message(error)
    if code in _THROTTLING_CODES:
        raise SageMakerThrottled(f"SageMaker throttled {action} for {resource}: {message}") from None
    if code in _CAPACITY_CODES:
        raise SageMakerCapacityError(f"SageMaker has no capacity for {resource} ({code}): {message}") from None


def describe_error(error: Exception) -> str:
    """One line for the user: a ClientError names the refused call and AWS's reason; a named error is its message."""
    if not isinstance(error, ClientError):
        return str(error)
    code, message = error_code(error) or "Unknown", error_message(error)
    if code in _EXPIRED_CODES:
        return (
            f"AWS rejected the credentials ({code}) during {error.operation_name}; refresh them or {_CREDENTIAL_HINT}"
        )
    return f"AWS refused {error.operation_name}: {code}: {message}".rstrip(": ")


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
        raise AwsUnavailable(describe_error(exc)) from exc
    except BotoCoreError as exc:
        raise AwsUnavailable(f"AWS call failed: {exc}") from exc
