"""The training loop: one recipe in, one self-describing run folder out.

`train(recipe)` builds the parts, trains with rich progress (loss, images/s, ETA), evaluates every
`eval.every` epochs, and writes `runs/<recipe-stem>/<timestamp>/`: the resolved `config.yaml`,
`metrics.csv`, TensorBoard events, `checkpoints/{last,best}.safetensors` (plus the top-N history)
with a weights-only training state, the task's report (tables, sample PNGs) and `summary.json`.

Trust is the point of this module:

- Exact resume. All randomness of a step is derived from (seed, epoch, step, rank); the data order
  comes from torch's `DistributedSampler` keyed by (seed, epoch); the checkpoint holds the
  optimizer, scheduler, per-rank RNG states, the position in the epoch and the epoch's partial
  sums. A resumed run therefore computes what the uninterrupted run would have, bit for bit on
  the same hardware and software (see docs/training.md for the limits).
- Safe writes. Only rank 0 writes; every file is written atomically; a failed write (full disk,
  read-only folder) stops the run with a clear error and leaves the last good checkpoint intact.
  A lock on the run folder keeps two runs from writing into it at once.
- Graceful interrupts. SIGINT/SIGTERM finish the current step, write `last`, print the command
  that resumes, and exit with 128 + the signal number (130, 143). During an evaluation they stop
  between two batches: at an epoch's end `last` is written with that evaluation owed (a resume
  repeats it first); in the final evaluation and report the checkpoints are left as they are (a
  resume redoes them). A second Ctrl-C stops at once.
- Distributed. Under torchrun the model is wrapped in DDP; `train.batch_size` is the global batch
  (each rank takes batch_size / world_size). Decisions that must agree (stop, budget reached,
  diverged) are all-reduced every step; checkpoints are collective (every rank's RNG state is
  gathered, rank 0 writes, every rank learns whether it worked). Evaluation: every rank evaluates
  the full split deterministically and every rank reports rank 0's numbers, so they agree exactly
  whatever the task's metrics are (the task API returns averages, not sums, so sharding the split
  could not be reduced exactly).
- CUDA graphs. With `train.cuda_graphs: true` on one CUDA device, the first full-size step is
  captured (forward, backward, clipping, Adam) from the task's `capture_inputs` / `capture_loss`
  split and every later one replays it; anywhere else the same recipe trains eagerly, with a
  one-line notice. Checkpoints hold one optimizer form either way, so runs resume across modes.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shlex
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch

from pixelzoo.engine import distributed as dist_env
from pixelzoo.engine.atomic import (WriteError, atomic_link_many, atomic_write_text,
                                    remove_stale_temp_files)
from pixelzoo.engine.build import architecture, build_all, count_parameters
from pixelzoo.engine.checkpoint import (ArchitectureMismatch, apply_weights, list_checkpoints,
                                        paths, read_checkpoint, read_weights,
                                        rng_state, set_rng_state, stem_of, write_checkpoint)
from pixelzoo.engine.cuda_graphs import (CAPTURABLE_OPTIMIZERS, GraphedTrainStep,
                                         load_optimizer_state, load_scheduler_state,
                                         portable_optimizer_state, portable_scheduler_state,
                                         use_tensor_lr)
from pixelzoo.engine.metrics_log import append_metrics, read_metrics, truncate_metrics
from pixelzoo.engine.seeding import (is_nondeterminism_error, restore_determinism,
                                     seed_everything, set_deterministic)
from pixelzoo.errors import CheckpointError, PixelzooError
from pixelzoo.recipe import ResolvedRecipe

T = TypeVar("T")
LOCK_NAME = ".pixelzoo.lock"
SIGNAL_ECHO_S = 2.0  # repeats of a stop signal within this time are the same request

__all__ = ["RunResult", "Trainer", "train", "find_latest_run", "seed_everything"]


@dataclass
class RunResult:
    run_dir: Path | None
    metrics: dict[str, float]
    summary: dict[str, Any] = field(default_factory=dict)


class Interrupted(Exception):
    """Raised after SIGINT/SIGTERM at a safe point: after a training step and its checkpoint, or
    between two evaluation batches. `during` says where: "" (training), "eval" (an end-of-epoch
    evaluation; `last` was written with it still owed) or "final" (the final evaluation and
    report; training was done and the checkpoints are left as they were)."""

    def __init__(self, signum: int, during: str = ""):
        super().__init__(signum)
        self.signum = signum
        self.during = during


def pick_device(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise PixelzooError("train.device: 'cuda' was asked for but no CUDA device is available "
                            "(use device: auto)")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def new_run_dir(root: Path, stem: str) -> Path:
    """Create and return a fresh `root/stem/<timestamp>[-n]` folder."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    n = 1
    while True:
        path = root / stem / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            n += 1
        except OSError as exc:
            raise WriteError(path, exc) from exc


def _run_order(path: Path) -> tuple[str, int]:
    m = re.fullmatch(r"(\d{8}-\d{6})(?:-(\d+))?", path.name)
    return (m.group(1), int(m.group(2) or 1)) if m else (path.name, 0)


def find_latest_run(root: Path, stem: str) -> Path | None:
    """The newest run folder of recipe `stem` under `root` that holds a checkpoint."""
    base = Path(root) / stem
    if not base.is_dir():
        return None
    runs = [p for p in base.iterdir()
            if p.is_dir() and any((p / "checkpoints").glob("*.state.pt"))]
    return max(runs, key=_run_order) if runs else None


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
    s = cfg.scheduler
    warm = s.warmup_steps
    total = max(total_steps, 1)

    def factor(step: int) -> float:
        if warm and step < warm:
            return (step + 1) / warm
        if s.type == "constant":
            return 1.0
        progress = min(1.0, (step - warm) / max(1, total - warm))
        cos = 0.5 * (1 + math.cos(math.pi * progress))
        if s.type == "cosine":
            return s.min_lr_ratio + (1 - s.min_lr_ratio) * cos
        # onecycle: warm up (above) then anneal to ~0
        return max(cos, 1e-3)

    return torch.optim.lr_scheduler.LambdaLR(opt, factor)


