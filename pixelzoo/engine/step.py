"""One optimizer step, eager or replayed from a CUDA graph, and what feeds it.

- `epoch_order` / `step_rng`: the data order of an epoch (torch's `DistributedSampler` keyed by
  seed and epoch) and the generator of a step, keyed by (seed, epoch, step, rank). Everything
  random in a step comes from these, which is what makes a resumed run exact.
- `graph_plan`: whether `train.cuda_graphs` can capture the step here, or why not.
- `TrainStep`: forward, backward, clipping, the optimizer and the schedule. With a graph plan,
  full-size batches replay the captured step (captured at the first one); anything else, and a
  capture that fails, runs eagerly.

Not for what happens around a step (callbacks, agreement between ranks, checkpoints): that is
the trainer's loop.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

from pixelzoo.engine.cuda_graphs import CAPTURABLE_OPTIMIZERS, GraphedTrainStep
from pixelzoo.engine.distributed import DistEnv
from pixelzoo.engine.seeding import is_nondeterminism_error
from pixelzoo.errors import PixelzooError


def epoch_order(n: int, dist: DistEnv, seed: int, epoch: int) -> np.ndarray:
    """This rank's sample order for `epoch`, as torch's DistributedSampler gives it.

    The sampler permutes all indices with (seed, epoch) and deals them out round-robin, so
    global step s always covers the same images, [s*B, (s+1)*B) of the permutation, whatever
    the number of ranks: B is the global batch.
    """
    from torch.utils.data import DistributedSampler

    sampler = DistributedSampler(range(n), num_replicas=dist.world_size, rank=dist.rank,
                                 shuffle=True, seed=seed, drop_last=True)
    sampler.set_epoch(epoch)
    return np.fromiter(iter(sampler), dtype=np.int64)


def step_rng(seed: int, epoch: int, step: int, rank: int) -> np.random.Generator:
    """The generator of one step on one rank (holes, sampling)."""
    return np.random.default_rng([seed, epoch, step, rank])


def graph_plan(cfg: Any, device: torch.device, dist: DistEnv, task: Any, task_name: str) -> str:
    """"" if `train.cuda_graphs` can capture the step here, else why not (one line).

    Under torchrun the step stays eager: DDP's gradient all-reduce would have to be captured
    too (NCCL without async error handling, DDP-specific warm-up), which no test here can
    check. The recipe still runs, so the same recipe works everywhere.
    """
    if device.type != "cuda":
        return f"ignored on {device.type} (CUDA only)"
    if dist.enabled:
        return "not used under torchrun (DDP's gradient all-reduce is not captured); eager steps"
    if cfg.optimizer.type not in CAPTURABLE_OPTIMIZERS:
        return (f"optimizer '{cfg.optimizer.type}' cannot be captured (use adam or adamw); "
                "eager steps")
    if not task.supports_capture():
        return f"task '{task_name}' has no capture_inputs/capture_loss split; eager steps"
    return ""


@contextlib.contextmanager
def explain_nondeterminism(deterministic: bool, device: torch.device) -> Iterator[None]:
    """Turn deterministic mode's error for an operation without such a kernel into a
    PixelzooError that says what to do."""
    try:
        yield
    except RuntimeError as exc:
        if deterministic and is_nondeterminism_error(exc):
            raise PixelzooError(f"deterministic: true, but an operation of this model has no "
                                f"deterministic implementation on {device.type}: "
                                f"{str(exc).splitlines()[0]} Set deterministic: false (or "
                                "use another device).") from None
        raise


class TrainStep:
    """`step(images, labels, rng) -> loss`: one optimizer step and one schedule step.

    `model` is the module whose parameters are clipped; `train_model` is what runs forward (the
    DDP wrapper under torchrun, else the model itself). `graphs`: replay full-size steps from a
    CUDA graph; `note` prints the one line that says a capture failed.
    """

    def __init__(self, *, task: Any, model: torch.nn.Module, train_model: torch.nn.Module,
                 optimizer: torch.optim.Optimizer, scheduler: Any, cfg: Any,
                 device: torch.device, deterministic: bool, graphs: bool, batch: int,
                 note: Callable[[str], None]):
        self.task, self.model, self.train_model = task, model, train_model
        self.optimizer, self.scheduler, self.cfg = optimizer, scheduler, cfg
        self.device, self.deterministic = device, deterministic
        self.graphs = graphs
        self.batch = batch  # the per-rank batch a graph is captured for
        self.graph: GraphedTrainStep | None = None  # captured at the first full-size step
        self.note = note

    def __call__(self, images: torch.Tensor, labels: torch.Tensor | None,
                 rng: np.random.Generator) -> float:
        self.train_model.train()
        if self.graphs and len(images) == self.batch:  # a smaller batch runs eager
            # a copy: if the capture fails, the eager step must draw what this one would have
            loss = self._graphed(images, labels, copy.deepcopy(rng))
            if loss is not None:
                self.scheduler.step()
                return loss
        autocast = torch.autocast(self.device.type, dtype=torch.bfloat16,
                                  enabled=self.cfg.precision == "bf16")
        with explain_nondeterminism(self.deterministic, self.device):
            with autocast:
                loss, _ = self.task.training_loss(self.train_model, images, labels, rng)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
        if self.cfg.clip_grad:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.clip_grad)
        self.optimizer.step()
        self.scheduler.step()
        return float(loss.detach())

    def _graphed(self, images: torch.Tensor, labels: torch.Tensor | None,
                 rng: np.random.Generator) -> float | None:
        """One step replayed from the CUDA graph (captured now if not yet); None: run eager.

        The task draws this step's holes and targets on the host with the step's generator,
        exactly as `training_loss` would; the graph then does the device work. A capture that
        fails (an operation of the model that cannot be recorded) leaves the model and the
        optimizer as they were, says so once, and the run continues with eager steps.
        """
        inputs = self.task.capture_inputs(images, labels, rng)
        if self.graph is None:
            try:
                with explain_nondeterminism(self.deterministic, self.device):
                    self.graph = GraphedTrainStep(
                        self.train_model, self.optimizer, self.task.capture_loss, inputs,
                        clip_grad=self.cfg.clip_grad,
                        autocast_dtype=torch.bfloat16 if self.cfg.precision == "bf16" else None)
            except RuntimeError as exc:
                self.graphs = False
                first = (str(exc).splitlines() or [type(exc).__name__])[0]
                self.note(f"train.cuda_graphs: capture failed ({first}); eager steps")
                return None
        return float(self.graph(*inputs))  # reading the loss waits for the replay
