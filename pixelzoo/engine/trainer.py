"""The training loop: one recipe in, one self-describing run folder out.

`train(recipe)` builds the parts, trains with rich progress (loss, images/s, ETA), evaluates every
`eval.every` epochs, and writes `runs/<recipe-stem>/<timestamp>/`: the resolved `config.yaml`,
`metrics.csv`, TensorBoard events, `checkpoints/{last,best}.safetensors` with a weights-only
training state, the task's report (tables, sample PNGs) and `summary.json`. All randomness of a
step is derived from (seed, epoch, step, rank), so a resumed run continues exactly where the
interrupted one would have gone.
"""

from __future__ import annotations

import json
import math
import os
import signal
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pixelzoo.engine import distributed as dist_env
from pixelzoo.engine.atomic import atomic_write_text
from pixelzoo.engine.build import architecture, build_all, count_parameters
from pixelzoo.engine.checkpoint import (load_state, load_weights, rng_state, save_state,
                                        save_weights, set_rng_state)
from pixelzoo.engine.metrics_log import append_metrics, read_metrics
from pixelzoo.errors import CheckpointError, PixelzooError
from pixelzoo.recipe import ResolvedRecipe


@dataclass
class RunResult:
    run_dir: Path | None
    metrics: dict[str, float]
    summary: dict[str, Any] = field(default_factory=dict)


class Interrupted(Exception):
    """Raised inside the loop after SIGINT/SIGTERM, once the current step has finished."""


