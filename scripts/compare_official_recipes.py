"""Compare recipes/ (templates and catalog) with a checkout of the official aws/sagemaker-hyperpod-recipes repository.

    python scripts/compare_official_recipes.py --official PATH_TO_CHECKOUT [--check-commit]

For every catalog variant it compares the template with the official recipe of the same name (every key and value,
after resolving the recipe's `${oc.select:...}` references), the replica set written in the recipe's `replicas`
comment, the instance types in `nova_metadata.json`, the training image per region in
`nova_regional_parameters.json`, and the replica sets and ranges in `nova_recipe_template_parameters.json`. Official
SFT and DPO recipes the catalog lacks are listed too.

One line per difference. Differences recorded with a reason in recipes/OFFICIAL_SOURCE.yaml are printed as KEPT and do
not fail the run; a recorded difference that no longer occurs is printed as STALE so the record stays true. Exit 1
when any DIFF or STALE line was printed, 0 otherwise, 2 when PATH is not a checkout of the recipes repository.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # run from a checkout without installing novaft

from novaft.recipes.catalog import Bounds, Catalog, Variant, load_catalog  # noqa: E402

RECORD_FILE_NAME = "OFFICIAL_SOURCE.yaml"
FINE_TUNING_RECIPES = "recipes_collection/recipes/fine-tuning/nova"
METADATA = "launcher/recipe_templatization/nova/nova_metadata.json"
REGIONAL_PARAMETERS = "launcher/recipe_templatization/nova/nova_regional_parameters.json"
TEMPLATE_PARAMETERS = "launcher/recipe_templatization/nova/nova_recipe_template_parameters.json"
# The methods the catalog covers, as the official folders name them.
METHOD_FOLDERS = ("SFT", "DPO")

# Official template parameter -> catalog limit it bounds, which is also the job-spec setting's name (per-variant sets,
# replicas and batch size, are compared apart; epochs has one limit per method).
LIMIT_OF_PARAMETER = {
    "max_steps": "max_steps",
    "learning_rate": "lr",
    "min_lr": "min_lr",
    "warmup_steps": "warmup_steps",
    "weight_decay": "weight_decay",
    "lora_alpha": "lora_alpha",
    "learning_rate_ratio": "loraplus_lr_ratio",
    "adam_beta": "dpo_beta",
}

_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_SELECT = re.compile(r"^\$\{(?:oc\.select:)?([A-Za-z0-9_.]+)\}$")
_REPLICAS_LINE = re.compile(r"^\s*replicas:\s*\d+\s*#(?P<comment>.*)$", re.MULTILINE)
_ALLOWED_IN_COMMENT = re.compile(r"(?:allowed values? (?:is|are)|supported values:)(?P<values>[\s\d,{}and]+)", re.I)


class NotARecipesCheckout(Exception):
    """The --official path lacks a file every checkout of the recipes repository has."""


@dataclass(frozen=True)
class Difference:
    subject: str  # a variant id, an official recipe name, or limits.<name>
    aspect: str  # what was compared, e.g. "recipe run.replicas" or "instance types (nova_metadata.json)"
    ours: str
    official: str

    def __str__(self) -> str:
        return f"{self.subject}: {self.aspect}: ours {self.ours}, official {self.official}"


@dataclass(frozen=True)
class KeptDifference:
    """A difference recorded on purpose; subject and aspect are shell-style patterns (``*`` matches any text)."""

    subject: str
    aspect: str
    reason: str

    def covers(self, difference: Difference) -> bool:
        return fnmatchcase(difference.subject, self.subject) and fnmatchcase(difference.aspect, self.aspect)


@dataclass(frozen=True)
class OfficialRecord:
    repository: str
    commit: str
    commit_date: str
    kept: tuple[KeptDifference, ...]


@dataclass(frozen=True)
class Official:
    """The parts of a recipes checkout the catalog is compared with."""

    root: Path
    recipes: dict[str, Path]  # recipe name (file stem) -> file, SFT and DPO only
    metadata: dict[str, Any]
    regional: dict[str, Any]
    template_parameters: dict[str, Any]


# --- reading ---------------------------------------------------------------------------------------------------------


def read_record(recipes_dir: Path) -> OfficialRecord:
    raw = yaml.safe_load((recipes_dir / RECORD_FILE_NAME).read_text(encoding="utf-8"))
    kept = tuple(
        KeptDifference(str(item["subject"]), str(item["aspect"]), str(item["reason"]))
        for item in raw.get("kept_differences") or []
    )
    return OfficialRecord(str(raw["repository"]), str(raw["commit"]), str(raw["commit_date"]), kept)


def read_official(root: Path) -> Official:
    for relative in (FINE_TUNING_RECIPES, METADATA, REGIONAL_PARAMETERS, TEMPLATE_PARAMETERS):
        if not (root / relative).exists():
            raise NotARecipesCheckout(f"{root} is not a checkout of aws/sagemaker-hyperpod-recipes: {relative} missing")
    recipes = {
        path.stem: path
        for folder in METHOD_FOLDERS
        for path in sorted((root / FINE_TUNING_RECIPES).glob(f"**/{folder}/*.yaml"))
    }
    return Official(
        root=root,
        recipes=recipes,
        metadata=_json(root / METADATA),
        regional=_json(root / REGIONAL_PARAMETERS),
        template_parameters=_json(root / TEMPLATE_PARAMETERS)["templates"],
    )


def _json(path: Path) -> dict[str, Any]:
    value = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(value, dict):
        raise NotARecipesCheckout(f"{path} is not a JSON object")
    return value


def official_recipe_values(text: str) -> dict[str, Any]:
    """The recipe as its consumer (OmegaConf) reads it: `1e-5` is a number and `${oc.select:a.b}` is a.b's value."""
    values = _numbers_as_numbers(yaml.safe_load(text))
    flat = dict(flatten(values))
    for path, value in flat.items():
        match = _SELECT.match(value) if isinstance(value, str) else None
        if match and match.group(1) in flat:
            flat[path] = flat[match.group(1)]
    return flat