def _better(value: float, best: float | None, mode: str) -> bool:
    return best is None or (value > best if mode == "max" else value < best)


@dataclass
class _Partial:
    """This rank's sums for the epoch in progress (checkpointed, so a resumed epoch adds up)."""

    loss_sum: float = 0.0
    loss_count: int = 0
    images: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"loss_sum": self.loss_sum, "loss_count": self.loss_count,
                "images": self.images, "seconds": self.seconds}


class Trainer:
    """Runs one recipe; see module docs."""

    def __init__(self, recipe: ResolvedRecipe, *, out_root: str | Path = "runs",
                 resume: str | None = None, quiet: bool = False, console: Any = None):
        self.recipe = recipe
        self.env_cfg = recipe.envelope()
        self.cfg = self.env_cfg.train
        self.out_root = Path(out_root)
        self.resume = resume
        self.quiet = quiet
        if console is None:
            from rich.console import Console

            console = Console(stderr=False, quiet=quiet)
        self.console = console
        self.dist = dist_env.DistEnv()
        self.run_dir: Path | None = None
        self.resumed_from: Path | None = None
        self._stop_signal: int | None = None
        self._stop_time = 0.0
        self._old_handlers: dict[int, Any] = {}
        self._lock_fd: int | None = None
        self._writer: Any = None
        self._determinism: Any = None
        self._partial = _Partial()
        self._epoch_metric: float | None = None
        # the `stopped_early` of an end-of-epoch evaluation under way (None: none is); saved in
        # the state, so a run stopped during that evaluation repeats it when resumed
        self._pending_eval: str | None = None
        self._graphs = False  # replay full-size steps from a CUDA graph (train.cuda_graphs)
        self._graph: Any = None  # the GraphedTrainStep, captured at the first full-size step

    # ------------------------------------------------------------------ setup
    def _setup(self) -> None:
        cfg = self.cfg
        if cfg.num_threads:
            torch.set_num_threads(cfg.num_threads)
        self.device = pick_device(cfg.device)
        self.dist = dist_env.setup(self.device.type)
        if self.dist.enabled and self.device.type == "cuda":
            self.device = torch.device("cuda", self.dist.local_rank)
        self.seed = self.env_cfg.seed
        seed_everything(self.seed, self.dist.rank)
        self._determinism = set_deterministic(self.env_cfg.deterministic)
        if self.device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = cfg.tf32
            torch.backends.cudnn.allow_tf32 = cfg.tf32

        parts = build_all(self.recipe)
        self.data, self.mask, self.task, self.model = parts.data, parts.mask, parts.task, parts.model
        for note in self.data.notes:
            self._note(note, "yellow")
        self.model.to(self.device)
        self._select_impl()
        self.arch = architecture(self.recipe, self.model)
        self.n_params = count_parameters(self.model)
        self.train_model: torch.nn.Module = self.model
        if self.dist.enabled:
            from torch.nn.parallel import DistributedDataParallel as DDP

            # DDP copies rank 0's initial weights to every rank here
            self.train_model = DDP(self.model, device_ids=[self.device.index]
                                   if self.device.type == "cuda" else None)
        self._graphs = self._plan_graphs()
        self.optimizer = make_optimizer(self.model.parameters(), cfg, capturable=self._graphs)
        n_train = len(self.data.train)
        world = self.dist.world_size
        per_rank = cfg.batch_size // world
        if per_rank < 1:
            raise PixelzooError(f"train.batch_size: {cfg.batch_size} is smaller than the number "
                                f"of processes ({world}); the batch is global and each process "
                                "takes batch_size / world_size images")
        if per_rank * world != cfg.batch_size and self.dist.is_main:
            self.console.print(f"[yellow]train.batch_size {cfg.batch_size} does not divide "
                               f"over {world} processes: using a global batch of "
                               f"{per_rank * world} ({per_rank} per process)[/yellow]")
        self.per_rank_batch = per_rank
        self.global_batch = per_rank * world
        steps = n_train // self.global_batch
        if steps == 0:
            raise PixelzooError(f"train.batch_size: {cfg.batch_size} is larger than the training "
                                f"set ({n_train} images)")
        self.steps_per_epoch = min(steps, cfg.steps_per_epoch or steps)
        self.scheduler = make_scheduler(self.optimizer, cfg, self.steps_per_epoch * cfg.epochs)
        if self._graphs:
            use_tensor_lr(self.optimizer)  # after the scheduler: see use_tensor_lr
        self.metric_name = self.env_cfg.eval.metric or self.task.default_metric
        self.metric_mode = self.task.metric_mode(self.metric_name)
        self.epoch, self.step_in_epoch, self.global_step = 0, 0, 0
        self.best: float | None = None
        self.trained_seconds = 0.0
        self.images_seen = 0
        self._prepare_run_dir()

    def _plan_graphs(self) -> bool:
        """Whether `train.cuda_graphs` can capture the step here; else one line saying why not.

        Under torchrun the step stays eager: DDP's gradient all-reduce would have to be captured
        too (NCCL without async error handling, DDP-specific warm-up), which no test here can
        check. The recipe still runs, so the same recipe works everywhere.
        """
        if not self.cfg.cuda_graphs:
            return False
        why = ""
        if self.device.type != "cuda":
            why = f"ignored on {self.device.type} (CUDA only)"
        elif self.dist.enabled:
            why = ("not used under torchrun (DDP's gradient all-reduce is not captured); "
                   "eager steps")
        elif self.cfg.optimizer.type not in CAPTURABLE_OPTIMIZERS:
            why = (f"optimizer '{self.cfg.optimizer.type}' cannot be captured (use adam or "
                   "adamw); eager steps")
        elif not self.task.supports_capture():
            why = (f"task '{self.recipe.data['task']['type']}' has no capture_inputs/"
                   "capture_loss split; eager steps")
        if why:
            self._note(f"train.cuda_graphs: {why}", "yellow")
            return False
        return True

    def _select_impl(self) -> None:
        mode = self.cfg.fast_path
        if not hasattr(self.model, "impl"):
            return
        if mode == "auto":
            try:
                from pixelzoo.models.wavefront import supports
            except ImportError:
                return
            ok, why = supports(self.model)
            if ok:
                self.model.impl = "wavefront"
            elif self.dist.is_main and not self.quiet:
                self._print(f"fast path unavailable ({why}); using the reference loop", "dim",
                            soft_wrap=True)
        else:
            if mode == "wavefront":
                from pixelzoo.models.wavefront import supports

                ok, why = supports(self.model)
                if not ok:  # forcing it would silently compute a different function
                    raise PixelzooError(f"train.fast_path: 'wavefront' cannot run this model "
                                        f"({why}); use 'auto' or 'reference'")
            self.model.impl = mode

    # ------------------------------------------------------------------ rank-0 work
    def _on_main(self, fn: Callable[[], T]) -> T:
        """Run `fn` on rank 0 only; its result, or its error, reaches every rank.

        This is also the barrier around checkpoints: no rank moves on before rank 0's write has
        finished, and a failed write stops every rank with the same message instead of leaving
        the others waiting in the next collective.
        """
        result: Any = None
        error: BaseException | None = None
        if self.dist.is_main:
            try:
                result = fn()
            except Exception as exc:  # noqa: BLE001 - re-raised below, after telling the others
                error = exc
        if not self.dist.enabled:
            if error is not None:
                raise error
            return result
        shared = None if error is None else (isinstance(error, CheckpointError),
                                             isinstance(error, PixelzooError), str(error))
        payload = dist_env.broadcast_object(self.dist, (None if error else result, shared))
        if error is not None:
            raise error
        result, shared = payload  # type: ignore[misc]
        if shared is not None:
            is_ckpt, is_user, msg = shared
            if is_ckpt:
                raise CheckpointError(msg)
            if is_user:
                raise PixelzooError(msg)
            raise RuntimeError(f"rank 0 failed: {msg}")
        return result

    def _note(self, text: str, style: str = "") -> None:
        """Print `text` on rank 0, as plain text: paths and messages may hold [brackets].

        A note stays one line even in a log file (rich would otherwise wrap it at 80 columns
        when the output is not a terminal), so it can be found with grep.
        """
        if self.dist.is_main:
            self._print(text, style, soft_wrap=True)

    def _print(self, text: str, style: str = "", soft_wrap: bool = False) -> None:
        from rich.markup import escape

        self.console.print(f"[{style}]{escape(text)}[/{style}]" if style else escape(text),
                           soft_wrap=soft_wrap)

    # ------------------------------------------------------------------ run folder and resume
    def _prepare_run_dir(self) -> None:
        info = self._on_main(self._open_run_dir)
        for style, note in info["notes"]:
            self._note(note, style)
        self.run_dir = Path(info["run_dir"])
        if info["checkpoint"] is not None:
            self._restore(info["checkpoint"])

    def _open_run_dir(self) -> dict[str, Any]:
        """Rank 0: find or create the run folder, lock it, and read the checkpoint to resume."""
        notes: list[tuple[str, str]] = []
        run_dir, strict_stem = self._resolve_resume(notes)
        fresh = run_dir is None
        if run_dir is None:
            run_dir = new_run_dir(self.out_root, self.recipe.name)
        ck = run_dir / "checkpoints"
        try:
            ck.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WriteError(ck, exc) from exc
        self._lock(run_dir)
        removed = remove_stale_temp_files(ck)
        if removed:
            notes.append(("dim", f"removed {len(removed)} unfinished temporary file(s) left by "
                                 f"an interrupted write: {', '.join(p.name for p in removed)}"))
        checkpoint = None
        if strict_stem is not None:
            checkpoint = read_checkpoint(strict_stem, self.arch)
        elif not fresh:
            checkpoint = self._newest_good_checkpoint(ck, notes)
        if checkpoint is not None:
            self.resumed_from = checkpoint.stem
            epoch = int(checkpoint.state["epoch"])
            dropped = truncate_metrics(run_dir / "metrics.csv", epoch) if not fresh else 0
            if dropped:
                notes.append(("yellow", f"metrics.csv: dropped {dropped} row(s) after epoch "
                                        f"{epoch}, newer than the checkpoint resumed from"))
            changed = self._recipe_changes(run_dir / "config.yaml")
            if changed:
                notes.append(("yellow", "the recipe differs from the run's config.yaml: "
                              + "; ".join(changed)))
        atomic_write_text(run_dir / "config.yaml", self.recipe.to_yaml())
        payload = None
        if checkpoint is not None:
            payload = {"stem": str(checkpoint.stem), "weights": checkpoint.weights,
                       "state": checkpoint.state}
        return {"run_dir": str(run_dir), "checkpoint": payload, "notes": notes}

    def _resolve_resume(self, notes: list[tuple[str, str]]) -> tuple[Path | None, Path | None]:
        """(run folder to continue or None for a new one, checkpoint stem if named exactly)."""
        r = self.resume
        if not r:
            return None, None
        if r == "auto":
            found = find_latest_run(self.out_root, self.recipe.name)
            if found is None:
                notes.append(("dim", f"--resume auto: no earlier run of {self.recipe.name} "
                                     f"under {self.out_root}; starting a new one"))
            return found, None
        p = Path(r)
        if p.is_dir():
            if p.name == "checkpoints":
                p = p.parent
            if not (p / "checkpoints").is_dir():
                raise CheckpointError(f"--resume {r}: {p} is not a run folder (it has no "
                                      "checkpoints/ folder)")
            return p, None
        stem = stem_of(p)
        w, s = paths(stem)
        if not w.exists() and not s.exists():
            raise CheckpointError(f"--resume {r}: no checkpoint there (looked for {w} and {s})")
        parent = stem.parent
        if parent.name == "checkpoints" and (parent.parent / "config.yaml").exists():
            return parent.parent, stem
        notes.append(("dim", f"{stem.name} is not inside a run folder: continuing it in a new "
                             "one"))
        return None, stem

    def _newest_good_checkpoint(self, folder: Path, notes: list[tuple[str, str]]) -> Any:
        """The newest checkpoint in `folder` that reads back whole; damaged ones are reported."""
        ckpt, problems = self._find_good(folder)
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

    def _find_good(self, folder: Path) -> tuple[Any, list[str]]:
        """(newest intact checkpoint or None, problems with the newer ones); newest by step."""

        def order(item: tuple[Path, dict[str, str] | None]) -> tuple[int, bool]:
            stem, meta = item
            return (int((meta or {}).get("pixelzoo.global_step", -1)), stem.name == "last")

        problems = []
        for stem, _ in sorted(list_checkpoints(folder), key=order, reverse=True):
            try:
                return read_checkpoint(stem, self.arch), problems
            except ArchitectureMismatch:
                raise
            except CheckpointError as exc:
                problems.append(str(exc))
        return None, problems

    def _recipe_changes(self, saved: Path) -> list[str]:
        import yaml

        try:
            old = yaml.safe_load(saved.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            return []
        if not isinstance(old, dict):
            return []
        out: list[str] = []

        def walk(a: Any, b: Any, path: str) -> None:
            if isinstance(a, dict) and isinstance(b, dict):
                for k in sorted(set(a) | set(b), key=str):
                    walk(a.get(k), b.get(k), f"{path}.{k}" if path else str(k))
            elif a != b:
                out.append(f"{path}: {a!r} -> {b!r}")

        walk(old, self.recipe.data, "")
        return out[:8]

    def _lock(self, run_dir: Path) -> None:
        """Hold an exclusive lock on the run folder so two runs never write into it at once."""
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks; documented
            return
        path = run_dir / LOCK_NAME
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise WriteError(path, exc) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            try:
                holder = os.read(fd, 32).decode(errors="replace").strip()
            finally:
                os.close(fd)
            raise PixelzooError(f"{run_dir} is in use by another pixelzoo run"
                                f"{f' (pid {holder})' if holder else ''}; wait for it to end, "
                                "or start a new run without --resume") from None
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError:
            pass  # the lock holds even if the pid cannot be written
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None

    # ------------------------------------------------------------------ checkpoints
    def _rank_state(self) -> dict[str, Any]:
        """What differs per rank: RNG states and this rank's partial epoch sums."""
        return {"rng": rng_state(self.device), "partial": self._partial.as_dict()}

    def _state(self, ranks: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "epoch": self.epoch, "step_in_epoch": self.step_in_epoch,
            "global_step": self.global_step, "best": self.best,
            "pending_eval": self._pending_eval,
            "metric": self.metric_name, "metric_mode": self.metric_mode,
            "trained_seconds": self.trained_seconds, "images_seen": self.images_seen,
            # one form whether the step was captured or not, so either kind of run resumes it
            "optimizer": portable_optimizer_state(self.optimizer),
            "optimizer_type": type(self.optimizer).__name__,
            "scheduler": portable_scheduler_state(self.scheduler),
            "scaler": None,  # fp32 and bf16 need no GradScaler
            "rng": [r["rng"] for r in ranks],
            "partial": [r["partial"] for r in ranks],
            "data": {"seed": self.seed, "epoch": self.epoch,
                     "position": self.step_in_epoch * self.global_batch,
                     "global_batch": self.global_batch, "world_size": self.dist.world_size,
                     "num_train": len(self.data.train), "steps_per_epoch": self.steps_per_epoch,
                     "sampler": "DistributedSampler(shuffle=True, drop_last=True)"},
        }

    def _metadata(self) -> dict[str, str]:
        value = self._epoch_metric
        return {"pixelzoo.epoch": str(self.epoch),
                "pixelzoo.step_in_epoch": str(self.step_in_epoch),
                "pixelzoo.global_step": str(self.global_step),
                "pixelzoo.metric": self.metric_name, "pixelzoo.metric_mode": self.metric_mode,
                "pixelzoo.metric_value": "" if value is None else repr(float(value))}

    def save_checkpoint(self, name: str = "last") -> None:
        """Write checkpoint `name` (collective under torchrun: every rank must call it)."""
        ranks = dist_env.all_gather_object(self.dist, self._rank_state())

        def write() -> None:
            assert self.run_dir is not None
            stem = self.run_dir / "checkpoints" / name
            try:
                write_checkpoint(stem, self.model, self.arch, self._state(ranks), self._metadata())
            except WriteError as exc:
                raise CheckpointError(self._write_failed(exc)) from exc

        self._on_main(write)

    def _write_failed(self, exc: WriteError) -> str:
        """The message for a failed write: what failed, what survived, how to go on."""
        assert self.run_dir is not None
        try:
            good, _ = self._find_good(self.run_dir / "checkpoints")
        except CheckpointError:
            good = None
        if good is None:
            kept = "no complete checkpoint was written before"
        else:
            kept = (f"the last good checkpoint is kept: {good.stem} (epoch "
                    f"{int(good.state['epoch']) + 1}, global step {good.state['global_step']})")
        return (f"{exc}. Training stopped; {kept}. Free some space (or fix the folder's "
                f"permissions), then resume with: {self._resume_command()}")

    def _restore(self, ckpt: dict[str, Any]) -> None:
        """Load a checkpoint read by rank 0 into this rank's model, optimizer and counters."""
        stem = Path(ckpt["stem"])
        state = ckpt["state"]
        _, s_path = paths(stem)
        apply_weights(stem, self.model, ckpt["weights"])
        notes = []
        if state.get("optimizer_type", type(self.optimizer).__name__) != \
                type(self.optimizer).__name__:
            notes.append(f"the optimizer changed ({state['optimizer_type']} -> "
                         f"{type(self.optimizer).__name__}): starting its state fresh")
        else:
            try:
                load_optimizer_state(self.optimizer, state["optimizer"])
                load_scheduler_state(self.scheduler, state["scheduler"])
            except (ValueError, KeyError, RuntimeError, TypeError) as exc:
                raise CheckpointError(f"{s_path}: its optimizer state does not fit this recipe's "
                                      f"model and optimizer ({exc})") from None
        world, rank = self.dist.world_size, self.dist.rank
        epoch, step = int(state["epoch"]), int(state["step_in_epoch"])
        data = state.get("data") or {}
        same_layout = (data.get("global_batch", self.global_batch) == self.global_batch
                       and data.get("num_train", len(self.data.train)) == len(self.data.train))
        if step and not same_layout:
            position = int(data.get("position", step * self.global_batch))
            step = min(position // self.global_batch, self.steps_per_epoch)
            notes.append(f"the global batch or training set changed: continuing epoch "
                         f"{epoch + 1} at image {position} (step {step}); not an exact "
                         "continuation")
        step = min(step, self.steps_per_epoch)
        self.epoch, self.step_in_epoch = epoch, step
        self.global_step = int(state["global_step"])
        if state.get("metric", self.metric_name) == self.metric_name:
            self.best = state["best"]
        else:
            notes.append(f"the tracked metric changed ({state.get('metric')} -> "
                         f"{self.metric_name}): the best value starts afresh")
        self.trained_seconds = float(state.get("trained_seconds", 0.0))
        self.images_seen = int(state.get("images_seen", 0))
        self._pending_eval = state.get("pending_eval")
        rngs = state["rng"] if isinstance(state["rng"], list) else [state["rng"]]
        partials = state.get("partial") or []
        if len(rngs) == world:
            set_rng_state(rngs[rank], self.device)
            if step and len(partials) == world:
                self._partial = _Partial(**partials[rank])
        else:
            # a different world size: the per-rank streams cannot be mapped; start new ones
            seed_everything(self.seed + self.global_step, rank)
            notes.append(f"the number of processes changed ({len(rngs)} -> {world}): random "
                         "generators reseeded")
            if step and partials and rank == 0:
                self._partial = _Partial(
                    sum(p["loss_sum"] for p in partials), sum(p["loss_count"] for p in partials),
                    sum(p["images"] for p in partials), max(p["seconds"] for p in partials))
        for n in notes:
            self._note(n, "yellow")
        self._note(f"resuming {self.run_dir} from {stem.name} at epoch {self.epoch + 1}, step "
                   f"{self.step_in_epoch} (global step {self.global_step})")

    def _resume_command(self) -> str:
        parts = ["pixelzoo", "run", shlex.quote(str(self.recipe.source or "RECIPE"))]
        for o in self.recipe.overrides:
            parts += ["--set", shlex.quote(o)]
        parts += ["--resume", shlex.quote(str(self.run_dir))]
        if self.out_root != Path("runs"):
            parts += ["--out", shlex.quote(str(self.out_root))]
        cmd = " ".join(parts)
        if self.dist.enabled:
            cmd = "torchrun [the same torchrun options] -m " + cmd
        return cmd

    # ------------------------------------------------------------------ loop
    def _epoch_order(self, epoch: int) -> np.ndarray:
        """This rank's sample order for `epoch`, as torch's DistributedSampler gives it.

        The sampler permutes all indices with (seed, epoch) and deals them out round-robin, so
        global step s always covers the same images, [s*B, (s+1)*B) of the permutation, whatever
        the number of ranks: B is the global batch.
        """
        from torch.utils.data import DistributedSampler

        sampler = DistributedSampler(range(len(self.data.train)), num_replicas=self.dist.world_size,
                                     rank=self.dist.rank, shuffle=True, seed=self.seed,
                                     drop_last=True)
        sampler.set_epoch(epoch)
        return np.fromiter(iter(sampler), dtype=np.int64)

    def _step_rng(self, epoch: int, step: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, epoch, step, self.dist.rank])

    def _train_step(self, idx: np.ndarray, epoch: int, step: int) -> float:
        images = torch.from_numpy(self.data.train.images[idx]).to(self.device, non_blocking=True)
        labels = None
        if self.data.train.labels is not None:
            labels = torch.from_numpy(self.data.train.labels[idx]).to(self.device)
        self.train_model.train()
        if self._graphs and len(idx) == self.per_rank_batch:  # a smaller batch runs eager
            loss = self._graphed_step(images, labels, self._step_rng(epoch, step))
            if loss is not None:
                self.scheduler.step()
                return loss
        autocast = torch.autocast(self.device.type, dtype=torch.bfloat16,
                                  enabled=self.cfg.precision == "bf16")
        with self._explain_nondeterminism():
            with autocast:
                loss, _ = self.task.training_loss(self.train_model, images, labels,
                                                  self._step_rng(epoch, step))
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
        if self.cfg.clip_grad:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.clip_grad)
        self.optimizer.step()
        self.scheduler.step()
        return float(loss.detach())

    def _graphed_step(self, images: torch.Tensor, labels: torch.Tensor | None,
                      rng: np.random.Generator) -> float | None:
        """One step replayed from the CUDA graph (captured now if not yet); None: run eager.

        The task draws this step's holes and targets on the host with the step's generator,
        exactly as `training_loss` would; the graph then does the device work. A capture that
        fails (an operation of the model that cannot be recorded) leaves the model and the
        optimizer as they were, says so once, and the run continues with eager steps.
        """
        inputs = self.task.capture_inputs(images, labels, rng)
        if self._graph is None:
            try:
                with self._explain_nondeterminism():
                    self._graph = GraphedTrainStep(
                        self.train_model, self.optimizer, self.task.capture_loss, inputs,
                        clip_grad=self.cfg.clip_grad,
                        autocast_dtype=torch.bfloat16 if self.cfg.precision == "bf16" else None)
            except RuntimeError as exc:
                self._graphs = False
                first = (str(exc).splitlines() or [type(exc).__name__])[0]
                self._note(f"train.cuda_graphs: capture failed ({first}); eager steps", "yellow")
                return None
        return float(self._graph(*inputs))  # reading the loss waits for the replay

    @contextlib.contextmanager
    def _explain_nondeterminism(self) -> Any:
        """Turn deterministic mode's error for an operation without such a kernel into a
        PixelzooError that says what to do."""
        try:
            yield
        except RuntimeError as exc:
            if self.env_cfg.deterministic and is_nondeterminism_error(exc):
                raise PixelzooError(f"deterministic: true, but an operation of this model has no "
                                    f"deterministic implementation on {self.device.type}: "
                                    f"{str(exc).splitlines()[0]} Set deterministic: false (or "
                                    "use another device).") from None
            raise

    def _install_signals(self) -> None:
        def handler(signum: int, frame: Any) -> None:
            now = time.monotonic()
            if self._stop_signal is not None:
                # A second Ctrl-C stops at once. Echoes are not a second Ctrl-C: torchrun's agent
                # forwards the terminal's SIGINT to workers that already got it, and schedulers
                # send SIGTERM to the launcher and the workers alike; those arrive together.
                if signum == signal.SIGINT and now - self._stop_time > SIGNAL_ECHO_S:
                    raise KeyboardInterrupt
                return
            # only a flag: printing here could re-enter a half-done write to stdout
            self._stop_signal, self._stop_time = signum, now

        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._old_handlers[sig] = signal.signal(sig, handler)
            except ValueError:  # not the main thread: no handlers, interrupts are plain
                pass

    def _agree(self, nonfinite: bool = False) -> tuple[int, bool, bool]:
        """(stop signal or 0, budget spent, diverged), the same on every rank."""
        over = bool(self.cfg.max_minutes) and \
            self.trained_seconds >= self.cfg.max_minutes * 60  # type: ignore[operator]
        flags = dist_env.all_reduce_max(
            self.dist, [float(self._stop_signal or 0), float(over), float(nonfinite)],
            self.device)
        return int(flags[0]), bool(flags[1]), bool(flags[2])

    @contextlib.contextmanager
    def _stoppable(self, during: str, *, agreed: bool) -> Any:
        """Let a stop signal end the task's evaluation between two batches (the task calls
        `check_interrupt`), raising `Interrupted(signum, during)`.

        `agreed`: the ranks all-reduce the flag at every check, as the training loop does after
        every step, so all stop at the same batch even when only one got the signal; the task
        calls the check equally often on every rank. The report runs on rank 0 alone, so its
        check (agreed=False) reads rank 0's own flag and needs no other rank.
        """

        def check() -> None:
            flag = float(self._stop_signal or 0)
            if agreed:
                flag = dist_env.all_reduce_max(self.dist, [flag], self.device)[0]
            if flag:
                raise Interrupted(int(flag), during)

        self.task.interrupt_check = check
        try:
            yield
        finally:
            self.task.interrupt_check = None

    def evaluate(self, split: str | None = None, *, during: str = "eval") -> dict[str, float]:
        """The task's metrics on `split` (eval.split by default), identical on every rank.

        A stop signal ends it between two batches with `Interrupted(signum, during)`.
        """
        ev = self.env_cfg.eval
        name = split or ev.split
        data = getattr(self.data, name)
        if len(data) == 0:
            data = self.data.test
        data = data.take(ev.limit)
        self.model.eval()
        with self._stoppable(during, agreed=True):
            metrics = self.task.evaluate(self.model, data, self.device, ev.batch_size)
        if not self.dist.enabled:
            return metrics
        every: list[Any] = dist_env.all_gather_object(self.dist, metrics)
        if self.dist.is_main:
            for r, other in enumerate(every[1:], 1):
                off = [k for k, v in metrics.items() if isinstance(v, float)
                       and isinstance(other.get(k), float)
                       and not math.isclose(v, other[k], rel_tol=1e-5, abs_tol=1e-7)]
                if off:
                    self._print(f"rank {r} measured {', '.join(off)} differently "
                                "(non-deterministic kernels); reporting rank 0's", "dim")
        return dict(every[0])

    def fit(self) -> RunResult:
        try:
            self._setup()
            return self._fit()
        finally:
            self._close()

    def _open_writer(self) -> None:
        if not self.dist.is_main or self.run_dir is None:
            return
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # TensorBoard is optional at run time
            return
        try:
            # a resumed run drops the events past its checkpoint, like metrics.csv
            self._writer = SummaryWriter(str(self.run_dir / "tensorboard"),
                                         purge_step=self.global_step if self.resumed_from
                                         else None)
        except OSError as exc:
            self._print(f"TensorBoard events disabled: {exc}", "yellow")

    def _fit(self) -> RunResult:
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)

        cfg = self.cfg
        main = self.dist.is_main
        self._open_writer()
        if main:
            self._print(
                f"{self.recipe.name}: {type(self.model).__name__} "
                f"({self.n_params:,} parameters) on {self.device}"
                f"{f' x {self.dist.world_size} processes' if self.dist.enabled else ''}, "
                f"{len(self.data.train):,} training images, global batch {self.global_batch}, "
                f"run folder {self.run_dir}", "bold")
        self._install_signals()
        last_metrics: dict[str, float] = {}
        stopped_early = ""
        progress = Progress(TextColumn("[bold]epoch {task.fields[epoch]}"), BarColumn(),
                            MofNCompleteColumn(), TextColumn("loss {task.fields[loss]}"),
                            TextColumn("{task.fields[ips]} img/s"), TimeElapsedColumn(),
                            TimeRemainingColumn(), console=self.console,
                            disable=self.quiet or not main, transient=False)
        try:
            if self._pending_eval is not None:
                # `last` was written by a stop during an end-of-epoch evaluation: finish that
                # epoch's end first (its row, `best`, the history), as the stopped run would
                # have, whatever the budget says now
                last_metrics = self._end_epoch(self.epoch, self._pending_eval)
            if cfg.max_minutes and self.epoch < cfg.epochs and \
                    self.trained_seconds >= cfg.max_minutes * 60:
                stopped_early = f"time budget of {cfg.max_minutes} min reached"
                self._note(f"{stopped_early} already; raise train.max_minutes to train further",
                           "yellow")
            with progress:
                while self.epoch < cfg.epochs and not stopped_early:
                    epoch = self.epoch
                    if self.mask is not None:
                        self.mask.set_epoch(epoch)
                    order = self._epoch_order(epoch)
                    bar = progress.add_task("train", total=self.steps_per_epoch, epoch=epoch + 1,
                                            loss="-", ips="-", completed=self.step_in_epoch)
                    recent: list[float] = []
                    while self.step_in_epoch < self.steps_per_epoch:
                        s = self.step_in_epoch
                        idx = order[s * self.per_rank_batch:(s + 1) * self.per_rank_batch]
                        t0 = time.perf_counter()
                        loss = self._train_step(idx, epoch, s)
                        dt = time.perf_counter() - t0
                        self.trained_seconds += dt
                        stop, over, diverged = self._agree(not math.isfinite(loss))
                        if diverged:
                            raise PixelzooError(
                                f"training diverged: the loss is {loss} at epoch {epoch + 1}, "
                                f"step {s + 1}; lower train.optimizer.lr or set train.clip_grad, "
                                f"then resume from the last good checkpoint: "
                                f"{self._resume_command()}")
                        self.step_in_epoch += 1
                        self.global_step += 1
                        p = self._partial
                        p.loss_sum += loss
                        p.loss_count += 1
                        p.images += len(idx) * self.dist.world_size
                        p.seconds += dt
                        recent = (recent + [loss])[-cfg.log_every:]
                        if s % cfg.log_every == 0 or self.step_in_epoch == self.steps_per_epoch:
                            progress.update(bar, completed=self.step_in_epoch,
                                            loss=f"{np.mean(recent):.4f}",
                                            ips=f"{p.images / max(p.seconds, 1e-9):,.0f}")
                        if self._writer is not None:
                            self._writer.add_scalar("train/loss_step", loss, self.global_step)
                        due = bool(cfg.checkpoint_every) and \
                            self.global_step % cfg.checkpoint_every == 0  # type: ignore[operator]
                        if due or stop:
                            self.save_checkpoint("last")
                        if stop:
                            raise Interrupted(stop)
                        if over:
                            stopped_early = f"time budget of {cfg.max_minutes} min reached"
                            break
                    progress.update(bar, visible=False)
                    last_metrics = self._end_epoch(epoch, stopped_early)
                    stop, _, _ = self._agree()
                    if stop:  # a signal after the last evaluation batch: `last` was just written
                        raise Interrupted(stop)
            return self._finish(last_metrics, stopped_early)
        except Interrupted as exc:
            if main:
                self._print(f"\n{signal.Signals(exc.signum).name}: {self._stopped_at(exc)}",
                            "yellow")
                self._print(f"Resume with: {self._resume_command()}", soft_wrap=True)
            raise SystemExit(128 + exc.signum) from None

    def _stopped_at(self, exc: Interrupted) -> str:
        """Where a stop signal ended the run and what a resume does, for the one-line report."""
        assert self.run_dir is not None
        last = self.run_dir / "checkpoints" / "last"
        if exc.during == "final":
            return (f"stopped during the final evaluation and report; training is complete and "
                    f"the checkpoints are unchanged ({last}); a resume redoes the report.")
        if exc.during == "eval":
            return (f"stopped during the evaluation of epoch {self.epoch + 1} (after step "
                    f"{self.global_step}); checkpoint written to {last}; a resume repeats that "
                    "evaluation.")
        return (f"stopped after step {self.global_step} (epoch {self.epoch + 1}, step "
                f"{self.step_in_epoch}); checkpoint written to {last}.")

    def _end_epoch(self, epoch: int, stopped_early: str) -> dict[str, float]:
        """Row, evaluation, checkpoints and history at the end of an epoch (or a budget stop)."""
        cfg, ev = self.cfg, self.env_cfg.eval
        p = self._partial
        sums = dist_env.all_reduce_sum(self.dist, [p.loss_sum, float(p.loss_count)], self.device)
        seconds = dist_env.all_reduce_max(self.dist, [p.seconds], self.device)[0]
        row: dict[str, Any] = {
            "epoch": epoch + 1,
            "train_loss": sums[0] / max(sums[1], 1),
            "train_images_per_s": p.images / max(seconds, 1e-9),
            "lr": self._lr(),
            "epoch_seconds": seconds,
        }
        complete = self.step_in_epoch >= self.steps_per_epoch
        is_last = epoch + 1 == cfg.epochs or bool(stopped_early)
        metrics: dict[str, float] = {}
        if (epoch + 1) % ev.every == 0 or is_last:
            self._pending_eval = stopped_early
            try:
                metrics = self.evaluate()
            except Interrupted:
                # Stopped between two evaluation batches. The epoch's steps are done and nothing
                # is advanced yet, so `last` can hold this point with the evaluation owed: a
                # resume repeats it (same weights, same fixed sets), which keeps the row, `best`
                # and the history exactly as an uninterrupted run has them.
                self.save_checkpoint("last")
                raise
            self._pending_eval = None
            row.update(metrics)
        if complete:
            self.epoch += 1
            self.step_in_epoch = 0
            self.images_seen += p.images
            self._partial = _Partial()
        # else: a budget stop mid-epoch keeps its position and sums, so --resume continues it
        value = metrics.get(self.metric_name)
        value = value if isinstance(value, (int, float)) and math.isfinite(value) else None
        improved = value is not None and _better(value, self.best, self.metric_mode)
        if improved:
            self.best = value
        self._epoch_metric = value
        # the row goes first: a crash before the checkpoint redoes the epoch and replaces it
        self._on_main(lambda: self._log_epoch(row))
        self.save_checkpoint("last")
        self._on_main(lambda: self._promote(improved, value is not None and complete))
        self._epoch_metric = None
        return metrics

    def _lr(self) -> float:
        """The learning rate of the next step, as the schedule computes it.

        With `train.cuda_graphs` the optimizer holds it as a float32 tensor; the schedule's own
        float keeps metrics.csv the same whichever way the step ran.
        """
        lr = self.optimizer.param_groups[0]["lr"]
        if torch.is_tensor(lr) and isinstance(self.scheduler, torch.optim.lr_scheduler.LambdaLR):
            s = self.scheduler
            return float(s.base_lrs[0] * s.lr_lambdas[0](s.last_epoch))
        return float(lr)

    def _log_epoch(self, row: dict[str, Any]) -> None:
        assert self.run_dir is not None
        try:
            append_metrics(self.run_dir / "metrics.csv", row)
        except WriteError as exc:
            raise PixelzooError(self._write_failed(exc)) from exc
        if self._writer is not None:
            for k, v in row.items():
                if k != "epoch" and isinstance(v, (int, float)):
                    self._writer.add_scalar(k if "/" in k else f"epoch/{k}", v, row["epoch"])
        shown = ", ".join(f"{k} {v:.4g}" for k, v in row.items()
                          if k not in ("epoch", "lr") and isinstance(v, float))
        self._print(f"epoch {row['epoch']}: {shown}")

    def _promote(self, improved: bool, history: bool) -> None:
        """Rank 0: link `last` to `best` and into the top-N history (no bytes rewritten)."""
        assert self.run_dir is not None
        ck = self.run_dir / "checkpoints"
        last = paths(ck / "last")
        targets = []
        if improved:
            targets.append(ck / "best")
        if history:
            targets.append(ck / f"epoch-{self.epoch:04d}")
        try:
            for stem in targets:
                atomic_link_many(zip(last, paths(stem)))
            if history:
                self._prune_history(ck)
        except WriteError as exc:
            raise CheckpointError(self._write_failed(exc)) from exc

    def _prune_history(self, ck: Path) -> None:
        """Keep the `train.keep` best epoch checkpoints by the tracked metric (ties: newest)."""
        entries = []
        for stem, meta in list_checkpoints(ck):
            if not stem.name.startswith("epoch-"):
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
        for _, _, stem in entries[self.cfg.keep:]:
            for f in paths(stem):
                f.unlink(missing_ok=True)

    def _finish(self, last_metrics: dict[str, float], stopped_early: str) -> RunResult:
        main = self.dist.is_main
        ev = self.env_cfg.eval
        assert self.run_dir is not None
        best_w, _ = paths(self.run_dir / "checkpoints" / "best")

        def read_best() -> dict[str, torch.Tensor] | None:
            if not best_w.exists():
                return None
            try:
                state, found = read_weights(best_w)
            except CheckpointError as exc:
                self._print(f"{exc}; the final table uses the last weights", "yellow")
                return None
            return state

        # the final table uses the best checkpoint when there is one
        best_state = self._on_main(read_best)
        if best_state is not None:
            apply_weights(best_w, self.model, best_state)
        # A stop signal here ends the run with the checkpoints as they are (the model now holds
        # `best`, so writing `last` would be wrong) and no summary.json; a resume redoes this.
        final = self.evaluate(ev.final_split, during="final")
        report: dict[str, Any] = {}
        if main:
            self.model.eval()
            split = getattr(self.data, ev.final_split)
            with self._stoppable("final", agreed=False):
                report = self.task.report(self.model, split.take(ev.limit), self.device,
                                          self.run_dir)
            self._print_table(final, report)
        rows = read_metrics(self.run_dir / "metrics.csv") if main else []
        summary = {
            "recipe": self.recipe.name,
            "task": self.recipe.data["task"]["type"],
            "architecture": self.model.describe() if hasattr(self.model, "describe")
            else {"model": self.recipe.data["model"]["type"]},
            "parameters": self.n_params,
            "device": str(self.device),
            "world_size": self.dist.world_size,
            "global_batch": self.global_batch,
            "seed": self.seed,
            "deterministic": self.env_cfg.deterministic,
            "epochs_completed": self.epoch,
            "steps": self.global_step,
            "images_seen": self.images_seen + self._partial.images,
            "train_seconds": self.trained_seconds,
            "train_images_per_s": (self.images_seen + self._partial.images)
            / max(self.trained_seconds, 1e-9),
            "final_train_loss": rows[-1]["train_loss"] if rows else None,
            "best_metric": {"name": self.metric_name, "mode": self.metric_mode,
                            "value": self.best},
            "final_split": ev.final_split,
            "final_metrics": final,
            "stopped_early": stopped_early or None,
            "resumed_from": str(self.resumed_from) if self.resumed_from else None,
            "bad_files": self.data.bad_files,
            "data_notes": self.data.notes,
            "torch": torch.__version__,
            **report,
        }
        if main:
            try:
                atomic_write_text(self.run_dir / "summary.json",
                                  json.dumps(summary, indent=2, default=_jsonable))
            except WriteError as exc:
                raise PixelzooError(self._write_failed(exc)) from exc
        return RunResult(self.run_dir, final, summary)

    def _close(self) -> None:
        """Undo what the run changed in this process, whatever way it ended."""
        for sig, h in self._old_handlers.items():
            signal.signal(sig, h)
        self._old_handlers = {}
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._unlock()
        restore_determinism(self._determinism)
        self._determinism = None
        dist_env.teardown(self.dist)

    def _print_table(self, final: dict[str, float], report: dict[str, Any]) -> None:
        if report.get("table_printed"):
            return
        from rich.table import Table

        table = Table(title=f"{self.recipe.name}: final metrics ({self.env_cfg.eval.final_split})")
        table.add_column("metric")
        table.add_column("value", justify="right")
        for k, v in final.items():
            table.add_row(k, f"{v:.4f}" if isinstance(v, float) else str(v))
        table.add_row("train time", f"{self.trained_seconds:.1f} s")
        table.add_row("parameters", f"{self.n_params:,}")
        self.console.print(table)
        self._print(f"run folder: {self.run_dir}")


def _jsonable(o: Any) -> Any:
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    return str(o)


def train(recipe: ResolvedRecipe, **kw: Any) -> RunResult:
    """Train and evaluate `recipe`; see `Trainer`."""
    return Trainer(recipe, **kw).fit()
