"""Loading, merging, overriding and validating recipes.

A recipe is YAML read with `yaml.safe_load`; it can never name code to import. Loading goes:
read the file (and its one `extends:` base, recursively, deep-merged), apply `--set a.b=c`
overrides, then validate in two stages: the pydantic envelope (`pixelzoo.schema.Recipe`), then
each part's own `Config`, found through the registries and followed into nested parts (a model's
combiner and decoder). A part may be written as a bare name, shorthand for `{type: NAME}`
wherever a part goes (merges and `--set` treat it the same). Every problem is collected with its
dotted path (and YAML line where the key is written), then reported once as a `RecipeError`. The
result is a `ResolvedRecipe` whose `data` is the complete, defaults-filled recipe: what
`pixelzoo show` prints and what a run saves as `config.yaml`.
"""

from __future__ import annotations

import copy
import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from pixelzoo.config import Kind, PartSpec
from pixelzoo.errors import PixelzooError, RecipeError
from pixelzoo.registry import registry_for

Path_ = tuple[str | int, ...]


@dataclass
class ResolvedRecipe:
    """A validated recipe with every default filled in."""

    data: dict[str, Any]
    source: Path | None = None
    overrides: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        if self.data.get("name"):
            return str(self.data["name"])
        return self.source.stem if self.source else "recipe"

    def envelope(self) -> Any:
        from pixelzoo.schema import Recipe

        return Recipe.model_validate(self.data)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.data, sort_keys=False)

    def get(self, dotted: str) -> Any:
        node: Any = self.data
        for key in dotted.split("."):
            node = node[int(key)] if isinstance(node, list) else node[key]
        return node


# ---------------------------------------------------------------------------------- reading
def _line_map(text: str) -> dict[Path_, int]:
    """Map each key path in a YAML document to its 1-based line, for error messages."""
    lines: dict[Path_, int] = {}

    def walk(node: Any, path: Path_) -> None:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                p = (*path, k.value)
                lines[p] = k.start_mark.line + 1
                walk(v, p)
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                lines[(*path, i)] = v.start_mark.line + 1
                walk(v, (*path, i))

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lines
    if root is not None:
        walk(root, ())
    return lines


