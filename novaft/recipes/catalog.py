"""The recipe catalog: which Nova recipe variants exist, what each allows, and where its template and image are.

The data lives in ``recipes/catalog.yaml`` beside the templates (``recipes/templates/<variant id>.yaml``); this module
only reads and checks it. The CDK app calls ``load_catalog().regions_with_training_images()`` at synth time.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from novaft.pipeline.facts import Method, ModelName, Peft
from novaft.recipes.errors import CatalogError
from novaft.recipes.yaml_io import YamlSyntaxError, has_path, load_yaml_text

Schema = Literal["nova_1_0", "nova_2_0"]
CatalogModel = TypeVar("CatalogModel", bound=BaseModel)

# The repository's recipes/ folder: two levels above this package (novaft/recipes/ -> repo root).
DEFAULT_RECIPES_DIR = Path(__file__).resolve().parents[2] / "recipes"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelInfo(_Frozen):
    model_type: str
    model_name_or_path: str
    schema_: Schema = Field(alias="schema")


class Bounds(_Frozen):
    """An inclusive numeric range (``exclusive_min`` makes the lower end open) or a set of allowed values."""

    min: float | None = None
    max: float | None = None
    exclusive_min: bool = False
    allowed: tuple[float, ...] | None = None

    def contains(self, value: float) -> bool:
        if self.allowed is not None and value not in self.allowed:
            return False
        if self.min is not None and (value <= self.min if self.exclusive_min else value < self.min):
            return False
        return self.max is None or value <= self.max

    def describe(self) -> str:
        if self.allowed is not None:
            return "one of " + ", ".join(_number(v) for v in self.allowed)
        low = "(" if self.exclusive_min else "["
        return f"{low}{_number(self.min)}, {_number(self.max)}]"


class Replicas(_Frozen):
    default: int
    allowed: tuple[int, ...]


class MaxLength(_Frozen):
    min: int
    max: int
    step: int
    allowed: tuple[int, ...] | None = None
    max_by_instance: dict[str, int] = Field(default_factory=dict)

    def upper_for(self, instance_type: str) -> int:
        return min(self.max, self.max_by_instance.get(instance_type, self.max))

    def describe(self, instance_type: str) -> str:
        if self.allowed is not None:
            return "one of " + ", ".join(str(v) for v in self.allowed if v <= self.upper_for(instance_type))
        return f"a multiple of {self.step} in [{self.min}, {self.upper_for(instance_type)}]"

    def contains(self, value: int, instance_type: str) -> bool:
        if self.allowed is not None and value not in self.allowed:
            return False
        return self.min <= value <= self.upper_for(instance_type) and value % self.step == 0


class Variant(_Frozen):
    """One official recipe that runs on SageMaker training jobs."""

    id: str
    model: ModelName
    method: Method
    peft: Peft
    image: str
    default: bool = False
    validation_channel: bool = True
    instance_types: tuple[str, ...]
    replicas: Replicas
    global_batch_size: tuple[int, ...]
    max_length: MaxLength

    @property
    def default_instance_type(self) -> str:
        return self.instance_types[0]


class Catalog(_Frozen):
    """The catalog as loaded from ``recipes/catalog.yaml``; templates are read from ``templates_dir`` on demand."""

    image_accounts: dict[str, str]
    images: dict[str, str]
    models: dict[ModelName, ModelInfo]
    recipe_keys: dict[Schema, dict[str, str]]
    limits: dict[str, Bounds]
    variants: tuple[Variant, ...]
    templates_dir: Path

    @model_validator(mode="after")
    def _check_consistency(self) -> Catalog:
        ids = [variant.id for variant in self.variants]
        if len(ids) != len(set(ids)):
            raise ValueError("variant ids must be unique")
        for variant in self.variants:
            if variant.image not in self.images:
                raise ValueError(f"variant {variant.id}: unknown image key {variant.image!r}")
            if variant.replicas.default not in variant.replicas.allowed:
                raise ValueError(f"variant {variant.id}: default replicas not in the allowed set")
        seen: set[tuple[str, str, str, str]] = set()
        defaults: set[tuple[str, str, str]] = set()
        for variant in self.variants:
            for instance_type in variant.instance_types:
                combo = (variant.model, variant.method, variant.peft, instance_type)
                if combo in seen:
                    raise ValueError(f"two variants serve {combo}")
                seen.add(combo)
            if variant.default:
                triple = (variant.model, variant.method, variant.peft)
                if triple in defaults:
                    raise ValueError(f"two default variants for {triple}")
                defaults.add(triple)
        return self

    # --- lookups -----------------------------------------------------------------------------------------------------

    def regions_with_training_images(self) -> frozenset[str]:
        return frozenset(self.image_accounts)

    def variant(self, variant_id: str) -> Variant:
        for variant in self.variants:
            if variant.id == variant_id:
                return variant
        raise KeyError(variant_id)

    def variants_for(self, model: str, method: str, peft: str) -> tuple[Variant, ...]:
        return tuple(v for v in self.variants if (v.model, v.method, v.peft) == (model, method, peft))

    def default_variant(self, model: str, method: str, peft: str) -> Variant | None:
        candidates = self.variants_for(model, method, peft)
        return next((v for v in candidates if v.default), candidates[0] if candidates else None)

    def find_variant(self, model: str, method: str, peft: str, instance_type: str | None) -> Variant | None:
        """The variant for this choice; with no instance type, the default variant (p5 class)."""
        if instance_type is None:
            return self.default_variant(model, method, peft)
        return next((v for v in self.variants_for(model, method, peft) if instance_type in v.instance_types), None)

    def instance_types_for(self, model: str, method: str, peft: str) -> tuple[str, ...]:
        return tuple(t for v in self.variants_for(model, method, peft) for t in v.instance_types)

    def image_uri(self, variant: Variant, region: str) -> str:
        account = self.image_accounts[region]
        return f"{account}.dkr.ecr.{region}.amazonaws.com/{self.images[variant.image]}"

    def schema_of(self, variant: Variant) -> Schema:
        return self.models[variant.model].schema_

    def template_values(self, variant: Variant) -> dict[str, Any]:
        """A fresh deep copy of the variant's template (safe to modify)."""
        return copy.deepcopy(read_template(self.templates_dir / f"{variant.id}.yaml"))

    def tunable_keys(self, variant: Variant) -> dict[str, str]:
        """Job-spec setting name -> recipe key path, for the settings that exist in this variant's template."""
        template = read_template(self.templates_dir / f"{variant.id}.yaml")
        keys = self.recipe_keys[self.schema_of(variant)]
        return {name: path for name, path in keys.items() if has_path(template, path)}


