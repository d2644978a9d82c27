"""What a run tells: console lines, `metrics.csv`, TensorBoard events and `summary.json`.

Everything here runs on rank 0 only; the other ranks' `RunLog` is silent. Console notes stay one
line even in a log file (rich would otherwise wrap them at 80 columns when the output is not a
terminal), so they can be found with grep, and they are printed as plain text: paths and
messages may hold [brackets]. TensorBoard is a dependency of pixelzoo; a folder where its events
cannot be written turns the events off with a notice, the run goes on. `EpochTotals` are the
sums behind an epoch's row; `run_summary` is summary.json's record of a run. Not for deciding
what to log when (the trainer) or for the metrics file's format (`metrics_log.py`).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pixelzoo.engine.atomic import atomic_write_text
from pixelzoo.engine.metrics_log import append_metrics


@dataclass
class EpochTotals:
    """This rank's sums for the epoch in progress (checkpointed, so a resumed epoch adds up)."""

    loss_sum: float = 0.0
    loss_count: int = 0
    images: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def say(console: Any, text: str, style: str = "", soft_wrap: bool = False) -> None:
    """Print `text` as plain text (no rich markup from it), in `style`."""
    from rich.markup import escape

    console.print(f"[{style}]{escape(text)}[/{style}]" if style else escape(text),
                  soft_wrap=soft_wrap)


def run_summary(t: Any, final: dict[str, float], stopped_early: str,
                rows: list[dict[str, Any]]) -> dict[str, Any]:
    """summary.json's record of trainer `t`'s run (the task's report is added beside it)."""
    import torch

    images = t.images_seen + t._totals.images
    return {
        "recipe": t.recipe.name,
        "task": t.recipe.data["task"]["type"],
        "architecture": t.model.describe() if hasattr(t.model, "describe")
        else {"model": t.recipe.data["model"]["type"]},
        "parameters": t.n_params,
        "device": str(t.device),
        # which scan the run took and, off the fast path, why (None: the model has no scan)
        "scan": {"name": t.scan.name, "reason": t.scan.reason, "form": t.scan.form}
        if t._scanned else None,
        # CPU threads at the start and the end (an `auto` count drops if the cores fill up),
        # why, and the OpenMP wait policy the process started with (None: OpenMP's default)
        "threads": {"start": t.threads_at_start, "end": torch.get_num_threads(),
                    "reason": t.threads.reason,
                    "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY")},
        "callbacks": [name for name, _ in t.callbacks.items],
        "world_size": t.dist.world_size,
        "global_batch": t.global_batch,
        "seed": t.seed,
        "deterministic": t.env_cfg.deterministic,
        "epochs_completed": t.epoch,
        "steps": t.global_step,
        "images_seen": images,
        "train_seconds": t.trained_seconds,
        "train_images_per_s": images / max(t.trained_seconds, 1e-9),
        "final_train_loss": rows[-1]["train_loss"] if rows else None,
        "best_metric": {"name": t.metric_name, "mode": t.metric_mode, "value": t.best},
        "final_split": t.env_cfg.eval.final_split,
        "final_metrics": final,
        "stopped_early": stopped_early or None,
        "resumed_from": str(t.resumed_from) if t.resumed_from else None,
        "bad_files": t.data.bad_files,
        "data_notes": t.data.notes,
        "torch": torch.__version__,
    }


def jsonable(o: Any) -> Any:
    """JSON for what `json.dumps` cannot write itself (numpy scalars, paths, anything else)."""
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    return str(o)


class RunLog:
    """The run's console, metrics file, TensorBoard writer and summary (rank 0)."""

    def __init__(self, console: Any, *, is_main: bool, quiet: bool):
        self.console = console
        self.is_main = is_main
        self.quiet = quiet
        self.writer: Any = None

    def note(self, text: str, style: str = "") -> None:
        """One line on rank 0."""
        if self.is_main:
            say(self.console, text, style, soft_wrap=True)

    def open_tensorboard(self, run_dir: Path, purge_step: int | None) -> None:
        """Start the events file; `purge_step` drops events past a resumed checkpoint."""
        if not self.is_main:
            return
        from torch.utils.tensorboard import SummaryWriter

        try:
            self.writer = SummaryWriter(str(run_dir / "tensorboard"), purge_step=purge_step)
        except OSError as exc:
            say(self.console, f"TensorBoard events disabled: {exc}", "yellow")

    def scalar(self, tag: str, value: float, step: int) -> None:
        if self.writer is not None:
            self.writer.add_scalar(tag, value, step)

    def epoch(self, run_dir: Path, row: dict[str, Any]) -> None:
        """Append the epoch's row to metrics.csv (raises `WriteError`), TensorBoard and the
        console."""
        append_metrics(run_dir / "metrics.csv", row)
        for k, v in row.items():
            if k != "epoch" and isinstance(v, (int, float)):
                self.scalar(k if "/" in k else f"epoch/{k}", v, row["epoch"])
        shown = ", ".join(f"{k} {v:.4g}" for k, v in row.items()
                          if k not in ("epoch", "lr") and isinstance(v, float))
        say(self.console, f"epoch {row['epoch']}: {shown}")

    def progress(self) -> Any:
        """The training progress bar (loss, images/s, elapsed and remaining time)."""
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)

        return Progress(TextColumn("[bold]epoch {task.fields[epoch]}"), BarColumn(),
                        MofNCompleteColumn(), TextColumn("loss {task.fields[loss]}"),
                        TextColumn("{task.fields[ips]} img/s"), TimeElapsedColumn(),
                        TimeRemainingColumn(), console=self.console,
                        disable=self.quiet or not self.is_main, transient=False)

    def table(self, title: str, final: dict[str, float], extra: dict[str, str]) -> None:
        """The final metrics as a table, with `extra` rows (train time, parameters)."""
        from rich.table import Table

        table = Table(title=title)
        table.add_column("metric")
        table.add_column("value", justify="right")
        for k, v in final.items():
            table.add_row(k, f"{v:.4f}" if isinstance(v, float) else str(v))
        for k, text in extra.items():
            table.add_row(k, text)
        self.console.print(table)

    def summary(self, run_dir: Path, summary: dict[str, Any]) -> None:
        """Write summary.json atomically (raises `WriteError`)."""
        atomic_write_text(run_dir / "summary.json",
                          json.dumps(summary, indent=2, default=jsonable))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
