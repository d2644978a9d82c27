"""Tiny data, models and infill tasks for the infill tests (imported by them)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from pixelzoo.data.base import DataSplits, ImageSet
from pixelzoo.recipe import build_part
from pixelzoo.schema import EvalConfig


def tiny_data(n: int = 6, size: int = 8, channels: int = 3, seed: int = 0) -> DataSplits:
    """Blocky random images (flat 2x2 patches), so a model has something learnable."""
    rng = np.random.default_rng(seed)

    def split(k: int) -> ImageSet:
        small = rng.integers(0, 256, (k, channels, size // 2, size // 2), dtype=np.uint8)
        return ImageSet(np.repeat(np.repeat(small, 2, axis=2), 2, axis=3))

    return DataSplits(train=split(n), val=split(n), test=split(n))


def tiny_model(directions: int = 1, decoder: str = "independent", channels: int = 3,
               size: int = 8, seed: int = 0) -> Any:
    torch.manual_seed(seed)
    spec = {"type": "rowrnn", "embed": 4, "hidden": 8, "layers": 1, "directions": directions,
            "combiner": {"type": "linear_add"}, "decoder": {"type": decoder}}
    return build_part("models", spec, channels=channels, height=size, width=size).eval()


def make_task(data: DataSplits | None = None, masks: list[dict[str, Any]] | None = None,
              mask: dict[str, Any] | None = None, **task_kw: Any) -> Any:
    from pixelzoo.engine.build import build_mask

    data = data if data is not None else tiny_data()
    masks = masks if masks is not None else [{"type": "center", "size": 0.5},
                                             {"type": "seed_blocks"}]
    ev = EvalConfig(limit=None, batch_size=4)
    gen = build_mask(mask or {"type": "boxes"}, data)
    settings = {"masks": masks, "samples": 2, **task_kw.pop("eval", {})}
    return build_part("tasks", {"type": "infill", "eval": settings, **task_kw}, data=data,
                      mask=gen, eval_config=ev)
