"""`ema`: an exponential moving average of the weights, the first callback.

After every optimizer step the average moves toward the model's weights,
`avg = decay * avg + (1 - decay) * weights`, over every floating-point entry of the state dict
(parameters and float buffers); integer buffers are copied. With `warmup` the decay starts low
and grows, `min(decay, (1 + n) / (10 + n))` after n updates, so a short run's average is not
pinned to the random initial weights. Under `train.cuda_graphs` the update runs after each
replay, outside the captured step, as plain device work.

What is saved where:

- evaluation at each epoch's end swaps the averaged weights into the model and the training
  weights back afterwards (also when a stop signal interrupts it), so `metrics.csv`, `best` and
  the history are chosen by the averaged model;
- the weights files, `checkpoints/{last,best,epoch-NNNN}.safetensors`, hold the averaged
  weights: `pixelzoo infill`, `compare` and the final table all use them;
- each training state (`*.state.pt`) keeps the model's own training weights under `model` and
  this callback's state under `callbacks` (`shadow`: the average, `updates`: how many steps it
  has seen), so a resumed run continues both bit for bit.
"""

from __future__ import annotations

from typing import Any

import torch
from pydantic import Field

from pixelzoo.config import PartConfig
from pixelzoo.engine.callbacks import Callback, Weights
from pixelzoo.errors import CheckpointError


class EMA(Callback):
    """Exponential moving average of the weights; evaluation and the exported weights use it."""

    class Config(PartConfig):
        decay: float = Field(0.999, ge=0, lt=1,
                             description="weight of the old average at each step")
        warmup: bool = Field(True, description="ramp the decay up as min(decay, (1+n)/(10+n)) "
                                               "over the first updates")

    def __init__(self, config: Config | None = None):
        super().__init__(config)
        self.updates = 0
        self.shadow: Weights | None = None
        self._saved: Weights | None = None  # a restored average, placed at fit start
        self._live: Weights = {}  # the model's state dict: tensors aliasing its weights
        self._held: list[torch.Tensor] | None = None  # training weights during an evaluation

    def decay_now(self) -> float:
        """The decay of the next update."""
        d = self.config.decay
        if self.config.warmup:
            d = min(d, (1 + self.updates) / (10 + self.updates))
        return d

    def on_fit_start(self, trainer: Any) -> None:
        # state_dict() tensors share storage with the parameters and buffers, which are only
        # ever changed in place (optimizer, captured graph, weight loads): read them each step
        self._live = trainer.model.state_dict()
        if self._saved is not None:
            if set(self._saved) != set(self._live):
                raise CheckpointError("callback ema: the saved average does not fit this model "
                                      f"({len(self._saved)} tensors saved, "
                                      f"{len(self._live)} in the model)")
            self.shadow = {k: self._saved[k].to(v.device, v.dtype) for k, v in self._live.items()}
            self._saved = None
        elif self.shadow is None:
            self.shadow = {k: v.detach().clone() for k, v in self._live.items()}

    @torch.no_grad()
    def on_step_end(self, trainer: Any, loss: float) -> None:
        assert self.shadow is not None, "on_fit_start comes first"
        weight = 1.0 - self.decay_now()
        self.updates += 1
        avg = [self.shadow[k] for k, v in self._live.items() if v.is_floating_point()]
        new = [v for v in self._live.values() if v.is_floating_point()]
        if avg:
            torch._foreach_lerp_(avg, new, weight)
        for k, v in self._live.items():
            if not v.is_floating_point():
                self.shadow[k].copy_(v)

    @torch.no_grad()
    def on_eval_start(self, trainer: Any) -> None:
        assert self.shadow is not None
        self._held = [v.clone() for v in self._live.values()]
        for k, v in self._live.items():
            v.copy_(self.shadow[k])

    @torch.no_grad()
    def on_eval_end(self, trainer: Any, metrics: dict[str, float] | None) -> None:
        if self._held is None:
            return
        for v, held in zip(self._live.values(), self._held):
            v.copy_(held)
        self._held = None

    def export_weights(self, trainer: Any, weights: Weights) -> Weights:
        assert self.shadow is not None
        return dict(self.shadow)

    def state_dict(self) -> dict[str, Any]:
        assert self.shadow is not None
        return {"updates": self.updates,
                "shadow": {k: v.detach().to("cpu").clone() for k, v in self.shadow.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.updates = int(state["updates"])
        self._saved = dict(state["shadow"])
