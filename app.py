#!/usr/bin/env python3
"""CDK entry point: cdk.json context → StageConfig → Data and Pipeline stacks → cdk-nag → synth."""

from __future__ import annotations

import os
import sys

from novaft.errors import NovaftError
from novaft.pipeline.facts import ExitCode
from stacks.app_factory import build_app


def main() -> int:
    try:
        # The CDK CLI passes context and output directory itself; only the default account/region come from here.
        app = build_app(
            {},
            None,
            default_region=os.environ.get("CDK_DEFAULT_REGION"),
            default_account=os.environ.get("CDK_DEFAULT_ACCOUNT"),
        )
    except NovaftError as error:
        print(f"novaft: {error}", file=sys.stderr)
        return ExitCode.USAGE
    app.synth()
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
