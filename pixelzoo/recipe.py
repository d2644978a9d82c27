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
import math
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from pixelzoo.config import Kind, PartSpec
from pixelzoo.errors import PixelzooError, RecipeError
from pixelzoo.migrations import relocate_lines, upgrade, upgrade_overrides
from pixelzoo.registry import registry_for
from pixelzoo.safe_yaml import check_structure, read_yaml_file

Path_ = tuple[str | int, ...]
MAX_EXTENDS = 16  # base recipes in one `extends:` chain


@dataclass
class ResolvedRecipe:
    """A validated recipe with every default filled in."""

    data: dict[str, Any]
    source: Path | None = None
    overrides: list[str] = field(default_factory=list)
    #: one-line notices for the user (an old spelling read as the new one); `pixelzoo run`
    #: prints them once, like the dataset's notes
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        if self.data.get("name"):
            return str(self.data["name"])  # a plain folder name: the schema checks it
        stem = self.source.stem if self.source else ""
        # a file called `...yaml` has the stem `..`: it must not name the parent of --out
        return stem if stem.strip(".") else "recipe"

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
def _read(path: Path) -> tuple[dict[str, Any], dict[Path_, int]]:
    if not path.exists():
        raise RecipeError([f"recipe file not found: {path}"])
    if path.is_dir():
        raise RecipeError([f"expected a recipe file, got a folder: {path}"])
    if not path.is_file():  # a device or a pipe could feed us bytes forever
        raise RecipeError([f"expected a recipe file, got something else: {path}"])
    # size, encoding, alias expansion, self-references and depth are checked while reading
    data, lines = read_yaml_file(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RecipeError(["a recipe must be a mapping of keys (dataset, model, task, ...)"],
                          source=str(path))
    return data, lines


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """Merge `top` over `base`; mappings merge key by key, anything else is replaced.

    A component whose `type` changes is replaced whole, since the old type's parameters would
    not fit the new one. A bare part name merges as the `{type: NAME}` it stands for.
    """
    out = copy.deepcopy(base)
    for key, value in top.items():
        old = out.get(key)
        old, value = _as_part(old, value), _as_part(value, old)
        # (a section without a type, such as settings moved under `task` from an old
        # spelling, has no parameters of another type to drop: it merges)
        if (isinstance(old, dict) and isinstance(value, dict)
                and not ("type" in value and old.get("type", value["type"]) != value["type"])):
            out[key] = deep_merge(old, value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _as_part(value: Any, other: Any) -> Any:
    """A bare name that meets a mapping is a part name: `{type: NAME}`, so the shorthand merges
    and takes `--set` keys like the mapping it stands for (see `PartSpec`)."""
    return {"type": value} if isinstance(value, str) and isinstance(other, dict) else value


def _load_chain(path: Path, seen: tuple[Path, ...] = (), notes: list[str] | None = None
                ) -> tuple[dict[str, Any], list]:
    path = path.resolve()
    if path in seen:
        chain = " -> ".join(p.name for p in (*seen, path))
        raise RecipeError([f"extends: cycle of base recipes: {chain}"])
    if len(seen) >= MAX_EXTENDS:
        raise RecipeError([f"extends: more than {MAX_EXTENDS} base recipes in a chain "
                           f"(from {seen[0].name}); merge some of them"])
    data, lines = _read(path)
    # old spellings are rewritten file by file, before merging, so a base in the old spelling
    # and a variant in the new one merge key by key
    data, moved_notes, moved = upgrade(data)
    lines = relocate_lines(lines, moved)
    if notes is not None:
        notes += [f"{path.name}: {n}" for n in moved_notes]
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
    base, base_maps = _load_chain(base_path, (*seen, path), notes)
    if _names_weights(data.get("model")):
        # weights fix the whole architecture: the base's model section would not fit them
        base = {k: v for k, v in base.items() if k != "model"}
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
        parts = key.strip().split(".")
        if not all(p.strip() for p in parts):
            problems.append(f"--set {item}: the key before '=' is empty or has an empty part; "
                            "expected KEY=VALUE, e.g. train.epochs=2")
            continue
        try:  # the value is YAML a stranger may have written: bounded like a recipe file
            check_structure(raw, f"--set {key.strip()}")
        except RecipeError as exc:
            problems += [str(exc)]
            continue
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except (yaml.YAMLError, ValueError, OverflowError):  # not YAML (or a bad date): text
            value = raw
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
                if parts == ["model", "weights"]:
                    node.clear()  # so do weights: they bring their own model section
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


def _kept_keys(model: type[BaseModel], fpath: tuple[str, ...]) -> tuple[str, ...]:
    """`Kind.keep` of the part field at `fpath` inside `model`: keys the place adds beside the
    part's own parameters."""
    parent = _submodel(model, fpath[:-1]) if len(fpath) > 1 else model
    info = parent.model_fields.get(fpath[-1]) if parent is not None else None
    if info is None:
        return ()
    stack: list[Any] = [*info.metadata, info.annotation]
    while stack:
        node = stack.pop()
        if isinstance(node, Kind):
            return node.keep
        if typing.get_origin(node) is typing.Annotated:
            stack += list(typing.get_args(node)[1:]) + [typing.get_args(node)[0]]
        elif typing.get_origin(node) is not None:
            stack += list(typing.get_args(node))
    return ()


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
                hint = ""
                if kind == "literal_error" and isinstance(got, str):
                    choices = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected")))
                    close = difflib.get_close_matches(got, choices, n=1, cutoff=0.6)
                    hint = f"; did you mean '{close[0]}'?" if close else ""
                self.add(path, f"{err['msg']} (got {shown}){hint}")

    def part(self, spec: Any, kind: str, path: Path_, keep: tuple[str, ...] = ()
             ) -> dict[str, Any] | None:
        """Validate one `{type: ..., **params}` part; return its resolved dict.

        `keep`: keys the place adds beside the part's parameters (`Kind.keep`), kept as given.
        """
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
        params = copy.deepcopy({k: v for k, v in spec.items() if k != "type" and k not in keep})
        nested = _part_paths(config_cls)  # parts named in the Config, in sub-sections too
        resolved_nested: dict[tuple[str, ...], Any] = {}
        ok = True
        for fpath, (fkind, is_list) in nested.items():
            value = _get_in(params, fpath)
            if value is None:
                continue
            if isinstance(value, str) and not is_list:  # `combiner: concat` shorthand
                value = {"type": value}
                _set_in(params, fpath, value)
            if is_list:
                items = value if isinstance(value, list) else [value]
                res = [self.part(it, fkind, (*path, *fpath, i)) for i, it in enumerate(items)]
                ok &= all(r is not None for r in res)
                resolved_nested[fpath] = res
            else:
                res1 = self.part(value, fkind, (*path, *fpath))
                ok &= res1 is not None
                resolved_nested[fpath] = res1
        try:
            cfg = config_cls.model_validate(params)
        except ValidationError as exc:
            # nested parts are checked with their own Configs; skip pydantic's echoes of them
            errors = [e for e in exc.errors()
                      if not any(len(e["loc"]) > len(fp) and tuple(e["loc"][:len(fp)]) == fp
                                 for fp in nested)]
            self.pydantic_errors(errors, path, config_cls, owner)
            return None
        if not ok:
            return None
        out = {"type": name, **{k: spec[k] for k in keep if k in spec},
               **cfg.model_dump(mode="json")}
        # defaults of nested parts are resolved by their own Configs too
        for fpath, (fkind, is_list) in nested.items():
            if fpath in resolved_nested:
                _set_in(out, fpath, resolved_nested[fpath])
            elif (value := _get_in(out, fpath)) is not None:
                _set_in(out, fpath, [self.part(x, fkind, (*path, *fpath, i))
                                     for i, x in enumerate(value)]
                        if is_list else self.part(value, fkind, (*path, *fpath)))
        return out


def _part_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()
                ) -> dict[tuple[str, ...], tuple[str, bool]]:
    """Key path -> (kind, is_list) of every part field in a Config and its sub-sections.

    A sub-section is a field typed as another pydantic model (the infill task's `eval`); parts
    inside it (`eval.masks`) are validated with their own Configs like top-level ones.
    """
    direct = _part_fields(model)
    out = {(*prefix, name): found for name, found in direct.items()}
    for name, info in model.model_fields.items():
        if name in direct:
            continue
        for cand in (info.annotation, *typing.get_args(info.annotation)):
            if (isinstance(cand, type) and issubclass(cand, BaseModel)
                    and not issubclass(cand, PartSpec) and len(prefix) < 4):
                out.update(_part_paths(cand, (*prefix, name)))
                break
    return out


def _get_in(node: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _set_in(node: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


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
             overrides: list[str] | None = None, source: str | None = None,
             notes: list[str] | None = None, base_dir: Path | None = None) -> dict[str, Any]:
    """Validate a merged recipe mapping; return it resolved, or raise one `RecipeError`.

    Old spellings are read as the new ones (`pixelzoo.migrations`), with a line in `notes`.
    `base_dir` is the recipe file's folder: a run folder named in `model.weights` is looked for
    there first, then in the working directory.
    """
    from pixelzoo.schema import Recipe

    data, moved_notes, _ = upgrade(data)
    if notes is not None:
        notes += moved_notes
    v = _Validator(line_maps or [], overrides or [])
    _check_values(data, v)  # numbers that no field can hold, anywhere, before a Config sees them
    if v.problems:
        raise RecipeError(v.problems, source=source)
    parts = _part_fields(Recipe)
    data, weights_tag = _model_from_weights(data, v, base_dir)
    try:
        envelope = Recipe.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        if weights_tag == "":  # the weights were not found, and that is reported already
            errors = [e for e in errors if tuple(e["loc"])[:1] != ("model",)]
        v.pydantic_errors(errors, (), Recipe, "the recipe")
        envelope = None
    resolved: dict[str, Any] = {}
    for key, (kind, is_list) in parts.items():
        value = data.get(key)
        if value is None:
            continue
        if is_list:
            resolved[key] = [v.part(x, kind, (key, i)) for i, x in enumerate(value)]
        else:
            resolved[key] = v.part(value, kind, (key,))
    # parts inside the core sections (`train.callbacks`), checked by their own Configs too
    in_sections: dict[tuple[str, ...], Any] = {}
    for fpath, (kind, is_list) in _part_paths(Recipe).items():
        value = _get_in(data, fpath) if len(fpath) > 1 else None
        keep = _kept_keys(Recipe, fpath)  # eval.datasets' `label`
        if is_list and isinstance(value, list):
            in_sections[fpath] = [v.part(x, kind, (*fpath, i), keep)
                                  for i, x in enumerate(value)]
        elif value is not None and not is_list:
            in_sections[fpath] = v.part(value, kind, fpath)
    if envelope is not None and resolved.get("task") is not None:
        _check_metric(v, envelope.eval.metric, resolved["task"])
    if weights_tag and resolved.get("model") is not None:
        resolved["model"]["weights"] = weights_tag  # kept in config.yaml: where the run began
    if v.problems:
        raise RecipeError(sorted(set(v.problems), key=v.problems.index), source=source)
    assert envelope is not None
    out = envelope.model_dump(mode="json", exclude={"extends"})
    out.update({k: val for k, val in resolved.items() if val is not None})
    for fpath, val in in_sections.items():
        _set_in(out, fpath, val)
    return out


INT_BITS = 64  # whole numbers in a recipe: what torch, numpy and the schema's ranges can take


def _check_values(data: Any, v: _Validator) -> None:
    """Refuse integers past 64 bits, NaN and infinities wherever they are in the recipe.

    No setting means any of them: a NaN or infinite learning rate, limit or size is always a
    mistake, and a plugin's `Config` should not have to remember to refuse them. (Aliases may
    share a value between keys; each shared value is checked, and reported, once.)
    """
    stack: list[tuple[Any, Path_]] = [(data, ())]
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        if isinstance(node, bool):
            continue
        if isinstance(node, int):
            if node.bit_length() >= INT_BITS:
                v.add(path, f"a whole number of {node.bit_length()} bits is out of range: numbers "
                            f"in a recipe must fit in {INT_BITS} bits")
        elif isinstance(node, float):
            if math.isnan(node):
                v.add(path, "not a number (NaN) is not a valid value")
            elif math.isinf(node):
                v.add(path, "infinite values are not accepted; give a finite number (or null "
                            "where a setting may be left unset)")
        elif isinstance(node, (dict, list)) and id(node) not in seen:
            seen.add(id(node))
            items = node.items() if isinstance(node, dict) else enumerate(node)
            stack.extend((x, (*path, k)) for k, x in items)


def _check_metric(v: _Validator, metric: str | None, task: dict[str, Any]) -> None:
    """`eval.metric` must be one the task reports with these settings (else no `best`
    checkpoint would ever be written)."""
    if metric is None:
        return
    cls = registry_for("tasks").get(task["type"])
    problem_of = getattr(cls, "metric_problem", None)
    if problem_of is None:  # not a pixelzoo.tasks.base.Task: nothing declared to check against
        return
    try:
        problem = problem_of(metric, cls.Config.model_validate(
            {k: val for k, val in task.items() if k != "type"}), f"task '{task['type']}'")
    except Exception as exc:  # noqa: BLE001 - the plugin's own failure, reported at the key
        problem = f"task '{task['type']}' could not list its metrics: {exc}"
    if problem:
        v.add(("eval", "metric"), problem)


def _names_weights(section: Any) -> bool:
    return isinstance(section, dict) and "weights" in section


def _model_from_weights(data: dict[str, Any], v: _Validator, base_dir: Path | None = None
                        ) -> tuple[dict[str, Any], str | None]:
    """`model: {weights: W, ...}` -> the recipe with the weights' own model section, and W.

    W is a shipped tag, or a finished run's folder (or a weights file in one): a path relative to
    the recipe's folder (`base_dir`), else to the working directory, as written or absolute; a
    path that exists wins over a shipped tag of the same name. W comes back as the tag, or the
    path as found (relative to the working directory when it was given relatively). Keys written
    beside `weights` must match the weights' architecture (each that does not is reported at its
    path); `weights` itself never reaches the model's `Config`. W is "" when it names no weights
    (reported too), None when the model names no weights.
    """
    model = data.get("model")
    if not _names_weights(model):
        return data, None
    from pixelzoo import weights as shipped

    data = {k: val for k, val in data.items() if k != "model"}
    tag = model["weights"]
    if not isinstance(tag, str):
        v.add(("model", "weights"), f"expected the name of shipped weights (see `pixelzoo list "
                                    f"weights`) or a run folder, got {type(tag).__name__}")
        return data, ""
    found_path = _weights_path(tag, base_dir)
    if found_path is not None or not shipped.is_weights_name(tag):
        return _model_from_run(data, model, tag, found_path, base_dir, v)
    try:
        found, spec, conflicts = shipped.model_spec(model)
    except PixelzooError as exc:
        v.add(("model", "weights"), str(exc))
        return data, ""
    for key, given, recorded in conflicts:
        v.add(("model", *key), f"{given!r} does not fit the weights '{found.tag}', which were "
                               f"trained with {recorded!r}; leave it out (weights fix the "
                               "architecture)")
    data["model"] = spec
    return data, found.tag


def _weights_path(given: str, base_dir: Path | None) -> Path | None:
    """`model.weights` as an existing path: relative to the recipe's folder, else to the working
    directory (or absolute); None when no such file or folder exists."""
    import os

    path = Path(given)
    if not given.strip():
        return None
    candidates = [path] if path.is_absolute() else \
        [*([Path(os.path.normpath(base_dir / path))] if base_dir is not None else []), path]
    return next((c for c in candidates if c.exists()), None)


def _model_from_run(data: dict[str, Any], model: dict[str, Any], given: str,
                    path: Path | None, base_dir: Path | None, v: _Validator
                    ) -> tuple[dict[str, Any], str]:
    """`model: {weights: RUN_FOLDER}`: the run's own model section (from its `config.yaml`)."""
    from pixelzoo import weights as shipped

    key = ("model", "weights")
    if path is None:
        here = base_dir is None or base_dir.resolve() == Path.cwd().resolve()
        where = "the working directory" if here else f"{base_dir} and the working directory"
        v.add(key, f"{shipped.unknown_message(given)} Nor is it a run folder (looked in "
                   f"{where}).")
        return data, ""
    if path.is_file() and path.suffix != ".safetensors":
        v.add(key, f"{path}: expected a run folder, a .safetensors file in one, or shipped "
                   "weights, got another file")
        return data, ""
    folders = [path] if path.is_dir() else [path.parent, path.parent.parent]
    config = next((f / "config.yaml" for f in folders if (f / "config.yaml").is_file()), None)
    if config is None:
        v.add(key, f"{path}: not a run folder (no config.yaml in it)" if path.is_dir() else
                   f"{path}: no config.yaml beside these weights, so their model is unknown; "
                   "name the run folder")
        return data, ""
    try:
        run, _ = read_yaml_file(config)
    except PixelzooError as exc:
        v.add(key, str(exc))
        return data, ""
    recorded = upgrade(run)[0].get("model") if isinstance(run, dict) else None
    if not isinstance(recorded, dict) or not isinstance(recorded.get("type"), str):
        v.add(key, f"{config}: holds no model section, so the weights' model is unknown")
        return data, ""
    recorded = {k: val for k, val in recorded.items() if k != "weights"}
    given_keys = {k: val for k, val in model.items() if k != "weights"}
    for where, value, want in shipped.conflicts(given_keys, recorded):
        v.add(("model", *where), f"{value!r} does not fit the weights in {path}, which were "
                                 f"trained with {want!r}; leave it out (weights fix the "
                                 "architecture)")
    data["model"] = shipped.overlay(recorded, given_keys)
    return data, str(path)


def load_recipe(path: str | Path, overrides: list[str] | None = None) -> ResolvedRecipe:
    """Read, merge, override and validate the recipe at `path`."""
    path = Path(path)
    notes: list[str] = []
    overrides, override_notes = upgrade_overrides(list(overrides or []))
    data, maps = _load_chain(path, notes=notes)
    data = apply_overrides(data, overrides)
    resolved = validate(data, line_maps=maps, overrides=overrides, source=str(path),
                        base_dir=path.parent)
    return ResolvedRecipe(resolved, source=path, overrides=overrides,
                          notes=notes + override_notes)


def recipe_from_dict(data: dict[str, Any], name: str = "recipe") -> ResolvedRecipe:
    """Validate an in-memory recipe (tests, notebooks, saved `config.yaml`s)."""
    notes: list[str] = []
    resolved = validate(copy.deepcopy(data), source=name, notes=notes)
    return ResolvedRecipe(resolved, source=Path(f"{name}.yaml"), notes=notes)


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
