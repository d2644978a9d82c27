"""A training step captured once as a CUDA graph and replayed: launch overhead paid once.

The wavefront scan issues a few thousand small kernels per training step (a handful per
anti-diagonal, forward and backward). At small batches their launch cost, not the arithmetic,
sets the step time. A CUDA graph records the whole step (forward, backward, gradient clipping and
the optimizer update) on static buffers; each later step copies its batch into those buffers and
replays the graph with one launch.

Requirements, as for any CUDA graph: fixed shapes (the last, smaller batch of an epoch needs the
eager step), no host synchronisation inside the step (so the loss function must be pure device
work: masks and targets are prepared before and passed in), and an optimizer built with
`capturable=True` (Adam and AdamW support it). The warm-up steps that capture needs run on the
first batch; the model's and optimizer's state is restored afterwards, so capturing changes
nothing. Used by `benchmarks/gpu.py`; the trainer's `train.cuda_graphs` option can wrap its
step with it once the task provides such a device-only loss.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch


class GraphedTrainStep:
    """`step(*inputs) -> loss` for fixed-shape CUDA inputs, replayed from one captured graph.

    loss_fn(model, *inputs) must return a scalar loss tensor and do device work only.
    """

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                 loss_fn: Callable[..., torch.Tensor], example_inputs: tuple[torch.Tensor, ...],
                 *, clip_grad: float | None = None, autocast_dtype: torch.dtype | None = None,
                 warmup: int = 3):
        if not torch.cuda.is_available():
            raise RuntimeError("CUDA graphs need a CUDA device")
        for group in optimizer.param_groups:
            if "capturable" in group and not group["capturable"]:
                raise ValueError("build the optimizer with capturable=True to capture its step")
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        self.clip_grad, self.autocast_dtype = clip_grad, autocast_dtype
        self.static_inputs = tuple(t.detach().clone() for t in example_inputs)
        saved = self._snapshot()
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):  # warm-up: allocators, cuBLAS handles, lazy state
            for _ in range(warmup):
                self._step()
        torch.cuda.current_stream().wait_stream(stream)
        self.graph = torch.cuda.CUDAGraph()
        self.optimizer.zero_grad(set_to_none=True)
        with torch.cuda.graph(self.graph):
            self.static_loss = self._step()
        torch.cuda.synchronize()
        self._restore(saved)

    def _step(self) -> torch.Tensor:
        self.optimizer.zero_grad(set_to_none=False)
        with torch.autocast("cuda", dtype=self.autocast_dtype or torch.float32,
                            enabled=self.autocast_dtype is not None, cache_enabled=False):
            loss = self.loss_fn(self.model, *self.static_inputs)
        loss.backward()
        if self.clip_grad:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip_grad)
        self.optimizer.step()
        return loss.detach()

    def _snapshot(self) -> dict[str, Any]:
        params = [p.detach().clone() for p in self.model.parameters()]
        state = [{k: v.detach().clone() if torch.is_tensor(v) else v for k, v in s.items()}
                 for s in self.optimizer.state.values()]
        return {"params": params, "state": state, "keys": list(self.optimizer.state.keys())}

    @torch.no_grad()
    def _restore(self, saved: dict[str, Any]) -> None:
        # in place: the graph holds these very tensors
        for p, v in zip(self.model.parameters(), saved["params"]):
            p.copy_(v)
        for key, old in zip(saved["keys"], saved["state"]):
            for k, v in self.optimizer.state[key].items():
                if torch.is_tensor(v) and k in old:
                    v.copy_(old[k])
        for key in list(self.optimizer.state.keys()):
            if key not in saved["keys"]:  # state created by the warm-up: back to zero
                for v in self.optimizer.state[key].values():
                    if torch.is_tensor(v):
                        v.zero_()

    def __call__(self, *inputs: torch.Tensor) -> torch.Tensor:
        """One training step on `inputs` (same shapes as the example); returns the loss tensor."""
        for static, new in zip(self.static_inputs, inputs):
            static.copy_(new, non_blocking=True)
        self.graph.replay()
        return self.static_loss


class GraphedForward:
    """Inference `model(*inputs)` under no_grad, captured once and replayed (latency)."""

    def __init__(self, fn: Callable[..., torch.Tensor], example_inputs: tuple[torch.Tensor, ...],
                 *, autocast_dtype: torch.dtype | None = None, warmup: int = 2):
        if not torch.cuda.is_available():
            raise RuntimeError("CUDA graphs need a CUDA device")
        self.fn, self.autocast_dtype = fn, autocast_dtype
        self.static_inputs = tuple(t.detach().clone() for t in example_inputs)
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(warmup):
                self._run()
        torch.cuda.current_stream().wait_stream(stream)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.static_out = self._run()

    @torch.no_grad()
    def _run(self) -> torch.Tensor:
        with torch.autocast("cuda", dtype=self.autocast_dtype or torch.float32,
                            enabled=self.autocast_dtype is not None, cache_enabled=False):
            return self.fn(*self.static_inputs)

    def __call__(self, *inputs: torch.Tensor) -> torch.Tensor:
        for static, new in zip(self.static_inputs, inputs):
            static.copy_(new, non_blocking=True)
        self.graph.replay()
        return self.static_out
