"""Deploy a synthesized cloud assembly (``cdk.out``) the way ``cdk deploy`` does, against the AWS the environment
points at (the local emulated AWS): bootstrap marker, file assets to the bootstrap bucket, stacks in dependency order.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError

from novaft.errors import NovaftError

BOOTSTRAP_QUALIFIER = "hnb659fds"
BOOTSTRAP_VERSION_PARAMETER = f"/cdk-bootstrap/{BOOTSTRAP_QUALIFIER}/version"
# Newer than any CheckBootstrapVersion rule CDK writes into templates today.
BOOTSTRAP_VERSION = "30"
STACK_ARTIFACT = "aws:cloudformation:stack"
ASSET_MANIFEST_ARTIFACT = "cdk:asset-manifest"
# Fixed timestamp so the same directory always zips to the same bytes.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class DeploymentFailed(NovaftError):
    """A stack did not reach CREATE_COMPLETE; the message carries the failing resources' reasons."""


@dataclass(frozen=True)
class StackArtifact:
    """One stack of the cloud assembly: its template, the asset manifests it needs and the stacks it deploys after."""

    artifact_id: str
    stack_name: str
    template_file: Path
    asset_manifests: tuple[Path, ...]
    depends_on: tuple[str, ...]


@dataclass
class DeployedStack:
    stack_name: str
    stack_id: str
    outputs: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def read_stacks(assembly_dir: Path) -> list[StackArtifact]:
    """The assembly's stacks in an order where each comes after the stacks it depends on."""
    manifest = json.loads((assembly_dir / "manifest.json").read_text())
    artifacts: dict[str, Any] = manifest.get("artifacts", {})
    stacks: dict[str, StackArtifact] = {}
    for artifact_id, artifact in artifacts.items():
        if artifact.get("type") != STACK_ARTIFACT:
            continue
        dependencies = artifact.get("dependencies", [])
        properties = artifact.get("properties", {})
        stacks[artifact_id] = StackArtifact(
            artifact_id=artifact_id,
            stack_name=properties.get("stackName", artifact_id),
            template_file=assembly_dir / properties["templateFile"],
            asset_manifests=tuple(
                assembly_dir / artifacts[d]["properties"]["file"]
                for d in dependencies
                if artifacts.get(d, {}).get("type") == ASSET_MANIFEST_ARTIFACT
            ),
            depends_on=tuple(d for d in dependencies if artifacts.get(d, {}).get("type") == STACK_ARTIFACT),
        )
    ordered: list[StackArtifact] = []

    def visit(artifact_id: str, path: tuple[str, ...]) -> None:
        if artifact_id in path:
            raise DeploymentFailed(f"stacks depend on each other in a cycle: {' -> '.join((*path, artifact_id))}")
        if any(s.artifact_id == artifact_id for s in ordered):
            return
        for dependency in stacks[artifact_id].depends_on:
            visit(dependency, (*path, artifact_id))
        ordered.append(stacks[artifact_id])

    for artifact_id in stacks:
        visit(artifact_id, ())
    return ordered


