"""RowRNN speed, reference loop vs wavefront fast path, on the seed architecture (CPU).

The training step (forward with teacher forcing, hole cross-entropy, backward, clipping, Adam)
and the no-grad forward, at several batch sizes, both paths in the same run so the ratio is
measured under the same conditions. Run:

    python -m pytest benchmarks/bench_rowrnn.py --benchmark-only \\
        --benchmark-json=bench_rowrnn.json

Environment knobs (defaults keep a CPU run to a few minutes):
  PIXELZOO_BENCH_BATCHES   batch sizes, default "1 8" (the issue's table: "1 8 64 256"; the
                           reference at 64 takes about a minute a step on 2 cores, and 256 needs
                           more memory than a small machine has for the fast path's activations)
  PIXELZOO_BENCH_THREADS   torch CPU threads (default: torch's choice)
  PIXELZOO_BENCH_ROUNDS    timed rounds per case, default 2 (reference) / 5 (wavefront)
On a shared machine, add `--benchmark-timer time.process_time` with PIXELZOO_BENCH_THREADS=1 to
time CPU work rather than the wall clock. `benchmarks/report.py` turns the JSON into the table
and the picture in docs/performance.md. The GPU counterpart is `benchmarks/gpu.py`.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import torch
from seed_setup import RESULTS, env_list, seed_batch, seed_model, set_threads, train_step

BATCHES = env_list("PIXELZOO_BENCH_BATCHES", "1 8")
IMPLS = ["reference", "wavefront"]


def rounds(impl: str) -> int:
    return int(os.environ.get("PIXELZOO_BENCH_ROUNDS", "2" if impl == "reference" else "5"))


def record(benchmark: Any, impl: str, kind: str, batch: int) -> None:
    benchmark.extra_info.update(impl=impl, kind=kind, batch=batch, threads=torch.get_num_threads(),
                                device="cpu")
    mean = benchmark.stats.stats.mean
    benchmark.extra_info["images_per_s"] = batch / mean
    RESULTS.append((benchmark.group, impl, mean))


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("batch", BATCHES)
def test_train_step(benchmark: Any, impl: str, batch: int) -> None:
    set_threads()
    model = seed_model(impl)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    data = seed_batch(batch)
    benchmark.group = f"train step, batch {batch}"
    loss = benchmark.pedantic(train_step, args=(model, opt, data), rounds=rounds(impl),
                              iterations=1, warmup_rounds=1)
    assert torch.isfinite(loss)
    record(benchmark, impl, "train", batch)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("batch", BATCHES)
def test_forward(benchmark: Any, impl: str, batch: int) -> None:
    set_threads()
    model = seed_model(impl).eval()
    tokens, images, holes = seed_batch(batch)

    def forward() -> torch.Tensor:
        with torch.no_grad():
            return model(tokens, images)

    benchmark.group = f"forward, batch {batch}"
    out = benchmark.pedantic(forward, rounds=rounds(impl), iterations=1, warmup_rounds=1)
    assert out.shape == (batch, 3, 36, 36, 258)
    record(benchmark, impl, "forward", batch)
