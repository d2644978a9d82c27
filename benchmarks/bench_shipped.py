"""Training speed of the architecture pixelzoo ships: the default recipe's model and step (CPU).

`recipes/cartoon_infill.yaml`'s model (a four-direction RowRNN, embed 16, hidden 32, one layer,
`linear_add`, `independent` decoder) on 36x36 RGB at its batch of 32, and a wider variant (embed
32, hidden 64); the step is the trainer's: `InfillTask.training_loss` with the recipe's mixture
of training holes (the decoder at hole pixels only), backward, clipping at 1.0 and Adam, in
float32 and under `train.precision: bf16`'s autocast. The images are random (a step's cost does
not depend on the pixel values); the holes are drawn per round from a fixed seed sequence, so
every run times the same holes. Run:

    PIXELZOO_BENCH_THREADS=1 python -m pytest benchmarks/bench_shipped.py --benchmark-only \\
        --benchmark-timer time.process_time --benchmark-json=shipped.json

The file builds everything through the recipe and the registry, and picks the fast path with
`pixelzoo.models.scan.select` or, in a checkout from before that module (commit 230bbae), the
old `model.impl = "wavefront"`: so the same file, run with `PYTHONPATH` set to each checkout in
turn, gives the before/after table of docs/performance.md (`benchmarks/shipped_ratio.py`
prints it from the JSON files). Not for the reference loop (bench_rowrnn.py has it) or the GPU.

Environment knobs:
  PIXELZOO_BENCH_THREADS   torch CPU threads (default: torch's choice)
  PIXELZOO_BENCH_ROUNDS    timed rounds per case, default 5
  PIXELZOO_BENCH_WIDTHS    "shipped wide" (default) or either one
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml

import pixelzoo
from pixelzoo.recipe import build_part

RECIPE = Path(__file__).resolve().parent.parent / "recipes" / "cartoon_infill.yaml"
WIDTHS = {"shipped": {}, "wide": {"embed": 32, "hidden": 64}}
CHOSEN = os.environ.get("PIXELZOO_BENCH_WIDTHS", "shipped wide").split()
SIZE, CHANNELS = 36, 3


def _threads() -> int:
    n = os.environ.get("PIXELZOO_BENCH_THREADS")
    if n:
        torch.set_num_threads(int(n))
    return torch.get_num_threads()


def _use_wavefront(model: Any) -> None:
    if importlib.util.find_spec("pixelzoo.models.scan") is not None:
        from pixelzoo.models.scan import select

        assert select(model, "wavefront").name == "wavefront"
    else:  # a checkout from before `select` (the baseline of the ratio table)
        model.impl = "wavefront"


def shipped_setup(width: str, batch: int) -> tuple[Any, Any, torch.Tensor]:
    """(task, model, images) for the default recipe's model, widened by WIDTHS[width]."""
    recipe = yaml.safe_load(RECIPE.read_text(encoding="utf-8"))
    data = types.SimpleNamespace(channels=CHANNELS, height=SIZE, width=SIZE, num_classes=None)
    mask = build_part("masks", recipe["mask"], channels=CHANNELS, height=SIZE, width=SIZE)
    task = build_part("tasks", {"type": "infill", "loss": "holes"}, data=data, mask=mask,
                      eval_config=None)
    torch.manual_seed(0)
    model = build_part("models", {**recipe["model"], **WIDTHS[width]}, **task.model_kwargs())
    _use_wavefront(model)
    images = torch.randint(0, 256, (batch, CHANNELS, SIZE, SIZE), dtype=torch.uint8,
                           generator=torch.Generator().manual_seed(1))
    return task, model.train(), images


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
@pytest.mark.parametrize("width", CHOSEN)
def test_train_step(benchmark: Any, width: str, precision: str) -> None:
    threads = _threads()
    recipe = yaml.safe_load(RECIPE.read_text(encoding="utf-8"))
    batch = int(recipe["train"]["batch_size"])
    task, model, images = shipped_setup(width, batch)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    counter = itertools.count()

    def step() -> torch.Tensor:
        rng = np.random.default_rng([0, 0, next(counter), 0])  # as the trainer's step_rng
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss, _ = task.training_loss(model, images, None, rng)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.detach()

    benchmark.group = f"{width} model, {precision}, batch {batch}, {threads} thread(s)"
    loss = benchmark.pedantic(step, rounds=int(os.environ.get("PIXELZOO_BENCH_ROUNDS", "5")),
                              iterations=1, warmup_rounds=2)
    assert torch.isfinite(loss)
    median = benchmark.stats.stats.median
    benchmark.extra_info.update(width=width, precision=precision, batch=batch, threads=threads,
                                images_per_s=batch / median,
                                checkout=str(Path(pixelzoo.__file__).resolve().parent.parent))