@cache
def read_template(path: Path, kind: str = "recipe template") -> dict[str, Any]:
    """A template file's values (cached: copy before changing them); ``kind`` names the file in errors."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"{kind} {path.name} cannot be read: {exc.strerror}") from None
    try:
        values = load_yaml_text(text, source=path.name)
    except YamlSyntaxError as exc:
        raise CatalogError(str(exc)) from None
    if not isinstance(values, dict):
        raise CatalogError(f"{kind} {path.name} is not a mapping")
    return values


def read_catalog(catalog_dir: Path, model: type[CatalogModel], kind: str) -> CatalogModel:
    """``catalog.yaml`` of ``catalog_dir`` checked as ``model``, its templates in ``catalog_dir/templates``."""
    path = catalog_dir / "catalog.yaml"
    try:
        raw = load_yaml_text(path.read_text(encoding="utf-8"), source=path.name)
    except OSError as exc:
        raise CatalogError(f"{kind} {path} cannot be read: {exc.strerror}") from None
    except YamlSyntaxError as exc:
        raise CatalogError(str(exc)) from None
    # Top-level keys starting with "_" only hold YAML anchors shared by the entries.
    data = {key: value for key, value in raw.items() if not key.startswith("_")}
    try:
        return model.model_validate({**data, "templates_dir": catalog_dir / "templates"})
    except ValidationError as exc:
        raise CatalogError(f"{kind} {path.name} is inconsistent: {exc}") from None


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return str(int(value)) if float(value).is_integer() and abs(value) >= 1 else f"{value:g}"


@cache
def _load(recipes_dir: Path) -> Catalog:
    catalog = read_catalog(recipes_dir, Catalog, "recipe catalog")
    for variant in catalog.variants:
        catalog.template_values(variant)  # fail at load time, not mid-run, if a template is missing
    return catalog


def load_catalog(recipes_dir: Path | None = None) -> Catalog:
    """Load (once per process) the catalog shipped in the repository's ``recipes/`` folder."""
    return _load((recipes_dir or DEFAULT_RECIPES_DIR).resolve())
