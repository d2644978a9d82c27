"""A training step captured once as a CUDA graph and replayed: launch overhead paid once.

The wavefront scan issues a few thousand small kernels per training step (a handful per
anti-diagonal, forward and backward). At small batches their launch cost, not the arithmetic,
sets the step time. A CUDA graph records the whole step (forward, backward, gradient clipping and
the optimizer update) on static buffers; each later step copies its batch into those buffers and
replays the graph with one launch. The trainer uses it for `train.cuda_graphs: true`, with the
task's `capture_inputs` / `capture_loss` split; `benchmarks/gpu.py` uses it directly.

Requirements, as for any CUDA graph: fixed shapes (a smaller batch needs the eager step), no host
synchronisation inside the step (so the loss function must be pure device work: masks and
targets are prepared before and passed in), and an optimizer built with `capturable=True` (Adam
and AdamW support it) whose learning rate is a device tensor (`use_tensor_lr`): a Python float
is read once, at capture, and every replay would reuse it. The warm-up steps that capture needs
run on the first batch; parameters, buffers, optimizer state and the CUDA generator are restored
afterwards (also when capture fails), so capturing changes nothing. The state-dict helpers at the
end keep checkpoints in one portable form whichever way the optimizer was built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

#: optimizer types (`train.optimizer.type`) whose step can be captured
CAPTURABLE_OPTIMIZERS = ("adam", "adamw")


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
        try:
            self._capture(warmup)
        finally:
            self._restore(saved)

    def _capture(self, warmup: int) -> None:
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        try:
            with torch.cuda.stream(stream):  # warm-up: allocators, cuBLAS handles, lazy state
                for _ in range(warmup):
                    self._step()
        finally:  # the restore that follows runs on the current stream: order it after these
            torch.cuda.current_stream().wait_stream(stream)
        self.graph = torch.cuda.CUDAGraph()
        self.optimizer.zero_grad(set_to_none=True)
        with torch.cuda.graph(self.graph):
            self.static_loss = self._step()
        torch.cuda.synchronize()

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
        # buffers too: batch-norm statistics would otherwise count the warm-up batches
        tensors = [t.detach().clone() for t in (*self.model.parameters(), *self.model.buffers())]
        state = [{k: v.detach().clone() if torch.is_tensor(v) else v for k, v in s.items()}
                 for s in self.optimizer.state.values()]
        # random ops in the step (dropout) must draw what the eager step would
        return {"tensors": tensors, "state": state, "keys": list(self.optimizer.state.keys()),
                "cuda_rng": torch.cuda.get_rng_state()}

    @torch.no_grad()
    def _restore(self, saved: dict[str, Any]) -> None:
        # in place: the graph holds these very tensors
        for t, v in zip((*self.model.parameters(), *self.model.buffers()), saved["tensors"]):
            t.copy_(v)
        for key, old in zip(saved["keys"], saved["state"]):
            for k, v in self.optimizer.state[key].items():
                if torch.is_tensor(v) and k in old:
                    v.copy_(old[k])
        known = {id(key) for key in saved["keys"]}  # by identity: `in` would compare tensors
        for key in list(self.optimizer.state.keys()):
            if id(key) not in known:  # state created by the warm-up: back to zero
                for v in self.optimizer.state[key].values():
                    if torch.is_tensor(v):
                        v.zero_()
        # a replay reads the generator's seed and offset when it starts, so this is safe
        torch.cuda.set_rng_state(saved["cuda_rng"])

    def __call__(self, *inputs: torch.Tensor) -> torch.Tensor:
        """One training step on `inputs` (same shapes as the example); returns the loss tensor."""
        if len(inputs) != len(self.static_inputs):
            raise ValueError(f"expected {len(self.static_inputs)} inputs, got {len(inputs)}")
        for static, new in zip(self.static_inputs, inputs):
            if static.shape != new.shape:  # copy_ would broadcast a wrong shape silently
                raise ValueError(f"a captured step replays shape {tuple(static.shape)}, "
                                 f"got {tuple(new.shape)}")
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


# ---------------------------------------------------------------------- optimizer forms
def use_tensor_lr(optimizer: torch.optim.Optimizer) -> None:
    """Make each group's learning rate a 0-dim float32 tensor on its parameters' device.

    A captured step reads the lr from that memory at every replay, and torch's LR schedulers
    write into a tensor lr in place (`fill_`), so the schedule keeps driving a replayed step.
    Call it after the scheduler is built: its base rates then stay Python floats, and setting
    the lr each step is a kernel launch, not a device-to-host read.
    """
    for group in optimizer.param_groups:
        if not torch.is_tensor(group["lr"]):
            device = group["params"][0].device if group["params"] else torch.device("cpu")
            group["lr"] = torch.tensor(float(group["lr"]), dtype=torch.float32, device=device)


def _floats(value: Any) -> Any:
    """Tensor learning rates (and lists of them) as Python floats."""
    if torch.is_tensor(value):
        return float(value)
    if isinstance(value, list):
        return [_floats(v) for v in value]
    return value


def portable_optimizer_state(optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """`optimizer.state_dict()` in the form of a plain (non-capturable, float-lr) optimizer.

    Checkpoints hold this form whatever `train.cuda_graphs` was, so either kind of run resumes
    the other; `load_optimizer_state` converts back.
    """
    sd = optimizer.state_dict()
    groups = []
    for g in sd["param_groups"]:
        g = {k: _floats(v) if k in ("lr", "initial_lr") else v for k, v in g.items()}
        if g.get("capturable"):
            g["capturable"] = False
        groups.append(g)
    state = {}
    for key, s in sd["state"].items():
        s = dict(s)
        if torch.is_tensor(s.get("step")):  # a plain Adam keeps its step count on the host
            s["step"] = s["step"].detach().to("cpu", torch.float32)
        state[key] = s
    return {"state": state, "param_groups": groups}


def load_optimizer_state(optimizer: torch.optim.Optimizer, sd: dict[str, Any]) -> None:
    """Load a state dict of either form, keeping this optimizer's own form.

    torch's `load_state_dict` takes the saved groups' hyperparameters whole, `capturable` and
    the lr's type included, and places Adam's step counts by the saved `capturable`. So the
    saved groups get this optimizer's `capturable` first, and a tensor lr stays the very tensor
    a captured graph may already read.
    """
    live = optimizer.param_groups
    groups = []
    for i, g in enumerate(sd["param_groups"]):
        g = {k: _floats(v) if k in ("lr", "initial_lr") else v for k, v in g.items()}
        if i < len(live) and "capturable" in live[i]:
            g["capturable"] = live[i]["capturable"]
        groups.append(g)
    tensor_lrs = [g["lr"] if torch.is_tensor(g["lr"]) else None for g in live]
    optimizer.load_state_dict({"state": sd["state"], "param_groups": groups})
    for group, lr in zip(optimizer.param_groups, tensor_lrs):
        if lr is not None:
            lr.fill_(float(group["lr"]))
            group["lr"] = lr
        if not group.get("capturable") and not group.get("fused"):
            for p in group["params"]:
                step = optimizer.state.get(p, {}).get("step")
                if torch.is_tensor(step) and step.device.type != "cpu":
                    optimizer.state[p]["step"] = step.to("cpu", torch.float32)


def portable_scheduler_state(scheduler: Any) -> dict[str, Any]:
    """`scheduler.state_dict()` with tensor learning rates as floats (see `use_tensor_lr`)."""
    return {k: _floats(v) for k, v in scheduler.state_dict().items()}


def load_scheduler_state(scheduler: Any, sd: dict[str, Any]) -> None:
    """Load a scheduler state dict of either form; its rates stay Python floats."""
    scheduler.load_state_dict({k: _floats(v) for k, v in sd.items()})
