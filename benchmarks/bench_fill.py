"""Filling a batch of faces with the shipped weights: hole pixels decoded only vs every pixel (CPU).

`pixelzoo.fill_prepared` with `mean` decoding on 64 faces of 36x36 RGB, each with the same 8x10
box hole (80 of 1,296 pixels), which is one batch of `pixelzoo infill --image DIR` (batch 64).
Two cases, in one run, on the same model and images:
  hole-pixels   what the task does: scans that stop past the holes (`RowRNN.features_at`),
                then the decoder at hole pixels only
  every-pixel   `model.decode`: whole scans, all 1,296 pixels decoded, the holes kept (as before)
Both give the same fills (checked here). Run:

    PIXELZOO_BENCH_THREADS=1 python -m pytest benchmarks/bench_fill.py --benchmark-only \\
        --benchmark-timer time.process_time

Not for sampling (bench_sampling.py) or the training step (bench_shipped.py).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest
import torch

import pixelzoo
from pixelzoo.tasks import infill

FILLS: dict[str, np.ndarray] = {}


def _every_pixel(model: torch.nn.Module, tokens: torch.Tensor, pixel: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    filled, logits = model.decode(tokens)
    return filled.permute(0, 2, 3, 1)[pixel], logits.permute(0, 2, 3, 1, 4)[pixel]


@pytest.mark.parametrize("case", ["hole-pixels", "every-pixel"])
def test_fill_batch(benchmark: Any, case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if os.environ.get("PIXELZOO_BENCH_THREADS"):
        torch.set_num_threads(int(os.environ["PIXELZOO_BENCH_THREADS"]))
    if case == "every-pixel":
        monkeypatch.setattr(infill, "_decode_holes", _every_pixel)
    model = pixelzoo.create_model(weights="toon_infill")
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (64, 3, 36, 36), dtype=np.uint8)
    holes = np.zeros(images.shape, dtype=bool)
    holes[:, :, 12:20, 12:22] = True

    out = benchmark.pedantic(lambda: pixelzoo.api.fill_prepared(model, images, holes),
                             rounds=5, iterations=1, warmup_rounds=1)
    FILLS[case] = out
    if len(FILLS) == 2:
        assert np.array_equal(FILLS["hole-pixels"], FILLS["every-pixel"])
