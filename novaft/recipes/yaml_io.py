"""YAML reading and writing for recipes, plus dotted-path access into nested recipe dicts.

Recipes are written with PyYAML's safe dumper, which writes floats as ``1.0e-05``: both YAML 1.1 loaders (PyYAML) and
OmegaConf read that back as a float, whereas ``1e-5`` is a string to PyYAML.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml


class YamlSyntaxError(ValueError):
    """Text that is not YAML; the message names the source and the line."""


def load_yaml_text(text: str, *, source: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise YamlSyntaxError(f"{source}:{where}: not valid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(f"{source}: not valid YAML: {exc}") from None


def dump_recipe(values: Mapping[str, Any]) -> str:
    """Block-style YAML in the template's key order."""
    return yaml.safe_dump(dict(values), sort_keys=False, default_flow_style=False, allow_unicode=True, width=120)


def has_path(tree: Mapping[str, Any], dotted: str) -> bool:
    node: Any = tree
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


def get_path(tree: Mapping[str, Any], dotted: str) -> Any:
    node: Any = tree
    for part in dotted.split("."):
        node = node[part]
    return node


def set_path(tree: dict[str, Any], dotted: str, value: Any) -> None:
    """Set an existing or new key; intermediate dicts are created as needed."""
    parts = dotted.split(".")
    node = tree
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def nested_from_dotted(flat: Mapping[str, Any]) -> dict[str, Any]:
    """``{"a.b": 1}`` -> ``{"a": {"b": 1}}`` (the shape OmegaConf-style recipe overrides take)."""
    tree: dict[str, Any] = {}
    for dotted, value in flat.items():
        set_path(tree, dotted, value)
    return tree
