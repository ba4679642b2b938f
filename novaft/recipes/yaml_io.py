"""YAML reading and writing for recipes, plus dotted-path access into nested recipe dicts.

Recipes are written with PyYAML's safe dumper, which writes floats as ``1.0e-05``: both YAML 1.1 loaders (PyYAML) and
OmegaConf read that back as a float, whereas ``1e-5`` is a string to PyYAML.

Text a user writes (``job.yaml``, ``--set`` values) goes through ``load_user_yaml``, which refuses what a short hostile
file could use to exhaust memory or the stack: anchors and aliases (a few hundred bytes of aliases expand to
gigabytes), nesting deeper than ``MAX_USER_YAML_DEPTH`` (PyYAML composes nodes recursively) and, because the last
value would silently win, a key given twice.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import yaml
from yaml.events import AliasEvent, MappingStartEvent, SequenceStartEvent

from novaft.errors import clipped

# job.yaml nests three levels at most (vpc.subnets[0]); the bound leaves room and stays far below the depth at which
# PyYAML's recursive composer exhausts the interpreter's stack (about 500 levels).
MAX_USER_YAML_DEPTH = 20


class YamlSyntaxError(ValueError):
    """Text that is not YAML; the message names the source and the line."""


class YamlNotAllowed(YamlSyntaxError):
    """YAML that user text may not use: an anchor or alias, nesting deeper than allowed, or a key given twice."""


def load_yaml_text(text: str, *, source: str) -> Any:
    """Load YAML shipped with novaft (templates, catalog, tables); user text goes through ``load_user_yaml``."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, source) from None


def load_user_yaml(text: str, *, source: str, max_depth: int = MAX_USER_YAML_DEPTH) -> Any:
    """Load YAML a user wrote; raises ``YamlNotAllowed`` (naming the line) for what ``_UserYamlLoader`` refuses."""
    loader = _UserYamlLoader(text, max_depth=max_depth)
    try:
        return loader.get_single_data()
    except _Refusal as refusal:
        raise YamlNotAllowed(f"{source}: line {refusal.line}: {refusal.reason}") from None
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, source) from None
    finally:
        loader.dispose()


def _syntax_error(exc: yaml.YAMLError, source: str) -> YamlSyntaxError:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        return YamlSyntaxError(f"{source}:{where}: not valid YAML: {clipped(str(exc.problem))}")
    return YamlSyntaxError(f"{source}: not valid YAML: {clipped(str(exc))}")


class _Refusal(Exception):
    def __init__(self, reason: str, mark: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = mark.line + 1 if mark is not None else "?"


class _UserYamlLoader(yaml.SafeLoader):
    """The safe loader, refusing anchors and aliases, deep nesting and repeated keys before they cost anything.

    The checks run on parse events as the composer asks for them, so a refused document is never built: depth is
    counted before the composer recurses into a collection, and an anchor is refused before anything refers to it.
    """

    def __init__(self, text: str, *, max_depth: int) -> None:
        super().__init__(text)
        self._max_depth = max_depth
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            raise _Refusal(f"alias *{clipped(str(event.anchor))}: YAML aliases are not allowed", event.start_mark)
        if event.anchor is not None:
            raise _Refusal(f"anchor &{clipped(str(event.anchor))}: YAML anchors are not allowed", event.start_mark)
        if not isinstance(event, SequenceStartEvent | MappingStartEvent):
            return super().compose_node(parent, index)
        if self._depth >= self._max_depth:
            raise _Refusal(f"nested deeper than {self._max_depth} levels", event.start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)
            first_line: dict[Hashable, int] = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                if not isinstance(key, Hashable):
                    break  # the safe constructor names the unhashable key itself
                line = key_node.start_mark.line + 1
                if key in first_line:
                    given_twice = f"key {clipped(repr(key))} given twice (first on line {first_line[key]})"
                    raise _Refusal(given_twice, key_node.start_mark)
                first_line[key] = line
        return super().construct_mapping(node, deep=deep)


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
