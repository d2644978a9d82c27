"""Callbacks: loop behaviours (EMA of the weights, early stopping, logging) as registered parts.

A callback is a class with a nested pydantic `Config`, registered in the entry-point group
`pixelzoo.callbacks` and chosen in the recipe:

    train:
      callbacks: [{type: ema, decay: 0.999}]   # or a bare name: [ema]

The trainer calls the hooks below in the order the recipe lists the callbacks, on every rank
(under torchrun each rank holds the same weights, so a callback that only reads them agrees by
itself). Every hook is optional; the base class does nothing.

- `on_fit_start(trainer)`: after the run is set up and a checkpoint (if any) restored, before
  the first step.
- `on_step_end(trainer, loss)`: after each optimizer step (after the replay under
  `train.cuda_graphs`, never inside the captured graph), with `trainer.global_step` counting it.
- `on_eval_start(trainer)` / `on_eval_end(trainer, metrics)`: around each end-of-epoch
  evaluation, while the model holds the training weights; `on_eval_end` also runs when a stop
  signal interrupts the evaluation (then `metrics` is None), before `last` is written. The final
  evaluation runs on the exported weights (`best`, else the last ones through
  `export_weights`), so it has no such hooks; `on_fit_end` sees its result.
- `on_epoch_end(trainer, row)`: after an epoch's row is complete (training numbers and
  evaluation), before it is logged and checkpointed; a callback may add numbers to `row`.
- `export_weights(trainer, weights) -> weights`: the state dict that goes into the weights files
  (`last`, `best`, the history) and into the final evaluation. When a callback changes it, the
  training state also keeps the model's own weights, so a resume continues exactly.
- `state_dict()` / `load_state_dict(state)`: tensors and plain values saved in every
  checkpoint's training state and given back on resume, so a callback resumes exactly.
- `on_fit_end(trainer, result)`: after the final evaluation and summary.

What a callback may use of the trainer: `model` (the module, never the DDP wrapper),
`optimizer`, `scheduler`, `device`, `dist` (rank, world size), `cfg` (the `train` section),
`epoch`, `step_in_epoch`, `global_step`, `steps_per_epoch`, `run_dir`, `note(text)` (one line on
rank 0) and `request_stop(reason)`, which ends training at the end of this step (the ranks agree
on it) with `reason` in `summary.json`. A resumed run trains on: a callback that must stay
stopped says so again from its restored state. Not for changing how a step is computed: that is
`step.py`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch

from pixelzoo.config import PartConfig
from pixelzoo.recipe import build_part

Weights = dict[str, torch.Tensor]


class Callback:
    """Base class of callbacks: every hook does nothing; see the module docs for when each runs."""

    class Config(PartConfig):
        """No parameters."""

    def __init__(self, config: PartConfig | None = None):
        self.config = config if config is not None else type(self).Config()

    def on_fit_start(self, trainer: Any) -> None: ...

    def on_step_end(self, trainer: Any, loss: float) -> None: ...

    def on_eval_start(self, trainer: Any) -> None: ...

    def on_eval_end(self, trainer: Any, metrics: dict[str, float] | None) -> None: ...

    def on_epoch_end(self, trainer: Any, row: dict[str, Any]) -> None: ...

    def export_weights(self, trainer: Any, weights: Weights) -> Weights:
        return weights

    def on_fit_end(self, trainer: Any, result: Any) -> None: ...

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class Callbacks:
    """The recipe's callbacks in order, with their registered names; calls each hook on all."""

    def __init__(self, items: list[tuple[str, Callback]] | None = None):
        self.items = list(items or [])

    @classmethod
    def from_specs(cls, specs: list[dict[str, Any]]) -> Callbacks:
        """Build `train.callbacks` (resolved `{type: NAME, **params}` specs)."""
        return cls([(spec["type"], build_part("callbacks", spec)) for spec in specs])

    def __iter__(self) -> Iterator[Callback]:
        return (cb for _, cb in self.items)

    def __len__(self) -> int:
        return len(self.items)

    def on_fit_start(self, trainer: Any) -> None:
        for cb in self:
            cb.on_fit_start(trainer)

    def on_step_end(self, trainer: Any, loss: float) -> None:
        for cb in self:
            cb.on_step_end(trainer, loss)

    def on_eval_start(self, trainer: Any) -> None:
        for cb in self:
            cb.on_eval_start(trainer)

    def on_eval_end(self, trainer: Any, metrics: dict[str, float] | None) -> None:
        # the reverse order, so nested swaps (two callbacks that swap weights) undo cleanly
        for cb in reversed(list(self)):
            cb.on_eval_end(trainer, metrics)

    def on_epoch_end(self, trainer: Any, row: dict[str, Any]) -> None:
        for cb in self:
            cb.on_epoch_end(trainer, row)

    def export_weights(self, trainer: Any, weights: Weights) -> Weights:
        for cb in self:
            weights = cb.export_weights(trainer, weights)
        return weights

    def on_fit_end(self, trainer: Any, result: Any) -> None:
        for cb in self:
            cb.on_fit_end(trainer, result)

    def state_dict(self) -> list[dict[str, Any]]:
        """One `{type, state}` per callback, in recipe order, for the training state."""
        return [{"type": name, "state": cb.state_dict()} for name, cb in self.items]

    def load_state_dict(self, saved: list[dict[str, Any]] | None) -> list[str]:
        """Give each callback its saved state (matched by position and type); returns notes on
        the ones that start fresh or whose saved state has no callback any more."""
        saved = list(saved or [])
        notes = []
        for i, (name, cb) in enumerate(self.items):
            if i < len(saved) and saved[i].get("type") == name:
                cb.load_state_dict(saved[i].get("state") or {})
            else:
                notes.append(f"callback {name} has no saved state in this checkpoint: it starts "
                             "fresh")
        dropped = [s.get("type") for i, s in enumerate(saved)
                   if i >= len(self.items) or self.items[i][0] != s.get("type")]
        if dropped:
            notes.append(f"the checkpoint holds state of callbacks the recipe no longer runs "
                         f"({', '.join(map(str, dropped))}): not used")
        return notes
