"""The task interface: what the model predicts, its loss, and how it is evaluated.

A task is built from its `Config` plus what the core owns: the loaded `DataSplits`, the training
mask generator (if any) and the recipe's `eval` section. The engine asks it for the model's
sizes (`model_kwargs`), calls `training_loss` on each batch, `evaluate` on a split, and `report`
once at the end (tables and pictures). Randomness inside a task (holes, sampling) comes from
generators the engine derives from (seed, epoch, step, rank), so a resumed run repeats it exactly.
`evaluate` and `report` call `check_interrupt` between batches, so a stop signal ends a long
evaluation promptly instead of after it.

A task may also split its loss for `train.cuda_graphs`: `capture_inputs` does the host side of a
step (everything random or data-dependent, drawn with the step's generator) and returns
fixed-shape device tensors; `capture_loss(model, *those)` is then pure device work on fixed
shapes, which a CUDA graph can record once and replay. A task without the split trains eagerly.
"""

from __future__ import annotations

from collections.abc import Callable
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
        """Loss on one batch of uint8 (B, C, H, W) images (on the model's device).

        By default the capture split below, run eagerly; a task may compute the same value
        another way (the infill task's is cheaper on a CPU).
        """
        if not self.supports_capture():
            raise NotImplementedError
        return self.capture_loss(model, *self.capture_inputs(images, labels, rng)), {}

    # ------------------------------------------------------------------ the split for CUDA graphs
    def capture_inputs(self, images: torch.Tensor, labels: torch.Tensor | None,
                       rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
        """The host side of a training step: fixed-shape device tensors for `capture_loss`.

        Everything random or data-dependent (holes, targets, weights) is decided here, with
        `rng`, so a captured step draws exactly what `training_loss` would. For a given batch
        size the shapes must not depend on the data: a CUDA graph replays fixed shapes.
        """
        raise NotImplementedError

    def capture_loss(self, model: torch.nn.Module, *inputs: torch.Tensor) -> torch.Tensor:
        """The scalar training loss from `capture_inputs`'s tensors, as pure device work.

        No host synchronisation (`.item()`, `if tensor.any()`) and no data-dependent shapes
        (boolean indexing): this is what a CUDA graph records. It must equal `training_loss`.
        """
        raise NotImplementedError

    def supports_capture(self) -> bool:
        """True when this task provides the split (`capture_inputs` and `capture_loss`)."""
        cls = type(self)
        return (cls.capture_inputs is not Task.capture_inputs
                and cls.capture_loss is not Task.capture_loss)

    @torch.no_grad()
    def evaluate(self, model: torch.nn.Module, split: ImageSet, device: torch.device,
                 batch_size: int = 64) -> dict[str, float]:
        """Metrics on a split; keys are flat metric names. Call `check_interrupt` per batch."""
        raise NotImplementedError

    def report(self, model: torch.nn.Module, split: ImageSet, device: torch.device,
               run_dir: Path | None) -> dict[str, Any]:
        """Final tables and pictures; returns what goes into summary.json. Call
        `check_interrupt` between long pieces of work, never in the middle of writing a file."""
        return {}

    #: Set by the engine around `evaluate` and `report` (None otherwise): raises to stop.
    interrupt_check: Callable[[], None] | None = None

    def check_interrupt(self) -> None:
        """Call between evaluation batches: raises if the run was asked to stop (Ctrl-C, SIGTERM).

        An evaluation can take minutes (sampling, baselines), and a stop signal should not wait
        for all of it; the engine then checkpoints what is safe and exits. Under torchrun the
        check inside `evaluate` is agreed between the ranks (one small all-reduce), so
        `evaluate` must call it equally often on every rank: per batch, on the same batches.
        Outside a run (inference, `compare`'s pictures) it does nothing.
        """
        if self.interrupt_check is not None:
            self.interrupt_check()

    def metric_mode(self, name: str) -> str:
        """'max' if higher is better for this metric, else 'min'."""
        if name in self.higher_is_better:
            return "max" if self.higher_is_better[name] else "min"
        low = ("loss", "nll", "l1", "bits", "error")
        return "min" if any(k in name for k in low) else "max"
