"""The recipe's optimizer and learning-rate schedule, and the learning rate a run reports.

`train.optimizer` becomes a torch optimizer (Adam, AdamW, SGD; `capturable` for a step captured
in a CUDA graph) and `train.scheduler` a torch scheduler stepped once per optimizer step:

- `constant` and `cosine`: a `LambdaLR` with a linear warm-up over `warmup_steps`, then a flat
  rate or a cosine down to `min_lr_ratio` of the rate;
- `onecycle`: torch's own `OneCycleLR` with `max_lr` the recipe's rate, over every step of the
  run, warming up for `warmup_steps` (0: torch's 30%) with torch's default start and end
  divisors and cosine annealing. Momentum is not cycled: a captured step would keep the momentum
  it was captured with, and the same recipe must train the same way eager or captured.

Loading a saved schedule keeps the recipe's length: a resumed run whose `train.epochs` was raised
stretches `cosine` and `onecycle` to the new number of steps. Not for the step itself (`step.py`)
or for the optimizer's portable state-dict form (`cuda_graphs.py`).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import torch

from pixelzoo.engine.cuda_graphs import CAPTURABLE_OPTIMIZERS, load_scheduler_state
from pixelzoo.errors import PixelzooError


def make_optimizer(params: Any, cfg: Any, *, capturable: bool = False) -> torch.optim.Optimizer:
    """The recipe's optimizer; `capturable` (Adam, AdamW) for a step captured in a CUDA graph."""
    o = cfg.optimizer
    if o.type == "adam":
        return torch.optim.Adam(params, lr=o.lr, weight_decay=o.weight_decay,
                                capturable=capturable)
    if o.type == "adamw":
        return torch.optim.AdamW(params, lr=o.lr, weight_decay=o.weight_decay,
                                 capturable=capturable)
    if capturable:
        raise ValueError(f"optimizer {o.type!r} cannot be captured; use {CAPTURABLE_OPTIMIZERS}")
    return torch.optim.SGD(params, lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay)


def make_scheduler(opt: torch.optim.Optimizer, cfg: Any, total_steps: int) -> Any:
    """The recipe's schedule over `total_steps` optimizer steps."""
    s = cfg.scheduler
    warm = s.warmup_steps
    total = max(total_steps, 1)
    if s.type == "onecycle":
        return _one_cycle(opt, cfg.optimizer.lr, warm, total)

    def factor(step: int) -> float:
        if warm and step < warm:
            return (step + 1) / warm
        if s.type == "constant":
            return 1.0
        progress = min(1.0, (step - warm) / max(1, total - warm))
        cos = 0.5 * (1 + math.cos(math.pi * progress))
        return s.min_lr_ratio + (1 - s.min_lr_ratio) * cos  # cosine

    return torch.optim.lr_scheduler.LambdaLR(opt, factor)


def _one_cycle(opt: torch.optim.Optimizer, lr: float, warm: int, total: int) -> Any:
    # OneCycleLR divides by the length of each phase: a one-step warm-up, or one that takes the
    # whole run, would divide by zero inside torch
    if warm == 1 or (warm and warm >= total):
        raise PixelzooError(f"train.scheduler.warmup_steps: onecycle needs 0 (30% of the run) or "
                            f"2 to {total - 1} warm-up steps for this run of {total} steps, "
                            f"got {warm}")
    pct = warm / total if warm else 0.3
    return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=total, pct_start=pct,
                                               anneal_strategy="cos", cycle_momentum=False)


def load_schedule(scheduler: Any, sd: dict[str, Any]) -> None:
    """Load a saved schedule's position while keeping the shape this recipe gives it.

    A `LambdaLR`'s shape lives in its closure, so only the position is saved anyway. A
    `OneCycleLR` saves its length and phases too; those come back from the schedule just built,
    so a run resumed with more epochs stretches the cycle (as `cosine` stretches) instead of
    stopping at the old length.
    """
    shape = {k: scheduler.__dict__[k] for k in ("total_steps", "_schedule_phases")
             if k in scheduler.__dict__}
    load_scheduler_state(scheduler, sd)
    scheduler.__dict__.update(shape)


def current_lr(optimizer: torch.optim.Optimizer, scheduler: Any) -> float:
    """The learning rate of the next step, as the schedule computes it.

    With `train.cuda_graphs` the optimizer holds it as a float32 tensor; the schedule's own
    float keeps metrics.csv the same whichever way the step ran.
    """
    lr = optimizer.param_groups[0]["lr"]
    if not torch.is_tensor(lr):
        return float(lr)
    with warnings.catch_warnings():  # torch warns that get_lr is meant for inside step()
        warnings.simplefilter("ignore")
        return float(scheduler.get_lr()[0])  # pure for LambdaLR and (uncycled) OneCycleLR
