"""Assembling a recipe's parts: dataset, masks, task and model, with the sizes the core owns.

Used by `run`, `compare` and `infill` alike, so a model is always built the same way from a
resolved recipe: the dataset's geometry and class count flow into the task and the model; no
recipe repeats them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pixelzoo.data.base import DataSplits
from pixelzoo.recipe import ResolvedRecipe, build_part


@dataclass
class Parts:
    data: DataSplits
    mask: Any
    task: Any
    model: Any


def build_data(recipe: ResolvedRecipe) -> DataSplits:
    spec = dict(recipe.data["dataset"])
    return build_part("datasets", spec).load()


def build_mask(spec: dict[str, Any] | None, data: DataSplits) -> Any:
    if spec is None:
        return None
    return build_part("masks", spec, channels=data.channels, height=data.height,
                      width=data.width)


def build_task(recipe: ResolvedRecipe, data: DataSplits, mask: Any = None) -> Any:
    return build_part("tasks", recipe.data["task"], data=data, mask=mask,
                      eval_config=recipe.envelope().eval)


def build_model(recipe: ResolvedRecipe, task: Any) -> Any:
    return build_part("models", recipe.data["model"], **task.model_kwargs())


def build_all(recipe: ResolvedRecipe, data: DataSplits | None = None) -> Parts:
    data = data if data is not None else build_data(recipe)
    mask = build_mask(recipe.data.get("mask"), data)
    task = build_task(recipe, data, mask)
    model = build_model(recipe, task)
    return Parts(data, mask, task, model)


def architecture(recipe: ResolvedRecipe, model: Any) -> dict[str, Any]:
    """What must match for weights to load: the model section plus the data geometry."""
    arch = {"model": recipe.data["model"]}
    for key in ("channels", "height", "width", "num_classes"):
        if hasattr(model, key):
            arch[key] = getattr(model, key)
    return arch


def count_parameters(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())
