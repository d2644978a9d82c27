"""The training loop: one recipe in, one self-describing run folder out.

`train(recipe)` builds the parts, trains with rich progress (loss, images/s, ETA), evaluates every
`eval.every` epochs, and writes `runs/<recipe-stem>/<timestamp>/`: the resolved `config.yaml`,
`metrics.csv`, TensorBoard events, `checkpoints/{last,best}.safetensors` (plus the top-N history)
with a weights-only training state, the task's report (tables, sample PNGs) and `summary.json`.
The final evaluation also scores the recipe's extra datasets (`eval.datasets`, such as
out-of-distribution sets) with the same weights and holes: each gets its own table, pictures
(`samples/<label>/`) and `summary.json` entry (`datasets.<label>`); `best` follows the own split.

`Trainer` orchestrates; each concern has its own module in `pixelzoo/engine/`: `run_dir` (the
folder, its lock, what `--resume` continues), `checkpoint` / `checkpointing` (the files; last,
best, history), `signals` (stop requests), `optim` (optimizer and schedule), `step` (one step,
eager or from a CUDA graph), `run_log` (console, metrics.csv, TensorBoard, summary) and
`state` (what a checkpoint's training state holds and how a run takes it back) and
`callbacks` (loop behaviours chosen in the recipe, such as `ema`).

Trust is the point of this module:

- Exact resume. All randomness of a step is derived from (seed, epoch, step, rank); the data order
  comes from torch's `DistributedSampler` keyed by (seed, epoch); the checkpoint holds the
  optimizer, scheduler, per-rank RNG states, the position in the epoch, the epoch's partial
  sums and every callback's state. A resumed run therefore computes what the uninterrupted run
  would have, bit for bit on the same hardware and software (see docs/training.md for the limits).
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
  diverged, a callback's stop request) are all-reduced every step; checkpoints are collective
  (every rank's RNG state is gathered, rank 0 writes, every rank learns whether it worked).
  Evaluation: every rank evaluates the full split deterministically and every rank reports
  rank 0's numbers, so they agree exactly whatever the task's metrics are (the task API returns
  averages, not sums, so sharding the split could not be reduced exactly).
- CUDA graphs. With `train.cuda_graphs: true` on one CUDA device, the first full-size step is
  captured (forward, backward, clipping, Adam) from the task's `capture_inputs` / `capture_loss`
  split and every later one replays it; anywhere else the same recipe trains eagerly, with a
  one-line notice. Checkpoints hold one optimizer form either way, so runs resume across modes.
"""

from __future__ import annotations

import math
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import torch

from pixelzoo.augmentations import apply_augmentations, build_augmentations
from pixelzoo.engine import distributed as dist_env
from pixelzoo.engine.atomic import WriteError
from pixelzoo.engine.build import architecture, build_all, build_eval_datasets, count_parameters
from pixelzoo.engine.callbacks import Callbacks
from pixelzoo.engine.checkpoint import apply_weights, paths, read_weights, rng_state
from pixelzoo.engine.checkpointing import CheckpointSaver, better
from pixelzoo.engine.cuda_graphs import use_tensor_lr
from pixelzoo.engine.device import pick_device
from pixelzoo.engine.metrics_log import read_metrics
from pixelzoo.engine.optim import current_lr, make_optimizer, make_scheduler
from pixelzoo.engine.run_dir import RunLock, find_latest_run, open_run_dir, resume_command
from pixelzoo.engine.run_log import EpochTotals, RunLog, run_summary, say
from pixelzoo.engine.seeding import restore_determinism, seed_everything, set_deterministic
from pixelzoo.engine.signals import Interrupted, StopSignals, stoppable
from pixelzoo.engine.state import restore_state, training_state, weights_metadata
from pixelzoo.engine.step import TrainStep, epoch_order, graph_plan, step_rng
from pixelzoo.engine.threads import ThreadWatch, choose_threads
from pixelzoo.errors import CheckpointError, PixelzooError, note_run_dir
from pixelzoo.recipe import ResolvedRecipe

__all__ = ["RunResult", "Trainer", "train", "find_latest_run", "seed_everything",
           "make_optimizer", "make_scheduler", "Interrupted"]


@dataclass
class RunResult:
    run_dir: Path | None
    metrics: dict[str, float]
    summary: dict[str, Any] = field(default_factory=dict)


