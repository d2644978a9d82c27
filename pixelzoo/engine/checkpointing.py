"""The run's checkpoint policy: `last`, `best`, the top-N history, and which one to resume.

`CheckpointSaver` (timm's `CheckpointSaver` in spirit) owns `<run>/checkpoints/`: it writes
`last`, promotes it to `best` when the tracked metric improved and into the history
(`epoch-NNNN`) when an evaluated epoch completed, and prunes the history to the `train.keep`
best epochs. Promotion links files (no bytes rewritten). `find_good` / `newest_good` choose the
checkpoint a resume continues from: the newest that reads back whole, naming each damaged one.
What goes into a checkpoint and how it is verified is `checkpoint.py`; when to write one (and
on which rank) is the trainer's business.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from pixelzoo.engine.atomic import atomic_link_many
from pixelzoo.engine.checkpoint import (ArchitectureMismatch, Checkpoint, list_checkpoints,
                                        paths, read_checkpoint, write_checkpoint)
from pixelzoo.errors import CheckpointError

HISTORY_PREFIX = "epoch-"


def better(value: float, best: float | None, mode: str) -> bool:
    """Whether `value` beats `best` for a metric where `mode` ("max" or "min") is better."""
    return best is None or (value > best if mode == "max" else value < best)


def find_good(folder: Path, architecture: dict[str, Any] | None
              ) -> tuple[Checkpoint | None, list[str]]:
    """(newest intact checkpoint or None, problems with the newer ones); newest by step.

    A checkpoint for another architecture is not skipped over: that is the wrong recipe, not a
    damaged file.
    """

    def order(item: tuple[Path, dict[str, str] | None]) -> tuple[int, bool]:
        stem, meta = item
        return (int((meta or {}).get("pixelzoo.global_step", -1)), stem.name == "last")

    problems = []
    for stem, _ in sorted(list_checkpoints(folder), key=order, reverse=True):
        try:
            return read_checkpoint(stem, architecture), problems
        except ArchitectureMismatch:
            raise
        except CheckpointError as exc:
            problems.append(str(exc))
    return None, problems


def newest_good(folder: Path, architecture: dict[str, Any] | None,
                notes: list[tuple[str, str]]) -> Checkpoint:
    """The newest checkpoint in `folder` that reads back whole; damaged ones go to `notes`."""
    ckpt, problems = find_good(folder, architecture)
    if ckpt is None:
        if not problems:
            raise CheckpointError(f"{folder}: no checkpoint to resume from")
        raise CheckpointError(f"{folder}: no usable checkpoint:\n"
                              + "\n".join(f"  - {p}" for p in problems))
    for p in problems:
        notes.append(("yellow", f"skipped a damaged checkpoint: {p}"))
    if ckpt.stem.name != "last":
        notes.append(("yellow", f"resuming from {ckpt.stem.name}, the newest checkpoint "
                                "that reads back whole"))
    return ckpt


class CheckpointSaver:
    """Writes, promotes and prunes the checkpoints of one run folder (rank 0 only)."""

    def __init__(self, folder: Path, architecture: dict[str, Any], *, metric_mode: str,
                 keep: int):
        self.folder = Path(folder)
        self.architecture = architecture
        self.metric_mode = metric_mode
        self.keep = keep

    def write(self, name: str, weights: nn.Module | Mapping[str, torch.Tensor],
              state: dict[str, Any], metadata: dict[str, str]) -> None:
        """Write checkpoint `name` (weights file + training state) atomically; a failed write
        raises `WriteError` and leaves the previous pair intact."""
        write_checkpoint(self.folder / name, weights, self.architecture, state, metadata)

    def promote(self, improved: bool, history_epoch: int | None) -> None:
        """Link `last` to `best` (if `improved`) and to `epoch-NNNN` (if `history_epoch`),
        then prune the history. A failed link raises `WriteError`."""
        last = paths(self.folder / "last")
        targets = []
        if improved:
            targets.append(self.folder / "best")
        if history_epoch is not None:
            targets.append(self.folder / f"{HISTORY_PREFIX}{history_epoch:04d}")
        for stem in targets:
            atomic_link_many(zip(last, paths(stem)))
        if history_epoch is not None:
            self.prune()

    def prune(self) -> None:
        """Keep the `keep` best epoch checkpoints by the tracked metric (ties: newest)."""
        entries = []
        for stem, meta in list_checkpoints(self.folder):
            if not stem.name.startswith(HISTORY_PREFIX):
                continue
            raw = (meta or {}).get("pixelzoo.metric_value", "")
            try:
                value = float(raw)
            except ValueError:
                value = math.nan
            score = (-math.inf if not math.isfinite(value)
                     else value if self.metric_mode == "max" else -value)
            entries.append((score, stem.name, stem))
        entries.sort(reverse=True)
        for _, _, stem in entries[self.keep:]:
            for f in paths(stem):
                f.unlink(missing_ok=True)

    def kept(self) -> str:
        """What survives a failed write, for its message."""
        try:
            good, _ = find_good(self.folder, self.architecture)
        except CheckpointError:
            good = None
        if good is None:
            return "no complete checkpoint was written before"
        return (f"the last good checkpoint is kept: {good.stem} (epoch "
                f"{int(good.state['epoch']) + 1}, global step {good.state['global_step']})")