def zip_directory(directory: Path) -> bytes:
    """Zip a directory asset as CDK does: relative paths, sorted, fixed timestamps."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(directory).as_posix(), date_time=_ZIP_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def _substitute(text: str, account_id: str, region: str) -> str:
    return (
        text.replace("${AWS::AccountId}", account_id)
        .replace("${AWS::Region}", region)
        .replace("${AWS::Partition}", "aws")
    )


def bootstrap(account_id: str, region: str) -> str:
    """Create what ``cdk bootstrap`` would that deployments read: the version parameter and the assets bucket."""
    boto3.client("ssm", region_name=region).put_parameter(
        Name=BOOTSTRAP_VERSION_PARAMETER, Value=BOOTSTRAP_VERSION, Type="String", Overwrite=True
    )
    bucket = f"cdk-{BOOTSTRAP_QUALIFIER}-assets-{account_id}-{region}"
    s3 = boto3.client("s3", region_name=region)
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        if region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    return bucket


def publish_file_assets(asset_manifest: Path, account_id: str, region: str) -> int:
    """Upload every file asset of one ``*.assets.json`` (directories zipped); returns how many were uploaded."""
    manifest = json.loads(asset_manifest.read_text())
    s3 = boto3.client("s3", region_name=region)
    uploaded = 0
    for asset in manifest.get("files", {}).values():
        source = asset_manifest.parent / asset["source"]["path"]
        body = zip_directory(source) if source.is_dir() else source.read_bytes()
        for destination in asset["destinations"].values():
            s3.put_object(
                Bucket=_substitute(destination["bucketName"], account_id, region),
                Key=_substitute(destination["objectKey"], account_id, region),
                Body=body,
            )
            uploaded += 1
    if manifest.get("dockerImages"):
        raise DeploymentFailed(
            f"{asset_manifest.name} has container image assets, which the local deployer cannot build"
        )
    return uploaded


def create_stack(stack: StackArtifact, region: str, timeout_seconds: float) -> DeployedStack:
    """Create one stack and wait for CREATE_COMPLETE; a failure names the resources that failed and why."""
    cloudformation = boto3.client("cloudformation", region_name=region)
    started = time.monotonic()
    try:
        stack_id = cloudformation.create_stack(
            StackName=stack.stack_name,
            TemplateBody=stack.template_file.read_text(),
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
        )["StackId"]
    except (ClientError, ResponseParserError) as error:
        # The emulator answers some template errors (an unparsable state machine definition) with a JSON body
        # the CloudFormation client cannot parse; the text still names the problem.
        raise DeploymentFailed(f"stack {stack.stack_name} was rejected: {_error_text(error)}") from None
    while True:
        description = cloudformation.describe_stacks(StackName=stack_id)["Stacks"][0]
        status = description["StackStatus"]
        if status == "CREATE_COMPLETE":
            outputs = {o["OutputKey"]: o["OutputValue"] for o in description.get("Outputs", [])}
            return DeployedStack(stack.stack_name, stack_id, outputs, time.monotonic() - started)
        if status.endswith("FAILED") or status.startswith("ROLLBACK") or time.monotonic() - started > timeout_seconds:
            events = cloudformation.describe_stack_events(StackName=stack_id)["StackEvents"]
            reasons = [
                f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason', '')}"
                for e in events
                if e.get("ResourceStatus", "").endswith("FAILED")
            ]
            raise DeploymentFailed(
                f"stack {stack.stack_name} ended as {status} after {time.monotonic() - started:.1f} s"
                + (": " + "; ".join(reasons) if reasons else "")
            )
        time.sleep(0.1)


def _error_text(error: Exception) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Message", error))
    text = str(error)
    return text.split("invalid XML received. Further retries may succeed:", 1)[-1].strip()


def deploy_assembly(
    assembly_dir: Path,
    stack_names: Sequence[str] | None = None,
    timeout_seconds: float = 60.0,
    on_progress: Callable[[str], None] = lambda _message: None,
) -> dict[str, DeployedStack]:
    """Deploy the assembly's stacks (all, or those named, with what they depend on), in dependency order."""
    session = boto3.session.Session()
    region = session.region_name or "us-east-1"
    account_id = session.client("sts").get_caller_identity()["Account"]
    stacks = read_stacks(Path(assembly_dir))
    if stack_names is not None:
        wanted = _with_dependencies(stacks, set(stack_names))
        stacks = [s for s in stacks if s.stack_name in wanted or s.artifact_id in wanted]
    bootstrap(account_id, region)
    deployed: dict[str, DeployedStack] = {}
    for stack in stacks:
        assets = sum(publish_file_assets(m, account_id, region) for m in stack.asset_manifests)
        on_progress(f"deploying {stack.stack_name} ({assets} assets)")
        deployed[stack.stack_name] = create_stack(stack, region, timeout_seconds)
        on_progress(f"{stack.stack_name}: CREATE_COMPLETE in {deployed[stack.stack_name].seconds:.1f} s")
    return deployed


def _with_dependencies(stacks: list[StackArtifact], names: set[str]) -> set[str]:
    by_id = {s.artifact_id: s for s in stacks}
    known = {s.stack_name for s in stacks} | set(by_id)
    unknown = names - known
    if unknown:
        raise DeploymentFailed(f"no stack named {sorted(unknown)} in the assembly; it has {sorted(known)}")
    wanted = set(names)
    pending = [s for s in stacks if s.stack_name in names or s.artifact_id in names]
    while pending:
        stack = pending.pop()
        for dependency in stack.depends_on:
            if dependency not in wanted:
                wanted.add(dependency)
                pending.append(by_id[dependency])
    return wanted