def pick_device(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise PixelzooError("train.device: 'cuda' was asked for but no CUDA device is available "
                            "(use device: auto)")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def seed_everything(seed: int, rank: int = 0) -> None:
    import random

    s = seed + 1000 * rank
    random.seed(s)
    np.random.seed(s % (2**32))
    torch.manual_seed(s)


def new_run_dir(root: Path, stem: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = root / stem / stamp
    n = 1
    while path.exists():
        n += 1
        path = root / stem / f"{stamp}-{n}"
    return path


def find_latest_run(root: Path, stem: str) -> Path | None:
    base = root / stem
    if not base.is_dir():
        return None
    runs = sorted(p for p in base.iterdir()
                  if p.is_dir() and (p / "checkpoints" / "last.state.pt").exists())
    return runs[-1] if runs else None


def make_optimizer(params: Any, cfg: Any) -> torch.optim.Optimizer:
    o = cfg.optimizer
    if o.type == "adam":
        return torch.optim.Adam(params, lr=o.lr, weight_decay=o.weight_decay)
    if o.type == "adamw":
        return torch.optim.AdamW(params, lr=o.lr, weight_decay=o.weight_decay)
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
        self._stop_signal: int | None = None

    # ------------------------------------------------------------------ setup
    def _setup(self) -> None:
        cfg = self.cfg
        if cfg.num_threads:
            torch.set_num_threads(cfg.num_threads)
        self.device = pick_device(cfg.device)
        self.dist = dist_env.setup(self.device.type)
        if self.dist.enabled and self.device.type == "cuda":
            self.device = torch.device("cuda", self.dist.local_rank)
        seed = self.env_cfg.seed
        seed_everything(seed, self.dist.rank)
        if self.env_cfg.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=False)
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        if self.device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = cfg.tf32
            torch.backends.cudnn.allow_tf32 = cfg.tf32

        parts = build_all(self.recipe)
        self.data, self.mask, self.task, self.model = parts.data, parts.mask, parts.task, parts.model
        if self.dist.is_main:
            for note in self.data.notes:
                self.console.print(f"[yellow]{note}[/yellow]")
        self.model.to(self.device)
        self._select_impl()
        self.arch = architecture(self.recipe, self.model)
        self.n_params = count_parameters(self.model)
        self.train_model: torch.nn.Module = self.model
        if self.dist.enabled:
            from torch.nn.parallel import DistributedDataParallel as DDP

            self.train_model = DDP(self.model, device_ids=[self.device.index]
                                   if self.device.type == "cuda" else None)
        self.optimizer = make_optimizer(self.model.parameters(), cfg)
        n_train = len(self.data.train)
        per_rank = max(1, cfg.batch_size // self.dist.world_size)
        self.per_rank_batch = per_rank
        steps = n_train // (per_rank * self.dist.world_size)
        if steps == 0:
            raise PixelzooError(f"train.batch_size: {cfg.batch_size} is larger than the training "
                                f"set ({n_train} images)")
        self.steps_per_epoch = min(steps, cfg.steps_per_epoch or steps)
        self.scheduler = make_scheduler(self.optimizer, cfg, self.steps_per_epoch * cfg.epochs)
        self.metric_name = self.env_cfg.eval.metric or self.task.default_metric
        self.metric_mode = self.task.metric_mode(self.metric_name)
        self.epoch, self.step_in_epoch, self.global_step = 0, 0, 0
        self.best: float | None = None
        self.trained_seconds = 0.0
        self.images_seen = 0
        self._prepare_run_dir()

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
                self.console.print(f"[dim]fast path unavailable ({why}); "
                                   "using the reference loop[/dim]")
        else:
            self.model.impl = mode

    def _prepare_run_dir(self) -> None:
        resume = self.resume
        self.run_dir: Path | None = None
        ckpt: Path | None = None
        if resume:
            if resume == "auto":
                found = find_latest_run(self.out_root, self.recipe.name)
                if found is not None:
                    self.run_dir, ckpt = found, found / "checkpoints" / "last"
                elif self.dist.is_main:
                    self.console.print("[dim]--resume auto: no earlier run found; "
                                       "starting a new one[/dim]")
            else:
                p = Path(resume)
                if p.is_dir():
                    self.run_dir, ckpt = p, p / "checkpoints" / "last"
                else:
                    stem = p.name.removesuffix(".safetensors").removesuffix(".state.pt")
                    ckpt = p.parent / stem
                    self.run_dir = p.parent.parent
                if not (ckpt.with_suffix(".state.pt")).exists():
                    raise CheckpointError(f"--resume {resume}: no training state at "
                                          f"{ckpt.with_suffix('.state.pt')}")
        if self.run_dir is None:
            path = new_run_dir(self.out_root, self.recipe.name) if self.dist.is_main else None
            self.run_dir = Path(dist_env.broadcast_object(self.dist, str(path) if path else ""))
        if self.dist.is_main:
            (self.run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.run_dir / "config.yaml", self.recipe.to_yaml())
        dist_env.barrier(self.dist)
        if ckpt is not None:
            self._load_checkpoint(ckpt)

    # ------------------------------------------------------------------ checkpoints
    def _state(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch, "step_in_epoch": self.step_in_epoch,
            "global_step": self.global_step, "best": self.best,
            "metric": self.metric_name, "trained_seconds": self.trained_seconds,
            "images_seen": self.images_seen,
            "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
            "rng": rng_state(),
        }

    def save_checkpoint(self, name: str) -> None:
        if not self.dist.is_main or self.run_dir is None:
            return
        ck = self.run_dir / "checkpoints"
        save_weights(ck / f"{name}.safetensors", self.model, self.arch)
        save_state(ck / f"{name}.state.pt", self._state())

    def _load_checkpoint(self, stem: Path) -> None:
        load_weights(stem.with_suffix(".safetensors"), self.model, self.arch)
        state = load_state(stem.with_suffix(".state.pt"))
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.epoch, self.step_in_epoch = state["epoch"], state["step_in_epoch"]
        self.global_step, self.best = state["global_step"], state["best"]
        self.trained_seconds = state.get("trained_seconds", 0.0)
        self.images_seen = state.get("images_seen", 0)
        set_rng_state(state["rng"])
        if self.dist.is_main:
            self.console.print(f"resuming {self.run_dir} at epoch {self.epoch + 1}, "
                               f"step {self.step_in_epoch}")

    # ------------------------------------------------------------------ loop
    def _epoch_order(self, epoch: int) -> np.ndarray:
        """This rank's sample order for `epoch`, as torch's DistributedSampler gives it."""
        from torch.utils.data import DistributedSampler

        sampler = DistributedSampler(range(len(self.data.train)), num_replicas=self.dist.world_size,
                                     rank=self.dist.rank, shuffle=True, seed=self.env_cfg.seed,
                                     drop_last=True)
        sampler.set_epoch(epoch)
        return np.fromiter(iter(sampler), dtype=np.int64)

    def _step_rng(self, epoch: int, step: int) -> np.random.Generator:
        return np.random.default_rng([self.env_cfg.seed, epoch, step, self.dist.rank])

    def _train_step(self, idx: np.ndarray, epoch: int, step: int) -> float:
        images = torch.from_numpy(self.data.train.images[idx]).to(self.device, non_blocking=True)
        labels = None
        if self.data.train.labels is not None:
            labels = torch.from_numpy(self.data.train.labels[idx]).to(self.device)
        self.train_model.train()
        autocast = torch.autocast(self.device.type, dtype=torch.bfloat16,
                                  enabled=self.cfg.precision == "bf16")
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

    def _install_signals(self) -> dict[int, Any]:
        old = {}

        def handler(signum: int, frame: Any) -> None:
            if self._stop_signal is not None:  # a second Ctrl-C: stop now
                raise KeyboardInterrupt
            self._stop_signal = signum

        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                old[sig] = signal.signal(sig, handler)
            except ValueError:  # not the main thread
                pass
        return old

    def evaluate(self, split: str | None = None) -> dict[str, float]:
        ev = self.env_cfg.eval
        name = split or ev.split
        data = getattr(self.data, name)
        if len(data) == 0:
            data = self.data.test
        data = data.take(ev.limit)
        self.model.eval()
        return self.task.evaluate(self.model, data, self.device, ev.batch_size)

    def fit(self) -> RunResult:
        self._setup()
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)

        cfg, ev = self.cfg, self.env_cfg.eval
        main = self.dist.is_main
        writer = None
        if main:
            try:
                from torch.utils.tensorboard import SummaryWriter

                writer = SummaryWriter(str(self.run_dir / "tensorboard"))
            except ImportError:  # TensorBoard is optional at run time
                writer = None
            self.console.print(
                f"[bold]{self.recipe.name}[/bold]: {type(self.model).__name__} "
                f"({self.n_params:,} parameters) on {self.device}, "
                f"{len(self.data.train):,} training images, run folder {self.run_dir}")
        deadline = (time.monotonic() + cfg.max_minutes * 60 - self.trained_seconds
                    if cfg.max_minutes else None)
        old_handlers = self._install_signals()
        last_metrics: dict[str, float] = {}
        stopped_early = ""
        progress = Progress(TextColumn("[bold]epoch {task.fields[epoch]}"), BarColumn(),
                            MofNCompleteColumn(), TextColumn("loss {task.fields[loss]}"),
                            TextColumn("{task.fields[ips]} img/s"), TimeElapsedColumn(),
                            TimeRemainingColumn(), console=self.console,
                            disable=self.quiet or not main, transient=False)
        try:
            with progress:
                while self.epoch < cfg.epochs:
                    epoch = self.epoch
                    if self.mask is not None:
                        self.mask.set_epoch(epoch)
                    order = self._epoch_order(epoch)
                    bar = progress.add_task("train", total=self.steps_per_epoch, epoch=epoch + 1,
                                            loss="-", ips="-", completed=self.step_in_epoch)
                    t0 = time.perf_counter()
                    losses, n_images = [], 0
                    while self.step_in_epoch < self.steps_per_epoch:
                        s = self.step_in_epoch
                        idx = order[s * self.per_rank_batch:(s + 1) * self.per_rank_batch]
                        loss = self._train_step(idx, epoch, s)
                        if not math.isfinite(loss):
                            raise PixelzooError(f"training diverged: loss is {loss} at epoch "
                                                f"{epoch + 1}, step {s + 1}; lower "
                                                "train.optimizer.lr or set train.clip_grad")
                        losses.append(loss)
                        n_images += len(idx) * self.dist.world_size
                        self.step_in_epoch += 1
                        self.global_step += 1
                        elapsed = time.perf_counter() - t0
                        if s % cfg.log_every == 0 or self.step_in_epoch == self.steps_per_epoch:
                            progress.update(bar, completed=self.step_in_epoch,
                                            loss=f"{np.mean(losses[-cfg.log_every:]):.4f}",
                                            ips=f"{n_images / max(elapsed, 1e-9):,.0f}")
                        if writer is not None:
                            writer.add_scalar("train/loss_step", loss, self.global_step)
                        if cfg.checkpoint_every and self.global_step % cfg.checkpoint_every == 0:
                            self.save_checkpoint("last")
                        if self._stop_signal is not None:
                            raise Interrupted
                        if deadline is not None and time.monotonic() > deadline:
                            stopped_early = f"time budget of {cfg.max_minutes} min reached"
                            break
                    epoch_seconds = time.perf_counter() - t0
                    self.trained_seconds += epoch_seconds
                    self.images_seen += n_images
                    loss_sum = dist_env.all_reduce_sum(
                        self.dist, [float(np.sum(losses)), float(len(losses))], self.device)
                    row: dict[str, Any] = {
                        "epoch": epoch + 1,
                        "train_loss": loss_sum[0] / max(loss_sum[1], 1),
                        "train_images_per_s": n_images / max(epoch_seconds, 1e-9),
                        "lr": self.optimizer.param_groups[0]["lr"],
                        "epoch_seconds": epoch_seconds,
                    }
                    is_last = epoch + 1 == cfg.epochs or bool(stopped_early)
                    if (epoch + 1) % ev.every == 0 or is_last:
                        last_metrics = self.evaluate()
                        row.update(last_metrics)
                    self.epoch += 1
                    self.step_in_epoch = 0
                    progress.update(bar, visible=False)
                    if main:
                        self._log_epoch(row, writer)
                    self._maybe_best(last_metrics if (epoch + 1) % ev.every == 0 or is_last
                                     else {})
                    self.save_checkpoint("last")
                    self._keep_history()
                    if stopped_early:
                        break
        except Interrupted:
            self.save_checkpoint("last")
            signum = self._stop_signal or signal.SIGINT
            if main:
                self.console.print(
                    f"\n[yellow]{signal.Signals(signum).name}: stopped after step "
                    f"{self.global_step}; checkpoint written.[/yellow]\nResume with: "
                    f"pixelzoo run {self.recipe.source or 'RECIPE'} --resume {self.run_dir}")
            raise SystemExit(128 + signum) from None
        finally:
            for sig, h in old_handlers.items():
                signal.signal(sig, h)
            if writer is not None:
                writer.close()
        return self._finish(last_metrics, stopped_early)

    def _log_epoch(self, row: dict[str, Any], writer: Any) -> None:
        assert self.run_dir is not None
        append_metrics(self.run_dir / "metrics.csv", row)
        if writer is not None:
            for k, v in row.items():
                if k != "epoch" and isinstance(v, (int, float)):
                    writer.add_scalar(k if "/" in k else f"epoch/{k}", v, row["epoch"])
        shown = ", ".join(f"{k} {v:.4g}" for k, v in row.items()
                          if k not in ("epoch", "lr") and isinstance(v, float))
        self.console.print(f"epoch {row['epoch']}: {shown}")

    def _maybe_best(self, metrics: dict[str, float]) -> None:
        value = metrics.get(self.metric_name)
        if value is None or not math.isfinite(value):
            return
        better = (self.best is None or (value > self.best if self.metric_mode == "max"
                                        else value < self.best))
        if better:
            self.best = value
            self.save_checkpoint("best")

    def _keep_history(self) -> None:
        """Keep the last `train.keep` epoch checkpoints as `epoch-NNNN.*` beside last/best."""
        if not self.dist.is_main or self.run_dir is None:
            return
        ck = self.run_dir / "checkpoints"
        name = f"epoch-{self.epoch:04d}"
        for suffix in (".safetensors", ".state.pt"):
            src = ck / f"last{suffix}"
            dst = ck / f"{name}{suffix}"
            if src.exists():
                try:
                    if dst.exists():
                        dst.unlink()
                    os.link(src, dst)  # a hard link: no copy, and `last` is replaced atomically
                except OSError:
                    import shutil

                    shutil.copyfile(src, dst)
        history = sorted(ck.glob("epoch-*.safetensors"))
        for old in history[:-self.cfg.keep]:
            old.unlink(missing_ok=True)
            old.with_name(old.name.replace(".safetensors", ".state.pt")).unlink(missing_ok=True)

    def _finish(self, last_metrics: dict[str, float], stopped_early: str) -> RunResult:
        main = self.dist.is_main
        ev = self.env_cfg.eval
        # the final table uses the best checkpoint when there is one
        best_path = self.run_dir / "checkpoints" / "best.safetensors" if self.run_dir else None
        dist_env.barrier(self.dist)
        if best_path is not None and best_path.exists():
            load_weights(best_path, self.model, self.arch)
        final = self.evaluate(ev.final_split)
        report: dict[str, Any] = {}
        if main:
            self.model.eval()
            split = getattr(self.data, ev.final_split)
            report = self.task.report(self.model, split.take(ev.limit), self.device, self.run_dir)
            self._print_table(final, report)
        rows = read_metrics(self.run_dir / "metrics.csv") if main and self.run_dir else []
        summary = {
            "recipe": self.recipe.name,
            "task": self.recipe.data["task"]["type"],
            "architecture": self.model.describe() if hasattr(self.model, "describe")
            else {"model": self.recipe.data["model"]["type"]},
            "parameters": self.n_params,
            "device": str(self.device),
            "world_size": self.dist.world_size,
            "epochs_completed": self.epoch,
            "steps": self.global_step,
            "images_seen": self.images_seen,
            "train_seconds": self.trained_seconds,
            "train_images_per_s": self.images_seen / max(self.trained_seconds, 1e-9),
            "final_train_loss": rows[-1]["train_loss"] if rows else None,
            "best_metric": {"name": self.metric_name, "mode": self.metric_mode,
                            "value": self.best},
            "final_split": ev.final_split,
            "final_metrics": final,
            "stopped_early": stopped_early or None,
            "bad_files": self.data.bad_files,
            "data_notes": self.data.notes,
            "torch": torch.__version__,
            **report,
        }
        if main and self.run_dir is not None:
            atomic_write_text(self.run_dir / "summary.json",
                              json.dumps(summary, indent=2, default=_jsonable))
        dist_env.teardown(self.dist)
        return RunResult(self.run_dir, final, summary)

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
        self.console.print(f"run folder: {self.run_dir}")


def _jsonable(o: Any) -> Any:
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    return str(o)


def train(recipe: ResolvedRecipe, **kw: Any) -> RunResult:
    """Train and evaluate `recipe`; see `Trainer`."""
    return Trainer(recipe, **kw).fit()
