"""cfn-lint on the synthesized templates (offline, about a second)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.infrastructure.conftest import SynthesizedApp

# W3005 ("dependency already enforced by a GetAtt/Ref") flags the DependsOn CDK adds itself (for example a function
# on its role's policy); it is redundant, not wrong, and not ours to remove.
# W6001 ("output value is an import from another output") flags the pipeline stack re-exporting the data stack's
# bucket and table names: deliberate, so operators and the local run read every name from one stack's outputs
# (docs/architecture.md, "Stack outputs").
IGNORED_CHECKS = ["W3005", "W6001"]


def test_templates_are_cfn_lint_clean(synthesized: SynthesizedApp) -> None:
    templates = sorted(str(path) for path in synthesized.outdir.glob("*.template.json"))
    assert len(templates) == 2
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--ignore-checks", *IGNORED_CHECKS, "--", *templates],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
