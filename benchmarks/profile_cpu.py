"""Where a training step's time goes, by kind of work, against the FLOP floor (CPU).

    python benchmarks/profile_cpu.py --impl wavefront --batch 8 [--threads 1]

Profiles one seed-architecture training step (after a warm-up step) with torch.profiler and
sums self CPU time into: matrix products, gate element-wise math, gathers and scatters, and
everything else (decoder soft-max, Adam, Python between ops). It also counts the FLOPs of the
matrix products the step performed (from the products' shapes, as the profiler records them) and
prints the achieved rate next to the floor: 7.5 GFLOP per training image, the model's own
arithmetic.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seed_setup import seed_batch, seed_model, train_step  # noqa: E402

FLOOR_GFLOP_PER_IMAGE = 7.5
GEMM = {"aten::mm", "aten::bmm", "aten::addmm", "aten::baddbmm", "aten::baddbmm_",
        "aten::addmm_"}
GATHER = {"aten::index_select", "aten::index_add_", "aten::index_copy_", "aten::index",
          "aten::scatter_add_", "aten::embedding_dense_backward"}
GATES = {"aten::sigmoid", "aten::tanh", "aten::lerp", "aten::addcmul", "aten::mul", "aten::mul_",
         "aten::sub", "aten::sub_", "aten::add", "aten::add_", "aten::rsub", "aten::sigmoid_",
         "aten::tanh_"}


def gemm_flops(name: str, shapes: list) -> float:
    """FLOPs of one matrix product from its recorded input shapes."""
    try:
        if name in ("aten::mm",):
            (m, k), (_, n) = shapes[0], shapes[1]
            return 2.0 * m * k * n
        if name in ("aten::addmm", "aten::addmm_"):
            (m, k), (_, n) = shapes[1], shapes[2]
            return 2.0 * m * k * n
        if name == "aten::bmm":
            (g, m, k), (_, _, n) = shapes[0], shapes[1]
            return 2.0 * g * m * k * n
        if name in ("aten::baddbmm", "aten::baddbmm_"):
            (g, m, k), (_, _, n) = shapes[1], shapes[2]
            return 2.0 * g * m * k * n
    except (ValueError, IndexError, TypeError):
        pass
    return 0.0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--impl", default="wavefront", choices=["reference", "wavefront"])
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    model = seed_model(args.impl)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    data = seed_batch(args.batch)
    train_step(model, opt, data)  # warm-up: plans, allocator, lazy state

    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        train_step(model, opt, data)
    buckets: dict[str, float] = defaultdict(float)
    flops = 0.0
    total = 0.0
    for ev in prof.events():
        self_us = ev.self_cpu_time_total
        total += self_us
        if ev.name in GEMM:
            buckets["matrix products"] += self_us
            flops += gemm_flops(ev.name, ev.input_shapes)
        elif ev.name in GATHER:
            buckets["gathers / scatters"] += self_us
        elif ev.name in GATES:
            buckets["element-wise (gates, mostly)"] += self_us
        else:
            buckets["everything else"] += self_us
    step_s = total / 1e6
    print(f"{args.impl}, batch {args.batch}, {args.threads} thread(s): one training step, "
          f"{step_s:.3f} s of profiled CPU time")
    for k, v in sorted(buckets.items(), key=lambda kv: -kv[1]):
        print(f"  {k:<32}{v / 1e6:8.3f} s  {100 * v / total:5.1f}%")
    floor = FLOOR_GFLOP_PER_IMAGE * args.batch
    gemm_s = buckets["matrix products"] / 1e6
    print(f"matrix-product work: {flops / 1e9:.1f} GFLOP (floor: {floor:.1f} GFLOP = "
          f"{FLOOR_GFLOP_PER_IMAGE} x {args.batch}); rate inside products "
          f"{flops / 1e9 / max(gemm_s, 1e-9):.1f} GFLOP/s; whole step {floor / step_s:.1f} "
          "useful GFLOP/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
