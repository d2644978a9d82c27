"""The run folder: where a run writes, who may write there, and what `--resume` continues.

- `new_run_dir` makes `runs/<recipe-stem>/<timestamp>[-n]`; `find_latest_run` finds the newest
  one of a recipe that holds a checkpoint (`--resume auto`).
- `RunLock` holds an advisory lock on the folder, so two runs never write into it at once.
- `open_run_dir` (rank 0) resolves `--resume` (auto, a run folder or one checkpoint), creates or
  locks the folder, clears temporary files an interrupted write left, reads the checkpoint to
  continue, drops metrics rows newer than it, notes how the recipe changed and writes
  `config.yaml`.
- `resume_command` is the command line that continues a run, for messages.

Not for the checkpoints' contents (`checkpoint.py`) or the choice between them
(`checkpointing.py`).
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pixelzoo.engine.atomic import WriteError, atomic_write_text, remove_stale_temp_files
from pixelzoo.engine.checkpoint import Checkpoint, paths, read_checkpoint, stem_of
from pixelzoo.engine.checkpointing import newest_good
from pixelzoo.engine.metrics_log import truncate_metrics
from pixelzoo.errors import CheckpointError, PixelzooError
from pixelzoo.recipe import ResolvedRecipe

LOCK_NAME = ".pixelzoo.lock"


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


class RunLock:
    """An exclusive advisory lock on a run folder, held from `acquire` to `release`."""

    def __init__(self) -> None:
        self._fd: int | None = None

    def acquire(self, run_dir: Path) -> None:
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
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the flock
            self._fd = None


def resolve_resume(resume: str | None, out_root: Path, recipe_name: str,
                   notes: list[tuple[str, str]]) -> tuple[Path | None, Path | None]:
    """(run folder to continue or None for a new one, checkpoint stem if named exactly)."""
    r = resume
    if not r:
        return None, None
    if r == "auto":
        found = find_latest_run(out_root, recipe_name)
        if found is None:
            notes.append(("dim", f"--resume auto: no earlier run of {recipe_name} "
                                 f"under {out_root}; starting a new one"))
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
    notes.append(("dim", f"{stem.name} is not inside a run folder: continuing it in a new one"))
    return None, stem


def recipe_changes(saved: Path, now: dict[str, Any], limit: int = 8) -> list[str]:
    """`key: old -> new` for each difference between a run's config.yaml and recipe `now`."""
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

    walk(old, now, "")
    return out[:limit]


@dataclass
class OpenedRun:
    """What `open_run_dir` found: the folder, the checkpoint to continue (or None), notes."""

    run_dir: Path
    checkpoint: Checkpoint | None
    notes: list[tuple[str, str]] = field(default_factory=list)


def open_run_dir(recipe: ResolvedRecipe, out_root: Path, resume: str | None,
                 architecture: dict[str, Any], lock: RunLock) -> OpenedRun:
    """Rank 0: find or create the run folder, lock it, and read the checkpoint to resume."""
    notes: list[tuple[str, str]] = []
    run_dir, strict_stem = resolve_resume(resume, out_root, recipe.name, notes)
    fresh = run_dir is None
    if run_dir is None:
        run_dir = new_run_dir(out_root, recipe.name)
    ck = run_dir / "checkpoints"
    try:
        ck.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(ck, exc) from exc
    lock.acquire(run_dir)
    removed = remove_stale_temp_files(ck)
    if removed:
        notes.append(("dim", f"removed {len(removed)} unfinished temporary file(s) left by "
                             f"an interrupted write: {', '.join(p.name for p in removed)}"))
    checkpoint = None
    if strict_stem is not None:
        checkpoint = read_checkpoint(strict_stem, architecture)
    elif not fresh:
        checkpoint = newest_good(ck, architecture, notes)
    if checkpoint is not None:
        epoch = int(checkpoint.state["epoch"])
        dropped = truncate_metrics(run_dir / "metrics.csv", epoch) if not fresh else 0
        if dropped:
            notes.append(("yellow", f"metrics.csv: dropped {dropped} row(s) after epoch "
                                    f"{epoch}, newer than the checkpoint resumed from"))
        changed = recipe_changes(run_dir / "config.yaml", recipe.data)
        if changed:
            notes.append(("yellow", "the recipe differs from the run's config.yaml: "
                          + "; ".join(changed)))
    atomic_write_text(run_dir / "config.yaml", recipe.to_yaml())
    return OpenedRun(run_dir, checkpoint, notes)


def resume_command(recipe: ResolvedRecipe, run_dir: Path | None, out_root: Path,
                   distributed: bool = False) -> str:
    """The command line that continues the run in `run_dir`."""
    parts = ["pixelzoo", "run", shlex.quote(str(recipe.source or "RECIPE"))]
    for o in recipe.overrides:
        parts += ["--set", shlex.quote(o)]
    parts += ["--resume", shlex.quote(str(run_dir))]
    if out_root != Path("runs"):
        parts += ["--out", shlex.quote(str(out_root))]
    cmd = " ".join(parts)
    if distributed:
        cmd = "torchrun [the same torchrun options] -m " + cmd
    return cmd
