"""The task interface: what the model predicts, its loss, and how it is evaluated.

A task is built from its `Config` plus what the core owns: the loaded `DataSplits`, the training
mask generator (if any) and the recipe's `eval` section. The engine asks it for the model's sizes
(`model_kwargs`), calls `training_loss` on each batch, `evaluate` on a split, and `report` once at
the end (tables and pictures); the recipe's extra evaluation datasets (`eval.datasets`,
out-of-distribution sets) get `evaluate` and `report_dataset` at the end too. Randomness inside a
task (holes, sampling) comes from generators the engine derives from (seed, epoch, step, rank), so
a resumed run repeats it exactly. `evaluate` and `report` call `check_interrupt` between batches,
so a stop signal ends a long evaluation promptly instead of after it.

A task may also split its loss for `train.cuda_graphs`: `capture_inputs` does the host side of a
step (everything random or data-dependent, drawn with the step's generator) and returns
fixed-shape device tensors; `capture_loss(model, *those)` is then pure device work on fixed
shapes, which a CUDA graph can record once and replay. A task without the split trains eagerly.

A task declares on its class what it measures: `metrics`, a tuple of `Metric` records (a name,
which way is better, which one picks the `best` checkpoint, which ones `compare` charts). A name
may be a pattern (`*/psnr`: `*` stands for any part of a key, such as an infill mask set or
decoding); `metric_names(config)` then lists the concrete keys `evaluate` returns for a given
`Config`, so a recipe's `eval.metric` is checked before anything runs. The engine, `compare` and
the CLI only ever ask the task class: none of them names a task. Settings only one task has (the
infill task's evaluation masks, decodings and baselines) live in that task's own `Config`; the
core `eval` section (passed as `eval_config`) holds what every task shares: split, limit, seed,
batch size and the metric.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import torch

from pixelzoo.config import PartConfig
from pixelzoo.data.base import DataSplits, Geometry, ImageSet
from pixelzoo.errors import PixelzooError

Mode = Literal["max", "min"]


@dataclass(frozen=True)
class Metric:
    """One metric a task reports: its key (or a key pattern) and which way is better.

    `name` is a key of `evaluate`'s result, or a pattern in which `*` stands for any part of a
    key (`*/psnr` covers `demo_hole/psnr` and `strokes/mean/psnr`). `primary` marks the metric
    that picks the `best` checkpoint when the recipe's `eval.metric` is null (the first concrete
    key it matches); `headline` the ones `pixelzoo compare` draws in its bar chart (every metric
    is in its table).
    """

    name: str
    higher_is_better: bool
    primary: bool = False
    headline: bool = False
    description: str = ""

    @property
    def mode(self) -> Mode:
        return "max" if self.higher_is_better else "min"

    @property
    def is_pattern(self) -> bool:
        return "*" in self.name

    def matches(self, key: str) -> bool:
        return fnmatch.fnmatchcase(key, self.name) if self.is_pattern else key == self.name


class TaskConfig(PartConfig):
    """Options every task accepts (none yet)."""


class Task:
    """Base class for task plugins."""

    Config: ClassVar[type[PartConfig]] = TaskConfig
    #: What `evaluate` reports (see `Metric`); every task declares at least one.
    metrics: ClassVar[tuple[Metric, ...]] = ()
    #: Dotted keys of the task's own recipe section that decide which images (and holes) it is
    #: scored on; `compare` refuses runs that differ in them (the core `eval` keys are checked
    #: for every task).
    eval_set_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: PartConfig, *, data: DataSplits, mask: Any = None,
                 eval_config: Any = None):
        self.config = config
        self.data = data
        self.mask = mask
        if eval_config is None:
            from pixelzoo.schema import EvalConfig

            eval_config = EvalConfig()
        self.eval_config = eval_config

    @classmethod
    def sizes(cls, geometry: Geometry, config: PartConfig) -> dict[str, Any]:
        """The sizes a model for this task needs, from the data's geometry alone.

        What `model_kwargs` returns, available before any data is loaded (`pixelzoo show`
        counts parameters this way). The default is a per-pixel model: no class count.
        """
        return {"channels": geometry.channels, "height": geometry.height,
                "width": geometry.width, "num_classes": None}

    def model_kwargs(self) -> dict[str, Any]:
        """Sizes the model needs: channels, height, width, num_classes."""
        d = self.data
        return type(self).sizes(Geometry(d.channels, d.height, d.width, d.num_classes),
                                self.config)

    # ------------------------------------------------------------------ declared metrics
    @classmethod
    def metric_names(cls, config: PartConfig) -> list[str]:
        """The keys `evaluate` returns for a task built from `config`.

        The default lists the declared names; a task whose keys depend on its settings (one per
        evaluation set, say) overrides it. A declared pattern left in the list stands for the
        keys it matches when they cannot be known before the data is seen.
        """
        return [m.name for m in cls.metrics]

    @classmethod
    def metric(cls, name: str) -> Metric | None:
        """The declaration that covers the key `name` (exact names before patterns)."""
        for m in cls.metrics:
            if not m.is_pattern and m.name == name:
                return m
        for m in cls.metrics:
            if m.matches(name):
                return m
        return None

    @classmethod
    def metric_mode(cls, name: str) -> Mode:
        """'max' if higher is better for the key `name`, else 'min', as the task declares."""
        m = cls.metric(name)
        if m is None:
            known = ", ".join(x.name for x in cls.metrics) or "(none declared)"
            raise PixelzooError(f"task {cls.__name__} declares no metric '{name}'; its metrics: "
                                f"{known}")
        return m.mode

    @classmethod
    def primary_metric_for(cls, config: PartConfig) -> str:
        """The key that picks the `best` checkpoint by default, for a task built from `config`."""
        if not cls.metrics:
            raise PixelzooError(f"task {cls.__name__} declares no metrics (set the class "
                                "attribute `metrics` to a tuple of pixelzoo.tasks.base.Metric)")
        primary = next((m for m in cls.metrics if m.primary), cls.metrics[0])
        return next((k for k in cls.metric_names(config) if primary.matches(k)), primary.name)

    @classmethod
    def metric_problem(cls, name: str, config: PartConfig, label: str = "this task"
                       ) -> str | None:
        """Why `name` cannot be this task's `eval.metric` with `config` (None when it can)."""
        import difflib

        names = cls.metric_names(config)
        concrete = [k for k in names if "*" not in k]
        patterns = [Metric(k, True) for k in names if "*" in k]
        if name in concrete or any(p.matches(name) for p in patterns):
            return None
        close = difflib.get_close_matches(name, concrete, n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return f"unknown metric '{name}'{hint} (metrics of {label}: {', '.join(names)})"

    @property
    def primary_metric(self) -> str:
        """`primary_metric_for` this task's own config."""
        return type(self).primary_metric_for(self.config)

    @classmethod
    def compare_extras(cls, records: Sequence[Any], console: Any = None) -> Any:
        """What `pixelzoo compare` adds for this task beside the runs' own rows, or None.

        An object with `rows(metric_names) -> list[dict]` (extra table rows, such as the
        infill baselines) and `pictures(out_dir, records, per_set) -> dict[str, Path]` (extra
        files, one run per record; `per_set` is compare's `--grid-images`). `records` are the
        finished runs (`RunRecord`s), one per table row.
        """
        return None

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

    def report_dataset(self, model: torch.nn.Module, split: ImageSet, device: torch.device,
                       run_dir: Path | None, label: str) -> dict[str, Any]:
        """The final report on an extra evaluation dataset (the recipe's `eval.datasets`).

        Like `report`, on that dataset's final split (`split`, the same first `eval.limit`
        images) instead of the recipe's own; `label` names the dataset in tables, and its
        pictures go under `<run_dir>/samples/<label>/`. Returns what summary.json keeps under
        `datasets.<label>` beside the metrics `evaluate` gave (`table_printed: True` when it
        printed the metrics itself). The default adds nothing: the engine prints the metrics.
        """
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


def task_class(name: str) -> type[Task]:
    """The registered class of task `name`, or the base `Task` (no metrics declared) where the
    task's plugin is not installed: `compare` still reads such runs, without best-value marks."""
    from pixelzoo.registry import registry_for

    try:
        return registry_for("tasks").get(name)  # type: ignore[no-any-return]
    except PixelzooError:
        return Task