class Agreement(NamedTuple):
    """What every rank decides alike after a step."""

    signum: int  # a stop signal (0: none)
    over: bool  # the time budget is spent
    diverged: bool  # a non-finite loss
    requested: bool  # a callback asked to stop


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
        self.signals = StopSignals()
        self.lock = RunLock()
        self.log = RunLog(console, is_main=True, quiet=quiet)
        self.callbacks = Callbacks()
        self.scan: Any = None  # the ScanChoice of `train.fast_path`
        self.threads: Any = None  # the ThreadChoice of `train.num_threads`
        self.threads_at_start = 0  # torch's thread count once it was applied
        self._thread_watch: ThreadWatch | None = None  # `auto` only
        self._scanned = False  # whether the model has a row scan at all
        self.stepper: TrainStep | None = None
        self._determinism: Any = None
        self._totals = EpochTotals()
        self._epoch_metric: float | None = None
        self._stop_request = ""  # a callback's reason to stop (request_stop)
        # the `stopped_early` of an end-of-epoch evaluation under way (None: none is); saved in
        # the state, so a run stopped during that evaluation repeats it when resumed
        self._pending_eval: str | None = None

    # ------------------------------------------------------------------ setup
    def _setup(self) -> None:
        cfg = self.cfg
        self._set_threads()
        self.device = pick_device(cfg.device, key="train.device")
        self.dist = dist_env.setup(self.device.type)
        self.log.is_main = self.dist.is_main
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
        for note in [*self.recipe.notes, *self.data.notes]:  # an old spelling read, toon fallback
            self._note(note, "yellow")
        # scored at the final evaluation only; loaded (and their geometry checked) up front, so
        # a wrong size or a missing folder fails before any training
        self.eval_datasets = build_eval_datasets(self.recipe, self.data)
        for i, extra in enumerate(self.eval_datasets):
            if len(getattr(extra.data, self.env_cfg.eval.final_split)) == 0:
                raise PixelzooError(f"eval.datasets[{i}] ({extra.label}): its "
                                    f"{self.env_cfg.eval.final_split} split is empty")
        self.model.to(self.device)
        self._select_impl()
        # training batches only; evaluation always sees the data as it is
        self.augment = build_augmentations(self.recipe.data.get("augment"),
                                           channels=self.data.channels)
        self.callbacks = Callbacks.from_specs(self.recipe.data["train"].get("callbacks") or [])
        self.arch = architecture(self.recipe, self.model)
        self.n_params = count_parameters(self.model)
        self.train_model: torch.nn.Module = self.model
        if self.dist.enabled:
            from torch.nn.parallel import DistributedDataParallel as DDP

            # DDP copies rank 0's initial weights to every rank here
            self.train_model = DDP(self.model, device_ids=[self.device.index]
                                   if self.device.type == "cuda" else None)
        graphs = self._plan_graphs()
        self.optimizer = make_optimizer(self.model.parameters(), cfg, capturable=graphs)
        n_train = len(self.data.train)
        world = self.dist.world_size
        per_rank = cfg.batch_size // world
        if per_rank < 1:
            raise PixelzooError(f"train.batch_size: {cfg.batch_size} is smaller than the number "
                                f"of processes ({world}); the batch is global and each process "
                                "takes batch_size / world_size images")
        if per_rank * world != cfg.batch_size:
            self._note(f"train.batch_size {cfg.batch_size} does not divide over {world} "
                       f"processes: using a global batch of {per_rank * world} ({per_rank} per "
                       "process)", "yellow")
        self.per_rank_batch = per_rank
        self.global_batch = per_rank * world
        steps = n_train // self.global_batch
        if steps == 0:
            raise PixelzooError(f"train.batch_size: {cfg.batch_size} is larger than the training "
                                f"set ({n_train} images)")
        self.steps_per_epoch = min(steps, cfg.steps_per_epoch or steps)
        self.scheduler = make_scheduler(self.optimizer, cfg, self.steps_per_epoch * cfg.epochs)
        if graphs:
            use_tensor_lr(self.optimizer)  # after the scheduler: see use_tensor_lr
        self.stepper = TrainStep(
            task=self.task, model=self.model, train_model=self.train_model,
            optimizer=self.optimizer, scheduler=self.scheduler, cfg=cfg, device=self.device,
            deterministic=self.env_cfg.deterministic, graphs=graphs, batch=per_rank,
            note=lambda text: self._note(text, "yellow"))
        self.metric_name = self.env_cfg.eval.metric or self.task.primary_metric
        self.metric_mode = self.task.metric_mode(self.metric_name)
        self.epoch, self.step_in_epoch, self.global_step = 0, 0, 0
        self.best: float | None = None
        self.trained_seconds = 0.0
        self.images_seen = 0
        opened = dist_env.run_on_main(self.dist, lambda: open_run_dir(
            self.recipe, self.out_root, self.resume, self.arch, self.lock))
        for style, note in opened.notes:
            self._note(note, style)
        self.run_dir = opened.run_dir
        note_run_dir(self.run_dir)  # a bug from here on logs its traceback in the run folder
        self.saver = CheckpointSaver(self.run_dir / "checkpoints", self.arch,
                                     metric_mode=self.metric_mode, keep=cfg.keep)
        if opened.checkpoint is not None:
            self.resumed_from = opened.checkpoint.stem
            self._restore(opened.checkpoint)

    def _set_threads(self) -> None:
        """Apply `train.num_threads` (`pixelzoo.engine.threads` holds the policy: `auto` takes
        the free cores and, through `ThreadWatch`, fewer if other processes take them later)."""
        self.threads = choose_threads(self.cfg.num_threads, default=torch.get_num_threads())
        if self.threads.count is not None:
            torch.set_num_threads(self.threads.count)
        self.threads_at_start = torch.get_num_threads()
        self._thread_watch = ThreadWatch(self.threads_at_start) if self.threads.auto else None

    def _watch_threads(self) -> None:
        """Between steps: drop an `auto` thread count that now exceeds the free cores."""
        change = self._thread_watch.poll() if self._thread_watch is not None else None
        if change is not None:
            torch.set_num_threads(change[0])
            self._note(change[1], "yellow")

    def _plan_graphs(self) -> bool:
        """Whether `train.cuda_graphs` can capture the step here; else one line saying why not."""
        if not self.cfg.cuda_graphs:
            return False
        why = graph_plan(self.cfg, self.device, self.dist, self.task,
                         self.recipe.data["task"]["type"])
        if why:
            self._note(f"train.cuda_graphs: {why}", "yellow")
        return not why

    def _select_impl(self) -> None:
        """Set the model's scan for `train.fast_path` (`pixelzoo.models.scan.select` holds the
        policy); a fallback from the fast path is said in one line."""
        from pixelzoo.models.scan import has_scan, select

        self.scan = select(self.model, self.cfg.fast_path, key="train.fast_path")
        self._scanned = has_scan(self.model)
        if self.scan.notice and not self.quiet:
            self._note(self.scan.notice, "dim")

    # ------------------------------------------------------------------ for callbacks
    def note(self, text: str, style: str = "") -> None:
        """Print one line on rank 0 (plain text: paths and messages may hold [brackets])."""
        self._note(text, style)

    def request_stop(self, reason: str) -> None:
        """End training after this step (or this epoch's end), with `reason` in the summary.
        The ranks agree on it, so a callback may ask on any rank."""
        self._stop_request = self._stop_request or reason

    def _note(self, text: str, style: str = "") -> None:
        if self.dist.is_main:
            say(self.console, text, style, soft_wrap=True)

    # ------------------------------------------------------------------ checkpoints
    def _exported(self) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor] | None]:
        """(weights for the weights file, the training weights if those differ)."""
        raw = self.model.state_dict()
        out = self.callbacks.export_weights(self, raw)
        return out, (None if out is raw else raw)

    def save_checkpoint(self, name: str = "last") -> None:
        """Write checkpoint `name` (collective under torchrun: every rank must call it)."""
        ranks = dist_env.all_gather_object(self.dist, {"rng": rng_state(self.device),
                                                       "partial": self._totals.as_dict()})

        def write() -> None:
            weights, raw = self._exported()
            try:
                self.saver.write(name, weights, training_state(self, ranks, raw),
                                weights_metadata(self, self._epoch_metric))
            except WriteError as exc:
                raise CheckpointError(self._write_failed(exc)) from exc

        dist_env.run_on_main(self.dist, write)

    def _write_failed(self, exc: WriteError) -> str:
        """The message for a failed write: what failed, what survived, how to go on."""
        return (f"{exc}. Training stopped; {self.saver.kept()}. Free some space (or fix the "
                f"folder's permissions), then resume with: {self._resume_command()}")

    def _resume_command(self) -> str:
        return resume_command(self.recipe, self.run_dir, self.out_root, self.dist.enabled)

    def _restore(self, ckpt: Any) -> None:
        """Continue from checkpoint `ckpt` (read by rank 0); see `state.restore_state`."""
        for n in restore_state(self, ckpt):
            self._note(n, "yellow")
        self._note(f"resuming {self.run_dir} from {ckpt.stem.name} at epoch {self.epoch + 1}, "
                   f"step {self.step_in_epoch} (global step {self.global_step})")

    # ------------------------------------------------------------------ loop
    def _train_step(self, idx: Any, epoch: int, step: int) -> float:
        """One optimizer step on training images `idx` (this rank's share); returns the loss."""
        assert self.stepper is not None
        rng = step_rng(self.seed, epoch, step, self.dist.rank)
        batch = apply_augmentations(self.augment, self.data.train.images[idx], rng)
        images = torch.from_numpy(batch).to(self.device, non_blocking=True)
        labels = None
        if self.data.train.labels is not None:
            labels = torch.from_numpy(self.data.train.labels[idx]).to(self.device)
        return self.stepper(images, labels, rng)

    @property
    def _graph(self) -> Any:
        """The captured step (None: not captured, or eager steps)."""
        return self.stepper.graph if self.stepper is not None else None

    def _agree(self, nonfinite: bool = False) -> Agreement:
        """What every rank decides alike: stop signal, budget spent, diverged, stop requested."""
        over = bool(self.cfg.max_minutes) and \
            self.trained_seconds >= self.cfg.max_minutes * 60  # type: ignore[operator]
        flags = dist_env.all_reduce_max(
            self.dist, [float(self.signals.signum or 0), float(over), float(nonfinite),
                        float(bool(self._stop_request))], self.device)
        return Agreement(int(flags[0]), bool(flags[1]), bool(flags[2]), bool(flags[3]))

    def _requested(self) -> str:
        return self._stop_request or "a callback on another process asked to stop"

    def evaluate(self, split: str | None = None, *, during: str = "eval") -> dict[str, float]:
        """The task's metrics on `split` (eval.split by default), identical on every rank.

        A stop signal ends it between two batches with `Interrupted(signum, during)`.
        """
        ev = self.env_cfg.eval
        name = split or ev.split
        data = getattr(self.data, name)
        if len(data) == 0:
            data = self.data.test
        return self._evaluate_images(data.take(ev.limit), during)

    def _evaluate_images(self, data: Any, during: str) -> dict[str, float]:
        """`evaluate` on the images of `data` (an ImageSet), identical on every rank."""
        ev = self.env_cfg.eval
        self.model.eval()
        with stoppable(self.task, self.signals, during, agreed=True, dist=self.dist,
                       device=self.device):
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
                    say(self.console, f"rank {r} measured {', '.join(off)} differently "
                                      "(non-deterministic kernels); reporting rank 0's", "dim")
        return dict(every[0])

    def fit(self) -> RunResult:
        try:
            self._setup()
            return self._fit()
        finally:
            self._close()

    def _fit(self) -> RunResult:
        cfg = self.cfg
        main = self.dist.is_main
        assert self.run_dir is not None
        self.log.open_tensorboard(self.run_dir, self.global_step if self.resumed_from else None)
        # the run says which scan it took (summary.json too); a model without one says nothing
        scan = f", {self.scan.name} scan" if self._scanned else ""
        n = self.threads_at_start  # on a CPU, the thread count and why (summary.json too)
        threads = f" ({n} thread{'s' * (n > 1)}, {self.threads.reason})" \
            if self.device.type == "cpu" else ""
        self._note(f"{self.recipe.name}: {type(self.model).__name__} "
                   f"({self.n_params:,} parameters) on {self.device}{threads}"
                   f"{f' x {self.dist.world_size} processes' if self.dist.enabled else ''}"
                   f"{scan}, {len(self.data.train):,} training images, global batch "
                   f"{self.global_batch}, run folder {self.run_dir}", "bold")
        self.signals.install()
        self.callbacks.on_fit_start(self)
        last_metrics: dict[str, float] = {}
        stopped_early = ""
        progress = self.log.progress()
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
            if not stopped_early and self._agree().requested:  # asked in on_fit_start
                stopped_early = self._requested()
            with progress:
                while self.epoch < cfg.epochs and not stopped_early:
                    epoch = self.epoch
                    if self.mask is not None:
                        self.mask.set_epoch(epoch)
                    order = epoch_order(len(self.data.train), self.dist, self.seed, epoch)
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
                        self._watch_threads()
                        finite = math.isfinite(loss)
                        self.step_in_epoch += 1
                        self.global_step += 1
                        p = self._totals
                        p.loss_sum += loss
                        p.loss_count += 1
                        p.images += len(idx) * self.dist.world_size
                        p.seconds += dt
                        if finite:  # a diverged step stops the run below, on every rank
                            self.callbacks.on_step_end(self, loss)
                        agreed = self._agree(not finite)
                        if agreed.diverged:
                            raise PixelzooError(
                                f"training diverged: the loss is {loss} at epoch {epoch + 1}, "
                                f"step {s + 1}; lower train.optimizer.lr or set train.clip_grad, "
                                f"then resume from the last good checkpoint: "
                                f"{self._resume_command()}")
                        recent = (recent + [loss])[-cfg.log_every:]
                        if s % cfg.log_every == 0 or self.step_in_epoch == self.steps_per_epoch:
                            progress.update(bar, completed=self.step_in_epoch,
                                            loss=f"{sum(recent) / len(recent):.4f}",
                                            ips=f"{p.images / max(p.seconds, 1e-9):,.0f}")
                        self.log.scalar("train/loss_step", loss, self.global_step)
                        due = bool(cfg.checkpoint_every) and \
                            self.global_step % cfg.checkpoint_every == 0  # type: ignore[operator]
                        if due or agreed.signum:
                            self.save_checkpoint("last")
                        if agreed.signum:
                            raise Interrupted(agreed.signum)
                        if agreed.requested:
                            stopped_early = self._requested()
                            break
                        if agreed.over:
                            stopped_early = f"time budget of {cfg.max_minutes} min reached"
                            break
                    progress.update(bar, visible=False)
                    last_metrics = self._end_epoch(epoch, stopped_early)
                    agreed = self._agree()
                    if agreed.signum:  # a signal after the last evaluation batch: `last` is on disk
                        raise Interrupted(agreed.signum)
                    if agreed.requested and not stopped_early:
                        stopped_early = self._requested()
            result = self._finish(last_metrics, stopped_early)
            self.callbacks.on_fit_end(self, result)
            return result
        except Interrupted as exc:
            if main:
                say(self.console, f"\n{signal.Signals(exc.signum).name}: {self._stopped_at(exc)}",
                    "yellow")
                say(self.console, f"Resume with: {self._resume_command()}", soft_wrap=True)
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

    def _evaluate_training_state(self) -> dict[str, float]:
        """An end-of-epoch evaluation, with the callbacks' hooks around it (EMA swaps its
        weights in and out there, also when a stop signal cuts the evaluation short)."""
        self.callbacks.on_eval_start(self)
        metrics = None
        try:
            metrics = self.evaluate()
        finally:
            self.callbacks.on_eval_end(self, metrics)
        return metrics

    def _end_epoch(self, epoch: int, stopped_early: str) -> dict[str, float]:
        """Row, evaluation, checkpoints and history at the end of an epoch (or a budget stop)."""
        cfg, ev = self.cfg, self.env_cfg.eval
        p = self._totals
        sums = dist_env.all_reduce_sum(self.dist, [p.loss_sum, float(p.loss_count)], self.device)
        seconds = dist_env.all_reduce_max(self.dist, [p.seconds], self.device)[0]
        row: dict[str, Any] = {
            "epoch": epoch + 1,
            "train_loss": sums[0] / max(sums[1], 1),
            "train_images_per_s": p.images / max(seconds, 1e-9),
            "lr": current_lr(self.optimizer, self.scheduler),
            "epoch_seconds": seconds,
        }
        complete = self.step_in_epoch >= self.steps_per_epoch
        is_last = epoch + 1 == cfg.epochs or bool(stopped_early)
        metrics: dict[str, float] = {}
        if (epoch + 1) % ev.every == 0 or is_last:
            self._pending_eval = stopped_early
            try:
                metrics = self._evaluate_training_state()
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
            self._totals = EpochTotals()
        # else: a budget stop mid-epoch keeps its position and sums, so --resume continues it
        value = metrics.get(self.metric_name)
        value = value if isinstance(value, (int, float)) and math.isfinite(value) else None
        improved = value is not None and better(value, self.best, self.metric_mode)
        if improved:
            self.best = value
        self._epoch_metric = value
        self.callbacks.on_epoch_end(self, row)
        assert self.run_dir is not None
        # the row goes first: a crash before the checkpoint redoes the epoch and replaces it
        dist_env.run_on_main(self.dist, lambda: self._on_disk(self.log.epoch, self.run_dir, row))
        self.save_checkpoint("last")
        history = self.epoch if value is not None and complete else None
        dist_env.run_on_main(self.dist, lambda: self._on_disk(self.saver.promote, improved,
                                                              history, error=CheckpointError))
        self._epoch_metric = None
        return metrics

    def _on_disk(self, fn: Any, *args: Any, error: type[PixelzooError] = PixelzooError) -> Any:
        """`fn(*args)`, a failed write turned into `error` with what survived and how to go on."""
        try:
            return fn(*args)
        except WriteError as exc:
            raise error(self._write_failed(exc)) from exc

    def _finish(self, last_metrics: dict[str, float], stopped_early: str) -> RunResult:
        main = self.dist.is_main
        ev = self.env_cfg.eval
        assert self.run_dir is not None
        best_w, _ = paths(self.run_dir / "checkpoints" / "best")

        def read_best() -> dict[str, torch.Tensor] | None:
            if not best_w.exists():
                return None
            try:
                state, _ = read_weights(best_w)
            except CheckpointError as exc:
                say(self.console, f"{exc}; the final table uses the last weights", "yellow")
                return None
            return state

        # The final table uses the exported weights: the best checkpoint's when there is one,
        # else the last ones as the callbacks export them (the EMA, say).
        final_state = dist_env.run_on_main(self.dist, read_best)
        if final_state is None:
            exported, raw = self._exported()
            final_state = exported if raw is not None else None
        if final_state is not None:
            apply_weights(best_w, self.model, final_state)
        # A stop signal here ends the run with the checkpoints as they are (the model now holds
        # the exported weights, so writing `last` would be wrong) and no summary.json; a resume
        # redoes this.
        final = self.evaluate(ev.final_split, during="final")
        # the extra evaluation datasets (eval.datasets): the same weights, holes and limit on
        # each one's final split; reported beside the own split, never used for `best`
        extra: dict[str, dict[str, Any]] = {}
        for d in self.eval_datasets:
            images = getattr(d.data, ev.final_split).take(ev.limit)
            extra[d.label] = {"dataset": d.spec, "split": ev.final_split, "images": len(images),
                              "metrics": self._evaluate_images(images, "final")}
        report: dict[str, Any] = {}
        if main:
            self.model.eval()
            split = getattr(self.data, ev.final_split)
            with stoppable(self.task, self.signals, "final", agreed=False, dist=self.dist,
                           device=self.device):
                report = self.task.report(self.model, split.take(ev.limit), self.device,
                                          self.run_dir)
            if not report.get("table_printed"):
                self.log.table(f"{self.recipe.name}: final metrics ({ev.final_split})", final,
                               {"train time": f"{self.trained_seconds:.1f} s",
                                "parameters": f"{self.n_params:,}"})
            for d in self.eval_datasets:
                images = getattr(d.data, ev.final_split).take(ev.limit)
                with stoppable(self.task, self.signals, "final", agreed=False, dist=self.dist,
                               device=self.device):
                    more = self.task.report_dataset(self.model, images, self.device,
                                                    self.run_dir, d.label)
                if not more.get("table_printed"):
                    self.log.table(f"{self.recipe.name}: final metrics on '{d.label}' "
                                   f"(eval.datasets, {ev.final_split} split)",
                                   extra[d.label]["metrics"], {})
                extra[d.label].update({k: v for k, v in more.items() if k != "table_printed"})
            if not report.get("table_printed"):
                say(self.console, f"run folder: {self.run_dir}")
        rows = read_metrics(self.run_dir / "metrics.csv") if main else []
        summary = {**run_summary(self, final, stopped_early, rows), **report}
        if extra:  # per dataset: its spec, split, image count, metrics and the task's report
            summary["datasets"] = extra
        if main:
            self._on_disk(self.log.summary, self.run_dir, summary)
        return RunResult(self.run_dir, final, summary)

    def _close(self) -> None:
        """Undo what the run changed in this process, whatever way it ended."""
        self.signals.restore()
        self.log.close()
        self.lock.release()
        restore_determinism(self._determinism)
        self._determinism = None
        dist_env.teardown(self.dist)


def train(recipe: ResolvedRecipe, **kw: Any) -> RunResult:
    """Train and evaluate `recipe`; see `Trainer`."""
    return Trainer(recipe, **kw).fit()
