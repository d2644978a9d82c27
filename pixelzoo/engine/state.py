"""The training state: what a checkpoint's `.state.pt` holds beside the weights, and how a run
takes it back.

`training_state` gathers the loop's position (epoch, step, global step), the best metric, the
optimizer and schedule (in their portable form), every rank's RNG states and partial epoch
sums, the data order's position, each callback's state and, when a callback exports other
weights than the model's (the EMA), the model's own training weights under `model`.
`weights_metadata` is what the weights file's header says about the same moment.
`restore_state` puts all of that back into a set-up trainer, and says in notes what could not be
continued exactly (another optimizer, batch, metric or number of processes). The file format and
its checks are `checkpoint.py`; which checkpoint to continue is `run_dir.py`.
"""

from __future__ import annotations

from typing import Any

import torch

from pixelzoo.engine.checkpoint import Checkpoint, apply_weights, paths, set_rng_state
from pixelzoo.engine.cuda_graphs import (load_optimizer_state, portable_optimizer_state,
                                         portable_scheduler_state)
from pixelzoo.engine.optim import load_schedule
from pixelzoo.engine.run_log import EpochTotals
from pixelzoo.engine.seeding import seed_everything
from pixelzoo.errors import CheckpointError


def training_state(t: Any, ranks: list[dict[str, Any]],
                   raw: dict[str, torch.Tensor] | None = None) -> dict[str, Any]:
    """The state of trainer `t` to save; `ranks` holds every rank's `rng` and `partial`, `raw`
    the training weights when the weights file holds exported ones."""
    state = {
        "epoch": t.epoch, "step_in_epoch": t.step_in_epoch,
        "global_step": t.global_step, "best": t.best,
        "pending_eval": t._pending_eval,
        "metric": t.metric_name, "metric_mode": t.metric_mode,
        "trained_seconds": t.trained_seconds, "images_seen": t.images_seen,
        # one form whether the step was captured or not, so either kind of run resumes it
        "optimizer": portable_optimizer_state(t.optimizer),
        "optimizer_type": type(t.optimizer).__name__,
        "scheduler": portable_scheduler_state(t.scheduler),
        "scaler": None,  # fp32 and bf16 need no GradScaler
        "rng": [r["rng"] for r in ranks],
        "partial": [r["partial"] for r in ranks],
        "callbacks": t.callbacks.state_dict(),
        "data": {"seed": t.seed, "epoch": t.epoch,
                 "position": t.step_in_epoch * t.global_batch,
                 "global_batch": t.global_batch, "world_size": t.dist.world_size,
                 "num_train": len(t.data.train), "steps_per_epoch": t.steps_per_epoch,
                 "sampler": "DistributedSampler(shuffle=True, drop_last=True)"},
    }
    if raw is not None:
        state["model"] = {k: v.detach().to("cpu").clone() for k, v in raw.items()}
    return state


def restore_state(t: Any, ckpt: Checkpoint) -> list[str]:
    """Load checkpoint `ckpt` (read by rank 0) into this rank's model, optimizer, callbacks and
    counters of trainer `t`; returns notes on what does not continue exactly."""
    state = ckpt.state
    _, s_path = paths(ckpt.stem)
    # the training weights: kept in the state when the weights file holds exported ones
    apply_weights(ckpt.stem, t.model, state.get("model") or ckpt.weights)
    notes = t.callbacks.load_state_dict(state.get("callbacks"))
    if state.get("optimizer_type", type(t.optimizer).__name__) != type(t.optimizer).__name__:
        notes.append(f"the optimizer changed ({state['optimizer_type']} -> "
                     f"{type(t.optimizer).__name__}): starting its state fresh")
    else:
        try:
            load_optimizer_state(t.optimizer, state["optimizer"])
            load_schedule(t.scheduler, state["scheduler"])
        except (ValueError, KeyError, RuntimeError, TypeError) as exc:
            raise CheckpointError(f"{s_path}: its optimizer state does not fit this recipe's "
                                  f"model and optimizer ({exc})") from None
    world, rank = t.dist.world_size, t.dist.rank
    epoch, step = int(state["epoch"]), int(state["step_in_epoch"])
    data = state.get("data") or {}
    same_layout = (data.get("global_batch", t.global_batch) == t.global_batch
                   and data.get("num_train", len(t.data.train)) == len(t.data.train))
    if step and not same_layout:
        position = int(data.get("position", step * t.global_batch))
        step = min(position // t.global_batch, t.steps_per_epoch)
        notes.append(f"the global batch or training set changed: continuing epoch {epoch + 1} "
                     f"at image {position} (step {step}); not an exact continuation")
    step = min(step, t.steps_per_epoch)
    t.epoch, t.step_in_epoch = epoch, step
    t.global_step = int(state["global_step"])
    if state.get("metric", t.metric_name) == t.metric_name:
        t.best = state["best"]
    else:
        notes.append(f"the tracked metric changed ({state.get('metric')} -> {t.metric_name}): "
                     "the best value starts afresh")
    t.trained_seconds = float(state.get("trained_seconds", 0.0))
    t.images_seen = int(state.get("images_seen", 0))
    t._pending_eval = state.get("pending_eval")
    rngs = state["rng"] if isinstance(state["rng"], list) else [state["rng"]]
    partials = state.get("partial") or []
    if len(rngs) == world:
        set_rng_state(rngs[rank], t.device)
        if step and len(partials) == world:
            t._totals = EpochTotals(**partials[rank])
    else:
        # a different world size: the per-rank streams cannot be mapped; start new ones
        seed_everything(t.seed + t.global_step, rank)
        notes.append(f"the number of processes changed ({len(rngs)} -> {world}): random "
                     "generators reseeded")
        if step and partials and rank == 0:
            t._totals = EpochTotals(
                sum(p["loss_sum"] for p in partials), sum(p["loss_count"] for p in partials),
                sum(p["images"] for p in partials), max(p["seconds"] for p in partials))
    return notes


def weights_metadata(t: Any, metric_value: float | None) -> dict[str, str]:
    """The weights file's metadata: where training is and the tracked metric's value there
    (read by the history's pruning and by `find_good`'s ordering without loading tensors)."""
    return {"pixelzoo.epoch": str(t.epoch),
            "pixelzoo.step_in_epoch": str(t.step_in_epoch),
            "pixelzoo.global_step": str(t.global_step),
            "pixelzoo.metric": t.metric_name, "pixelzoo.metric_mode": t.metric_mode,
            "pixelzoo.metric_value": "" if metric_value is None else repr(float(metric_value))}