def _numbers_as_numbers(node: Any) -> Any:
    # YAML 1.1 (PyYAML) reads `1e-5` as a string; OmegaConf, which the training container uses, reads a float.
    if isinstance(node, dict):
        return {key: _numbers_as_numbers(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_numbers_as_numbers(value) for value in node]
    if isinstance(node, str) and _NUMBER.match(node):
        return float(node)
    return node


def flatten(node: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Dotted path -> leaf value; lists and empty mappings are leaves."""
    for key, value in node.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            yield from flatten(value, path)
        else:
            yield path, value


def allowed_replicas_in_comment(text: str) -> tuple[int, ...] | None:
    """The replica set a recipe states in its `replicas:` comment ("allowed values are 2, 4, 8" or "{2, 4, 8}")."""
    line = _REPLICAS_LINE.search(text)
    if line is None:
        return None
    allowed = _ALLOWED_IN_COMMENT.search(line.group("comment"))
    if allowed is None:
        return None
    return tuple(int(number) for number in re.findall(r"\d+", allowed.group("values")))


# --- comparing -------------------------------------------------------------------------------------------------------


def compare(catalog: Catalog, official: Official) -> list[Difference]:
    differences: dict[str, Difference] = {}  # keyed by the printed line: a shared limit is reported once
    for difference in _all_differences(catalog, official):
        differences.setdefault(str(difference), difference)
    return list(differences.values())


def _all_differences(catalog: Catalog, official: Official) -> Iterator[Difference]:
    ours = {variant.id for variant in catalog.variants}
    for name in sorted(set(official.recipes) - ours):
        yield Difference(name, "official recipe", "not in the catalog", _relative(official, official.recipes[name]))
    for variant in catalog.variants:
        path = official.recipes.get(variant.id)
        if path is None:
            yield Difference(variant.id, "official recipe", "in the catalog", "no recipe file of that name")
            continue
        text = path.read_text(encoding="utf-8")
        yield from _template_differences(catalog, variant, official_recipe_values(text))
        allowed = allowed_replicas_in_comment(text)
        if allowed is not None and tuple(sorted(allowed)) != tuple(sorted(variant.replicas.allowed)):
            yield Difference(
                variant.id, "replicas allowed (recipe comment)", _set(variant.replicas.allowed), _set(allowed)
            )
        yield from _metadata_differences(variant, official)
        yield from _image_differences(catalog, variant, official)
        yield from _template_parameter_differences(catalog, variant, official)


def _template_differences(catalog: Catalog, variant: Variant, official: dict[str, Any]) -> Iterator[Difference]:
    ours = dict(flatten(catalog.template_values(variant)))
    for path in sorted(set(ours) | set(official)):
        if path not in official:
            yield Difference(variant.id, f"recipe {path}", repr(ours[path]), "absent")
        elif path not in ours:
            yield Difference(variant.id, f"recipe {path}", "absent", repr(official[path]))
        elif not _same(ours[path], official[path]):
            yield Difference(variant.id, f"recipe {path}", repr(ours[path]), repr(official[path]))


def _same(ours: Any, official: Any) -> bool:
    if isinstance(ours, bool) or isinstance(official, bool):
        return ours is official
    if isinstance(ours, int | float) and isinstance(official, int | float):
        return float(ours) == float(official)
    return bool(ours == official)


def _metadata_differences(variant: Variant, official: Official) -> Iterator[Difference]:
    entry = official.metadata.get(variant.id)
    theirs = sorted(entry["instance_types"]) if entry else []
    if sorted(variant.instance_types) != theirs:
        yield Difference(
            variant.id, "instance types (nova_metadata.json)", _list(variant.instance_types), _list(theirs)
        )


def _image_differences(catalog: Catalog, variant: Variant, official: Official) -> Iterator[Difference]:
    entry = official.regional.get(variant.id, {})
    images: dict[str, str] = entry.get("sm_jobs", {}).get("container_image", {}).get("prod", {})
    for region in sorted(set(catalog.image_accounts) | set(images)):
        ours = catalog.image_uri(variant, region) if region in catalog.image_accounts else "none"
        theirs = images.get(region, "none")
        if ours != theirs:
            yield Difference(variant.id, f"training image in {region} (nova_regional_parameters.json)", ours, theirs)


def _template_parameter_differences(catalog: Catalog, variant: Variant, official: Official) -> Iterator[Difference]:
    found = _template_naming(variant.id, official.template_parameters)
    if found is None:
        yield Difference(variant.id, "template parameters", "a variant", "no template names it")
        return
    template_name, parameters = found
    where = f"(template parameters {template_name})"
    replicas = parameters["replicas"]["conditional_constraints"]
    allowed = replicas["enum"]["Name"][variant.id]
    default = replicas.get("default", {}).get("Name", {}).get(variant.id, parameters["replicas"].get("default"))
    if sorted(allowed) != sorted(variant.replicas.allowed):
        yield Difference(variant.id, f"replicas allowed {where}", _set(variant.replicas.allowed), _set(allowed))
    if default != variant.replicas.default:
        yield Difference(variant.id, f"replicas default {where}", str(variant.replicas.default), str(default))
    batch = parameters.get("global_batch_size", {}).get("enum")
    if batch is not None and sorted(batch) != sorted(variant.global_batch_size):
        yield Difference(variant.id, f"global_batch_size {where}", _set(variant.global_batch_size), _set(batch))
    tunable = catalog.tunable_keys(variant)
    epochs = parameters.get("max_epochs")
    if epochs is not None and "epochs" in tunable:
        yield from _bounds_difference(f"epochs_{variant.method}", catalog, epochs, "max_epochs")
    for parameter, limit in LIMIT_OF_PARAMETER.items():
        if parameter in parameters and limit in tunable:
            yield from _bounds_difference(limit, catalog, parameters[parameter], parameter)


def _template_naming(variant_id: str, templates: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The official template whose per-recipe replica constraints name this recipe."""
    for name, template in templates.items():
        parameters = template.get("recipe_override_parameters", {})
        named = parameters.get("replicas", {}).get("conditional_constraints", {}).get("enum", {}).get("Name", {})
        if variant_id in named:
            return name, parameters
    return None


def _bounds_difference(limit: str, catalog: Catalog, spec: Mapping[str, Any], parameter: str) -> Iterator[Difference]:
    ours = catalog.limits[limit]
    aspect = f"range (template parameters {parameter})"
    if "enum" in spec:
        if ours.allowed is None or sorted(ours.allowed) != sorted(spec["enum"]):
            yield Difference(f"limits.{limit}", aspect, _bounds(ours), _set(spec["enum"]))
        return
    # The official file does not say whether an end is inclusive, so only the numbers are compared.
    if (ours.min, ours.max) != (spec.get("min"), spec.get("max")) or ours.allowed is not None:
        yield Difference(
            f"limits.{limit}", aspect, _bounds(ours), f"[{_num(spec.get('min'))}, {_num(spec.get('max'))}]"
        )


# --- output ----------------------------------------------------------------------------------------------------------


def _bounds(bounds: Bounds) -> str:
    if bounds.allowed is not None:
        return _set(bounds.allowed)
    return f"{'(' if bounds.exclusive_min else '['}{_num(bounds.min)}, {_num(bounds.max)}]"


def _num(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1:
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def _set(values: Sequence[Any]) -> str:
    return "{" + ", ".join(_num(value) for value in sorted(values)) + "}"


def _list(values: Sequence[str]) -> str:
    return ", ".join(sorted(values)) or "none"


def _relative(official: Official, path: Path) -> str:
    return str(path.relative_to(official.root))


def checkout_commit(root: Path) -> str | None:
    try:
        result = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=False, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--official", type=Path, required=True, help="a checkout of aws/sagemaker-hyperpod-recipes")
    parser.add_argument("--recipes-dir", type=Path, default=REPO_ROOT / "recipes", help="default: this repo's recipes/")
    parser.add_argument(
        "--check-commit", action="store_true", help="also fail when the checkout is not at the recorded commit"
    )
    args = parser.parse_args(argv)
    record = read_record(args.recipes_dir)
    try:
        official = read_official(args.official)
    except NotARecipesCheckout as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    head = checkout_commit(args.official)
    print(f"recorded: {record.repository} at {record.commit} ({record.commit_date}), in recipes/{RECORD_FILE_NAME}")
    print(f"checkout: {args.official} at {head or 'an unknown commit (not a git checkout)'}")
    failed = 0
    if head != record.commit:
        print(f"{'DIFF' if args.check_commit else 'NOTE'}   checkout is not at the recorded commit")
        failed += int(args.check_commit)
    differences = compare(load_catalog(args.recipes_dir), official)
    kept_count = 0
    for difference in differences:
        kept = next((k for k in record.kept if k.covers(difference)), None)
        if kept is None:
            print(f"DIFF   {difference}")
            failed += 1
        else:
            print(f"KEPT   {difference} -- {kept.reason}")
            kept_count += 1
    for kept in record.kept:
        if not any(kept.covers(difference) for difference in differences):
            print(f"STALE  {kept.subject}: {kept.aspect}: recorded as kept, but it no longer differs")
            failed += 1
    print(f"{failed} to fix, {kept_count} kept on purpose")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
