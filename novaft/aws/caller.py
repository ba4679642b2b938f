"""Who is calling: the ARN STS reports for the credentials in use (recorded with an approval's answer)."""

from __future__ import annotations

from typing import Any


class CallerIdentity:
    def __init__(self, sts: Any) -> None:
        self._sts = sts

    def arn(self) -> str:
        return str(self._sts.get_caller_identity()["Arn"])
