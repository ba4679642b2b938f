"""Plain-text rendering of a stored validation report (pure).

The report is the validator's ``report.to_dict()`` as the pipeline wrote it to S3. The renderer reads it generically
(scalars as ``key: value``, sections for nested objects, issues as ``file:line code path message``) so a field added
to the report shows up here without a change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

_ISSUE_KEYS = ("issues", "errors", "warnings")
_INDENT = "  "


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    if value is None:
        return "-"
    return str(value)


def _is_issue(item: Any) -> bool:
    return isinstance(item, Mapping) and "code" in item and "message" in item


def format_issue(issue: Mapping[str, Any]) -> str:
    # Line 0 is the file as a whole (the validator's convention).
    line = issue.get("line") or 0
    where = f"{issue.get('file', 'train')}:{line}" if line else f"{issue.get('file', 'train')} (file)"
    path = issue.get("path")
    return f"{where}  {issue['code']}  {path + '  ' if path and path != '$' else ''}{issue['message']}"


def _lines(data: Mapping[str, Any], depth: int) -> list[str]:
    lines: list[str] = []
    indent = _INDENT * depth
    nested: list[tuple[str, Any]] = []
    for key, value in data.items():
        if isinstance(value, Mapping) or (isinstance(value, Sequence) and not isinstance(value, str)):
            nested.append((key, value))
        else:
            lines.append(f"{indent}{key}: {_scalar(value)}")
    for key, value in nested:
        if isinstance(value, Mapping):
            if value:
                lines.append(f"{indent}{key}:")
                lines.extend(_lines(value, depth + 1))
            continue
        if not value:
            lines.append(f"{indent}{key}: none")
        elif all(_is_issue(item) for item in value):
            lines.append(f"{indent}{key} ({len(value)} shown):")
            lines.extend(f"{indent}{_INDENT}{format_issue(item)}" for item in value)
        elif all(not isinstance(item, Mapping | list) for item in value):
            lines.append(f"{indent}{key}: {', '.join(_scalar(item) for item in value)}")
        else:
            lines.append(f"{indent}{key}:")
            for item in value:
                if isinstance(item, Mapping):
                    sub = _lines(item, depth + 2)
                    lines.append(f"{indent}{_INDENT}- {sub[0].strip()}" if sub else f"{indent}{_INDENT}-")
                    lines.extend(sub[1:])
                else:
                    lines.append(f"{indent}{_INDENT}- {_scalar(item)}")
    return lines


def format_report(report: Mapping[str, Any], *, run_name: str, run_id: str) -> str:
    valid = report.get("valid")
    verdict = "valid" if valid is True else "INVALID" if valid is False else "unknown"
    header = f"validation report of run {run_name} ({run_id}): {verdict}"
    body = {key: value for key, value in report.items() if key != "valid"}
    # Issues read best last, after the counts and statistics they explain.
    ordered = {key: value for key, value in body.items() if key not in _ISSUE_KEYS}
    ordered.update({key: body[key] for key in _ISSUE_KEYS if key in body})
    return "\n".join([header, *_lines(ordered, 1)])
