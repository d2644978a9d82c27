"""Generate the recipe reference (`docs/recipe-reference.md`) from the schema itself.

The envelope (`pixelzoo.schema`) and every part's `Config` are pydantic models, so their fields,
types, defaults and descriptions are the single source of truth; this module renders them as
Markdown. Only pixelzoo's own parts are documented here (third-party plugins document
themselves), so the output does not depend on what else is installed. Regenerate with
`pixelzoo schema --markdown > docs/recipe-reference.md`; a test checks the file is current.
"""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from pixelzoo.config import PartSpec
from pixelzoo.registry import REGISTRIES


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is typing.Literal:
        return " \\| ".join(repr(a) for a in args)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return " \\| ".join(_type_name(a) for a in args)
    if origin in (list, tuple):
        return f"list[{_type_name(args[0])}]" if args else "list"
    if annotation is type(None):
        return "null"
    name = getattr(annotation, "__name__", str(annotation))
    return {"PartSpec": "part", "NoneType": "null"}.get(name, name)


def _default(info: Any) -> str:
    if info.default is not PydanticUndefined:
        value = info.default
    elif info.default_factory is not None:
        value = info.default_factory()
    else:
        return "**required**"
    if isinstance(value, list) and value and all(isinstance(v, PartSpec) for v in value):
        value = [v.type if not v.params else {"type": v.type, **v.params} for v in value]
    if isinstance(value, BaseModel):
        dumped = value.model_dump(mode="json")
        if set(dumped) <= {"type"} | set(getattr(value, "model_extra", None) or {}):
            return f"`{dumped}`"
        return "(section)"
    return f"`{value!r}`".replace("|", "\\|")


def model_table(model: type[BaseModel]) -> str:
    rows = ["| key | type | default | description |", "|---|---|---|---|"]
    for name, info in model.model_fields.items():
        desc = (info.description or "").replace("|", "\\|")
        rows.append(f"| `{name}` | {_type_name(info.annotation)} | {_default(info)} | {desc} |")
    return "\n".join(rows)


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().split("\n\n")[0].replace("\n", " ")


def markdown() -> str:
    from pixelzoo import schema

    out = [
        "# Recipe reference",
        "",
        "Generated from the schema by `pixelzoo schema --markdown`; do not edit by hand.",
        "A recipe is YAML with the top-level keys below. Component sections are written",
        "`{type: NAME, ...params}`, or just `NAME` for a part with its defaults (`mask: strokes`,",
        "`task: {type: infill, eval: {masks: [demo_hole, strokes]}}`, `combiner: concat`); each",
        "part's parameters are listed under its kind, its sub-sections (such as the infill",
        "task's `eval`) below it.",
        "Sizes the core owns (channels, height, width, number of classes, hidden size passed",
        "to combiners) come from the dataset and model and are never repeated in a recipe.",
        "A model may start from shipped weights, `model: {weights: toon_infill}` (see `pixelzoo",
        "list weights`), or from a finished run's folder (`model: {weights: runs/NAME/TIME}`,",
        "relative to the recipe's folder or the working directory): the weights bring their own",
        "model section, keys written beside `weights` must match it, and `train.epochs: 0`",
        "evaluates them without training (with `eval.datasets`, on other datasets too).",
        "",
        "## Top level",
        "",
        model_table(schema.Recipe),
    ]
    for title, model in (("train", schema.TrainConfig), ("train.optimizer", schema.OptimizerConfig),
                         ("train.scheduler", schema.SchedulerConfig), ("eval", schema.EvalConfig)):
        out += ["", f"## `{title}`", "", _first_line(model.__doc__), "", model_table(model)]
    for kind, reg in REGISTRIES.items():
        out += ["", f"## {kind.capitalize()}", ""]
        for info in reg.infos():
            if info.dist != "pixelzoo":
                continue
            cls = reg.get(info.name)
            out += [f"### `{info.name}`", "", _first_line(cls.__doc__), ""]
            fields = cls.Config.model_fields
            out.append(model_table(cls.Config) if fields else "No parameters.")
            out.append("")
            out += _metrics(cls)
            out += _sub_sections(cls.Config, info.name)
    return "\n".join(out).rstrip() + "\n"


def _metrics(cls: Any) -> list[str]:
    """A task's declared metrics (`Task.metrics`), one line each; nothing for other parts."""
    declared = getattr(cls, "metrics", None)
    if not declared or not isinstance(declared, tuple):
        return []
    out = ["Metrics (`*` stands for any part of a key; `eval.metric` names one of them):", ""]
    for m in declared:
        marks = ["higher is better" if m.higher_is_better else "lower is better"]
        marks += [w for w, on in (("primary", m.primary), ("charted", m.headline)) if on]
        text = f": {m.description}" if m.description else ""
        out.append(f"- `{m.name}` ({', '.join(marks)}){text}")
    return [*out, ""]


def _sub_sections(model: type[BaseModel], label: str) -> list[str]:
    """A table for each field of `model` that is itself a section (a pydantic model)."""
    out: list[str] = []
    for name, info in model.model_fields.items():
        sub = info.annotation
        if isinstance(sub, type) and issubclass(sub, BaseModel) and sub.model_fields:
            out += [f"#### `{label}`: `{name}`", "", _first_line(sub.__doc__), "",
                    model_table(sub), ""]
            out += _sub_sections(sub, f"{label}.{name}")
    return out
