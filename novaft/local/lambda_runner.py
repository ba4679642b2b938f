"""Run a deployed Lambda function in this process, from its deployed code zip, the way the Lambda runtime would.

The function's own code (the asset: ``lambdas.handlers.*`` and ``novaft``) is imported from the unzipped asset, so
the test exercises what was packaged. Third-party packages come from this environment, because the Lambda layer is
built for another architecture. Each function gets its own copy of the asset's modules (as each real function has
its own process) and its own environment variables, applied under one lock: invocations run one at a time.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import io
import json
import os
import sys
import tempfile
import threading
import traceback
import types
import uuid
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# One lock for every invocation: environment variables and sys.modules are process-wide.
_INVOCATION_LOCK = threading.RLock()
_UNZIPPED_CODE: dict[str, Path] = {}
_FUNCTION_MODULES: dict[str, dict[str, types.ModuleType]] = {}
_WORK_DIR = Path(tempfile.mkdtemp(prefix="novaft-local-lambda-"))


@dataclass(frozen=True)
class LambdaInvocation:
    """What the runtime needs to know about the function being invoked."""

    function_name: str
    function_arn: str
    handler: str
    code_zip: bytes
    environment: Mapping[str, str]
    memory_mb: int = 128
    timeout_seconds: int = 3
    region: str = "us-east-1"


@dataclass
class LambdaResult:
    """The invocation's payload (JSON text), whether it is an error payload, and the captured log text."""

    payload: str
    errored: bool
    logs: str = ""


@dataclass
class LocalLambdaContext:
    """The attributes of the Lambda context object that handlers and Powertools read."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_seconds * 1000


def invoke(invocation: LambdaInvocation, event: Any) -> LambdaResult:
    """Invoke the function's handler with ``event``; an exception becomes a Lambda error payload."""
    with _INVOCATION_LOCK:
        code_dir = _unzipped(invocation.code_zip)
        captured = io.StringIO()
        with _function_environment(invocation), _function_modules(invocation.function_arn, code_dir):
            context = LocalLambdaContext(
                function_name=invocation.function_name,
                invoked_function_arn=invocation.function_arn,
                memory_limit_in_mb=invocation.memory_mb,
                timeout_seconds=invocation.timeout_seconds,
                log_group_name=f"/aws/lambda/{invocation.function_name}",
            )
            try:
                with _captured_output(captured):
                    result = _resolve_handler(invocation.handler)(event, context)
                return LambdaResult(payload=json.dumps(result, default=str), errored=False, logs=captured.getvalue())
            except Exception as error:  # every exception is the function's error, as the Lambda runtime reports it
                return LambdaResult(payload=json.dumps(error_payload(error)), errored=True, logs=captured.getvalue())


def error_payload(error: BaseException) -> dict[str, Any]:
    """The payload the Python Lambda runtime returns for an unhandled exception; Step Functions reads errorType."""
    return {
        "errorMessage": str(error),
        "errorType": type(error).__name__,
        "requestId": "",
        "stackTrace": traceback.format_tb(error.__traceback__),
    }


class _PerThreadStdout(io.TextIOBase):
    """sys.stdout that sends a Lambda's prints to that invocation's log, and everyone else's to the terminal.

    A plain redirect would be process-wide and swallow what other threads print (the demo's live progress).
    """

    def __init__(self, terminal: Any) -> None:
        self.terminal = terminal
        self.captures: dict[int, io.StringIO] = {}

    def write(self, text: str) -> int:
        return self.captures.get(threading.get_ident(), self.terminal).write(text)

    def flush(self) -> None:
        self.terminal.flush()

    def isatty(self) -> bool:
        return bool(self.terminal.isatty())


@contextlib.contextmanager
def _captured_output(buffer: io.StringIO) -> Iterator[None]:
    if not isinstance(sys.stdout, _PerThreadStdout):
        sys.stdout = _PerThreadStdout(sys.stdout)
    stdout = sys.stdout
    assert isinstance(stdout, _PerThreadStdout)
    stdout.captures[threading.get_ident()] = buffer
    try:
        yield
    finally:
        stdout.captures.pop(threading.get_ident(), None)


def _unzipped(code_zip: bytes) -> Path:
    digest = hashlib.sha256(code_zip).hexdigest()
    if digest not in _UNZIPPED_CODE:
        target = _WORK_DIR / digest[:16]
        with zipfile.ZipFile(io.BytesIO(code_zip)) as archive:
            archive.extractall(target)
        _UNZIPPED_CODE[digest] = target
    return _UNZIPPED_CODE[digest]


def _top_level_packages(code_dir: Path) -> set[str]:
    names = set()
    for entry in code_dir.iterdir():
        if entry.is_dir() and (entry / "__init__.py").exists():
            names.add(entry.name)
        elif entry.suffix == ".py":
            names.add(entry.stem)
    return names


def _owned_by(module_name: str, packages: set[str]) -> bool:
    return module_name.split(".", 1)[0] in packages


@contextlib.contextmanager
def _function_modules(function_arn: str, code_dir: Path) -> Iterator[None]:
    """Put the asset first on sys.path and give the function its own copy of the asset's modules."""
    packages = _top_level_packages(code_dir)
    host_modules = {name: module for name, module in sys.modules.items() if _owned_by(name, packages)}
    for name in host_modules:
        del sys.modules[name]
    sys.modules.update(_FUNCTION_MODULES.get(function_arn + str(code_dir), {}))
    sys.path.insert(0, str(code_dir))
    importlib.invalidate_caches()
    try:
        yield
    finally:
        sys.path.remove(str(code_dir))
        function_modules = {name: module for name, module in sys.modules.items() if _owned_by(name, packages)}
        _FUNCTION_MODULES[function_arn + str(code_dir)] = function_modules
        for name in function_modules:
            del sys.modules[name]
        sys.modules.update(host_modules)


@contextlib.contextmanager
def _function_environment(invocation: LambdaInvocation) -> Iterator[None]:
    """Apply the function's environment variables (and the runtime's own) for the duration of the call."""
    runtime_variables = {
        "AWS_LAMBDA_FUNCTION_NAME": invocation.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(invocation.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_REGION": invocation.region,
        "_HANDLER": invocation.handler,
    }
    # There is no X-Ray daemon here, and Powertools' Tracer, seeing a Lambda environment, would patch botocore for
    # the whole process (and keep it patched after the run).
    variables = {**runtime_variables, **invocation.environment, "POWERTOOLS_TRACE_DISABLED": "true"}
    # Restore key by key. Other threads (the caller's boto3 clients) read the environment meanwhile: emptying it and
    # refilling it, as mock.patch.dict does, would briefly hide AWS_ENDPOINT_URL and send them to the real AWS.
    previous = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _resolve_handler(handler: str) -> Any:
    module_name, _, attribute = handler.rpartition(".")
    module = importlib.import_module(module_name)
    return getattr(module, attribute)
