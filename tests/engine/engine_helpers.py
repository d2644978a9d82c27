"""Helpers for the engine tests: a tiny digits recipe, ways to run the command line (in this
process or in a subprocess) and to read a run folder back. Imported by plain name, since pytest
puts this folder on sys.path, so the tests work however pytest is started."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

# Four epochs of six steps on 96 digits: fast (well under a second of training on one core) but
# with every moving part: warm-up LR schedule, Adam state, step checkpoints every 4 steps,
# evaluation each epoch, best and history checkpoints chosen by validation loss.
TINY = """\
seed: 3
dataset: {type: digits, limit: 96}
model: {type: rowrnn, embed: 8, hidden: 8, layers: 1, directions: 1}
task: {type: classification}
train:
  epochs: 4
  batch_size: 16
  num_threads: 1
  fast_path: reference  # the engine is under test here, not the fast path
  checkpoint_every: 4
  optimizer: {type: adam, lr: 0.01}
  scheduler: {type: constant, warmup_steps: 3}
eval: {limit: 24, metric: loss}
"""
STEPS_PER_EPOCH = 6
# columns of metrics.csv that depend on the clock, not on the computation
TIMING = ("train_images_per_s", "epoch_seconds")


def write_recipe(folder: Path, text: str = TINY, name: str = "tiny") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path


def run_once(recipe: Path, out: Path, *overrides: str, resume: str | None = None) -> Any:
    """Train in this process; returns the RunResult."""
    from pixelzoo.engine.trainer import train
    from pixelzoo.recipe import load_recipe

    return train(load_recipe(recipe, list(overrides)), out_root=out, resume=resume, quiet=True)


def run_dirs(out: Path, name: str = "tiny") -> list[Path]:
    base = out / name
    return sorted(p for p in base.iterdir() if p.is_dir()) if base.is_dir() else []


def weights(run_dir: Path, name: str = "last") -> dict[str, Any]:
    from safetensors.torch import load_file

    return load_file(str(run_dir / "checkpoints" / f"{name}.safetensors"))


def state(run_dir: Path, name: str = "last") -> dict[str, Any]:
    import torch

    return torch.load(run_dir / "checkpoints" / f"{name}.state.pt", weights_only=True)


def rows(run_dir: Path) -> list[dict[str, str]]:
    """metrics.csv rows as written (strings), without the clock-dependent columns."""
    import csv

    with open(run_dir / "metrics.csv", newline="") as fh:
        return [{k: v for k, v in r.items() if k not in TIMING} for r in csv.DictReader(fh)]


def assert_same_weights(a: dict[str, Any], b: dict[str, Any]) -> None:
    import torch

    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), f"tensor {k} differs"


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 240,
        cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`python -m pixelzoo ARGS` in a subprocess."""
    return subprocess.run([sys.executable, "-m", "pixelzoo", *args], capture_output=True,
                          text=True, timeout=timeout, env=subprocess_env(env), cwd=cwd)


def subprocess_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.setdefault("OMP_NUM_THREADS", "1")
    env["COLUMNS"] = "200"  # rich wraps long lines at 80 columns otherwise
    env.update(extra or {})
    return env
