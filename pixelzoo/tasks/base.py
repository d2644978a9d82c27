"""The task interface: what the model predicts, its loss, and how it is evaluated.

A task is built from its `Config` plus what the core owns: the loaded `DataSplits`, the training
mask generator (if any) and the recipe's `eval` section. The engine asks it for the model's
sizes (`model_kwargs`), calls `training_loss` on each batch, `evaluate` on a split, and `report`
once at the end (tables and pictures). Randomness inside a task (holes, sampling) comes from
generators the engine derives from (seed, epoch, step, rank), so a resumed run repeats it exactly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from pixelzoo.config import PartConfig
from pixelzoo.data.base import DataSplits, ImageSet


class TaskConfig(PartConfig):
    """Options every task accepts (none yet)."""


class Task:
    """Base class for task plugins."""

    Config: ClassVar[type[PartConfig]] = TaskConfig
    #: Name of the metric that picks the `best` checkpoint, and whether higher is better.
    default_metric: ClassVar[str] = "loss"
    higher_is_better: ClassVar[dict[str, bool]] = {}

    def __init__(self, config: PartConfig, *, data: DataSplits, mask: Any = None,
                 eval_config: Any = None):
        self.config = config
        self.data = data
        self.mask = mask
        self.eval_config = eval_config

    def model_kwargs(self) -> dict[str, Any]:
        """Sizes the model needs: channels, height, width, num_classes."""
        return {"channels": self.data.channels, "height": self.data.height,
                "width": self.data.width, "num_classes": None}

    def training_loss(self, model: torch.nn.Module, images: torch.Tensor,
                      labels: torch.Tensor | None, rng: np.random.Generator
                      ) -> tuple[torch.Tensor, dict[str, float]]:
        """Loss on one batch of uint8 (B, C, H, W) images (on the model's device)."""
        raise NotImplementedError

    @torch.no_grad()
    def evaluate(self, model: torch.nn.Module, split: ImageSet, device: torch.device,
                 batch_size: int = 64) -> dict[str, float]:
        """Metrics on a split; keys are flat metric names."""
        raise NotImplementedError

    def report(self, model: torch.nn.Module, split: ImageSet, device: torch.device,
               run_dir: Path | None) -> dict[str, Any]:
        """Final tables and pictures; returns what goes into summary.json."""
        return {}

    def metric_mode(self, name: str) -> str:
        """'max' if higher is better for this metric, else 'min'."""
        if name in self.higher_is_better:
            return "max" if self.higher_is_better[name] else "min"
        low = ("loss", "nll", "l1", "bits", "error")
        return "min" if any(k in name for k in low) else "max"