def _read(path: Path) -> tuple[dict[str, Any], dict[Path_, int]]:
    if not path.exists():
        raise RecipeError([f"recipe file not found: {path}"])
    if path.is_dir():
        raise RecipeError([f"expected a recipe file, got a folder: {path}"])
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise RecipeError([f"{where}not valid YAML: {problem}"], source=str(path)) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RecipeError(["a recipe must be a mapping of keys (dataset, model, task, ...)"],
                          source=str(path))
    return data, _line_map(text)


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """Merge `top` over `base`; mappings merge key by key, anything else is replaced.

    A component whose `type` changes is replaced whole, since the old type's parameters would
    not fit the new one. A bare part name merges as the `{type: NAME}` it stands for.
    """
    out = copy.deepcopy(base)
    for key, value in top.items():
        old = out.get(key)
        old, value = _as_part(old, value), _as_part(value, old)
        if (isinstance(old, dict) and isinstance(value, dict)
                and not ("type" in value and old.get("type") != value.get("type"))):
            out[key] = deep_merge(old, value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _as_part(value: Any, other: Any) -> Any:
    """A bare name that meets a mapping is a part name: `{type: NAME}`, so the shorthand merges
    and takes `--set` keys like the mapping it stands for (see `PartSpec`)."""
    return {"type": value} if isinstance(value, str) and isinstance(other, dict) else value


def _load_chain(path: Path, seen: tuple[Path, ...] = ()) -> tuple[dict[str, Any], list]:
    path = path.resolve()
    if path in seen:
        chain = " -> ".join(p.name for p in (*seen, path))
        raise RecipeError([f"extends: cycle of base recipes: {chain}"])
    data, lines = _read(path)
    maps = [(path, lines)]
    base_ref = data.get("extends")
    if base_ref is None:
        return data, maps
    if not isinstance(base_ref, str):
        raise RecipeError(["extends: must be the path of one base recipe"], source=str(path))
    base_path = (path.parent / base_ref)
    if not base_path.exists():
        raise RecipeError([f"extends: base recipe not found: {base_ref} "
                           f"(looked in {base_path.parent})"], source=str(path))
    base, base_maps = _load_chain(base_path, (*seen, path))
    merged = deep_merge(base, {k: v for k, v in data.items() if k != "extends"})
    return merged, maps + base_maps


# ---------------------------------------------------------------------------------- overrides
def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `a.b.c=value` overrides; values are YAML scalars/lists, typed later by the schema."""
    out = copy.deepcopy(data)
    problems = []
    for item in overrides:
        if "=" not in item:
            problems.append(f"--set {item}: expected KEY=VALUE, e.g. train.epochs=2")
            continue
        key, raw = item.split("=", 1)
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        parts = key.strip().split(".")
        node: Any = out
        for i, part in enumerate(parts[:-1]):
            if isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node[int(part)] = _as_part(node[int(part)], {})
                node = node[int(part)]
                continue
            if not isinstance(node, dict):
                problems.append(f"--set {key}: '{'.'.join(parts[:i])}' is not a section")
                break
            node[part] = _as_part(node.get(part), {})
            if not isinstance(node.get(part), (dict, list)):
                node[part] = {}
            node = node[part]
        else:
            last = parts[-1]
            if isinstance(node, list) and last.isdigit() and int(last) < len(node):
                node[int(last)] = value
            elif isinstance(node, dict):
                if last == "type" and node.get("type") not in (None, value):
                    node.clear()  # a new part type starts from its own defaults
                node[last] = value
            else:
                problems.append(f"--set {key}: cannot set inside a value")
    if problems:
        raise RecipeError(problems)
    return out


# ---------------------------------------------------------------------------------- validation
def _dotted(path: Path_) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top level)"


def _kind_of(annotation: Any) -> tuple[str, bool] | None:
    """(kind, is_list) if an annotation is a Kind-tagged PartSpec (possibly in list/Optional)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        args = typing.get_args(annotation)
        for meta in args[1:]:
            if isinstance(meta, Kind):
                return meta.kind, False
        return _kind_of(args[0])
    if origin in (list, tuple):
        inner = _kind_of(typing.get_args(annotation)[0])
        return (inner[0], True) if inner else None
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _kind_of(arg)
            if found:
                return found
    return None


def _part_fields(model: type[BaseModel]) -> dict[str, tuple[str, bool]]:
    out = {}
    for name, info in model.model_fields.items():
        for meta in info.metadata:
            if isinstance(meta, Kind):
                out[name] = (meta.kind, False)
                break
        else:
            found = _kind_of(info.annotation)
            if found:
                out[name] = found
    return out


class _Validator:
    def __init__(self, line_maps: list[tuple[Path, dict[Path_, int]]], overrides: list[str]):
        self.line_maps = line_maps
        self.override_keys = {o.split("=", 1)[0].strip() for o in overrides}
        self.problems: list[str] = []

    def where(self, path: Path_) -> str:
        dotted = _dotted(path)
        if dotted in self.override_keys:
            return " (from --set)"
        for i, (src, lines) in enumerate(self.line_maps):
            probe = path
            while probe:
                if probe in lines:
                    name = f"{src.name}:" if i or len(self.line_maps) > 1 else ""
                    return f" ({name}line {lines[probe]})"
                probe = probe[:-1]
        return ""

    def add(self, path: Path_, message: str) -> None:
        self.problems.append(f"{_dotted(path)}: {message}{self.where(path)}")

    def pydantic_errors(self, errors: list[Any], prefix: Path_, model: type[BaseModel],
                        owner: str) -> None:
        for err in errors:
            loc = tuple(err["loc"])
            path = (*prefix, *loc)
            kind = err["type"]
            if kind == "extra_forbidden":
                parent = _submodel(model, loc[:-1])
                known = list(parent.model_fields) if parent else []
                close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
                msg = f"unknown parameter for {owner}"
                if close:
                    msg += f"; did you mean '{close[0]}'?"
                elif known:
                    msg += f". Valid parameters: {', '.join(known)}"
                self.add(path, msg)
            elif kind == "missing":
                self.add(path, f"required by {owner}, but missing")
            else:
                got = err.get("input")
                shown = repr(got) if not isinstance(got, (dict, list)) else type(got).__name__
                self.add(path, f"{err['msg']} (got {shown})")

    def part(self, spec: Any, kind: str, path: Path_) -> dict[str, Any] | None:
        """Validate one `{type: ..., **params}` part; return its resolved dict."""
        reg = registry_for(kind)
        if isinstance(spec, str):  # `mask: strokes` is shorthand for `{type: strokes}`
            spec = {"type": spec}
        if not isinstance(spec, dict):
            self.add(path, f"expected a {reg.singular} like {{type: NAME, ...}}, "
                           f"got {type(spec).__name__}")
            return None
        name = spec.get("type")
        if not isinstance(name, str):
            self.add((*path, "type"), f"missing; name a {reg.singular}: {', '.join(reg.names())}")
            return None
        try:
            cls = reg.get(name)
        except PixelzooError as exc:
            self.add((*path, "type"), str(exc))
            return None
        config_cls = getattr(cls, "Config", None)
        if config_cls is None:
            self.add((*path, "type"), f"{reg.singular} '{name}' has no Config class; "
                                       "the plugin is incomplete")
            return None
        info = reg.info(name)
        owner = f"{reg.singular} '{name}'"
        if info.dist != "pixelzoo":
            owner += f" (from {info.dist} {info.version})"
        params = {k: v for k, v in spec.items() if k != "type"}
        nested = _part_fields(config_cls)
        resolved_nested: dict[str, Any] = {}
        ok = True
        for fname, (fkind, is_list) in nested.items():
            if fname not in params or params[fname] is None:
                continue
            if isinstance(params[fname], str):  # `combiner: concat` shorthand
                params[fname] = {"type": params[fname]}
            if is_list:
                items = params[fname] if isinstance(params[fname], list) else [params[fname]]
                res = [self.part(it, fkind, (*path, fname, i)) for i, it in enumerate(items)]
                ok &= all(r is not None for r in res)
                resolved_nested[fname] = res
            else:
                res1 = self.part(params[fname], fkind, (*path, fname))
                ok &= res1 is not None
                resolved_nested[fname] = res1
        try:
            cfg = config_cls.model_validate(params)
        except ValidationError as exc:
            # nested parts are checked with their own Configs; skip pydantic's echoes of them
            errors = [e for e in exc.errors()
                      if not (len(e["loc"]) > 1 and e["loc"][0] in nested)]
            self.pydantic_errors(errors, path, config_cls, owner)
            return None
        if not ok:
            return None
        out = {"type": name, **cfg.model_dump(mode="json")}
        # defaults of nested parts are resolved by their own Configs too
        for fname, (fkind, is_list) in nested.items():
            if fname in resolved_nested:
                out[fname] = resolved_nested[fname]
            elif out.get(fname) is not None:
                value = out[fname]
                out[fname] = ([self.part(v, fkind, (*path, fname, i)) for i, v in enumerate(value)]
                              if is_list else self.part(value, fkind, (*path, fname)))
        return out


def _submodel(model: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    current: Any = model
    for key in loc:
        if isinstance(key, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        info = current.model_fields.get(str(key))
        if info is None:
            return None
        ann = info.annotation
        current = None
        for cand in (ann, *typing.get_args(ann)):
            if isinstance(cand, type) and issubclass(cand, BaseModel):
                current = cand
                break
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def validate(data: dict[str, Any], *, line_maps: list | None = None,
             overrides: list[str] | None = None, source: str | None = None) -> dict[str, Any]:
    """Validate a merged recipe mapping; return it resolved, or raise one `RecipeError`."""
    from pixelzoo.schema import Recipe

    v = _Validator(line_maps or [], overrides or [])
    parts = _part_fields(Recipe)
    try:
        envelope = Recipe.model_validate(data)
    except ValidationError as exc:
        v.pydantic_errors(exc.errors(), (), Recipe, "the recipe")
        envelope = None
    resolved: dict[str, Any] = {}
    for key, (kind, is_list) in parts.items():
        if key == "eval":
            continue
        value = data.get(key)
        if value is None:
            continue
        if is_list:
            resolved[key] = [v.part(x, kind, (key, i)) for i, x in enumerate(value)]
        else:
            resolved[key] = v.part(value, kind, (key,))
    eval_masks = (data.get("eval") or {}).get("masks") if isinstance(data.get("eval"), dict) else None
    resolved_masks = None
    if isinstance(eval_masks, list):
        resolved_masks = [v.part(x, "masks", ("eval", "masks", i)) for i, x in enumerate(eval_masks)]
    if v.problems:
        raise RecipeError(sorted(set(v.problems), key=v.problems.index), source=source)
    assert envelope is not None
    out = envelope.model_dump(mode="json", exclude={"extends"})
    out.update({k: val for k, val in resolved.items() if val is not None})
    if resolved_masks is not None:
        out["eval"]["masks"] = resolved_masks
    return out


def load_recipe(path: str | Path, overrides: list[str] | None = None) -> ResolvedRecipe:
    """Read, merge, override and validate the recipe at `path`."""
    path = Path(path)
    overrides = list(overrides or [])
    data, maps = _load_chain(path)
    data = apply_overrides(data, overrides)
    resolved = validate(data, line_maps=maps, overrides=overrides, source=str(path))
    return ResolvedRecipe(resolved, source=path, overrides=overrides)


def recipe_from_dict(data: dict[str, Any], name: str = "recipe") -> ResolvedRecipe:
    """Validate an in-memory recipe (tests, notebooks, saved `config.yaml`s)."""
    resolved = validate(copy.deepcopy(data), source=name)
    out = ResolvedRecipe(resolved, source=Path(f"{name}.yaml"))
    return out


def build_part(kind: str, spec: dict[str, Any] | PartSpec | str, **core: Any) -> Any:
    """Instantiate a part from its resolved spec, passing the sizes the core owns."""
    reg = registry_for(kind)
    if isinstance(spec, str):
        spec = {"type": spec}
    if isinstance(spec, PartSpec):
        spec = {"type": spec.type, **spec.params}
    cls = reg.get(spec["type"])
    try:
        cfg = cls.Config.model_validate({k: v for k, v in spec.items() if k != "type"})
    except ValidationError as exc:
        v = _Validator([], [])
        v.pydantic_errors(exc.errors(), (), cls.Config, f"{reg.singular} '{spec['type']}'")
        raise RecipeError(v.problems) from None
    return cls(cfg, **core)
