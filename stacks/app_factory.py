"""Build the whole CDK app from a context dict: for app.py, the infrastructure tests and the local end-to-end run."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk

from novaft.pipeline.facts import STAGE_CONTEXT_KEY, STAGES_CONTEXT_KEY, data_stack_name, pipeline_stack_name
from stacks.config import StageConfig
from stacks.data_stack import DataStack
from stacks.layer_manifest import LAYER_DIR
from stacks.pipeline_stack import PipelineStack
from stacks.security import register_security_checks

REPO_ROOT = Path(__file__).resolve().parent.parent
# CDK feature flags the stacks rely on, set here so every caller (CLI, tests, local run) synthesizes the same app.
FEATURE_FLAGS = {
    # Access logs are delivered through a bucket policy, so every bucket can keep ACLs disabled.
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
    "@aws-cdk/aws-iam:minimizePolicies": True,
    "@aws-cdk/core:target-partitions": ["aws"],
}


def build_app(
    context: Mapping[str, Any],
    outdir: str | None,
    *,
    default_region: str | None = None,
    default_account: str | None = None,
    layer_dir: Path | None = None,
    repo_root: Path = REPO_ROOT,
) -> cdk.App:
    """The app with both stacks and the cdk-nag gate registered; call ``.synth()`` on it.

    ``default_region``/``default_account`` are the CLI's CDK_DEFAULT_* values (a stage's own region wins);
    ``layer_dir`` defaults to the directory scripts/build_lambda_layer.py builds.
    """
    # Context the CDK CLI passes (cdk.json, -c) takes precedence over ``context``; None outdir means the CLI's.
    app = cdk.App(outdir=outdir, context={**FEATURE_FLAGS, **context})
    config = StageConfig.from_context(
        {key: app.node.try_get_context(key) for key in (STAGE_CONTEXT_KEY, STAGES_CONTEXT_KEY)},
        default_region=default_region,
    )
    env = cdk.Environment(account=config.account or default_account, region=config.region)
    data = DataStack(
        app,
        data_stack_name(config.stage),
        config=config,
        env=env,
        description=f"novaft {config.stage}: datasets, artifacts, runs table, key (stateful)",
    )
    pipeline = PipelineStack(
        app,
        pipeline_stack_name(config.stage),
        config=config,
        data=data.exports,
        repo_root=repo_root,
        layer_dir=layer_dir or repo_root / LAYER_DIR,
        env=env,
        description=f"novaft {config.stage}: fine-tuning workflow, functions, notifications (stateless)",
    )
    # The pipeline imports the data stack's named exports, which CDK does not see as a reference.
    pipeline.node.add_dependency(data)
    for stack in (data, pipeline):
        cdk.Tags.of(stack).add("project", "novaft")
        cdk.Tags.of(stack).add("novaft:stage", config.stage)
    register_security_checks(app)
    return app
