"""The RowRNN speed table on a GPU: reference loop vs wavefront, fp32/TF32 and bf16, CUDA graphs.

    python benchmarks/gpu.py                       # the full table on the first CUDA device
    python benchmarks/gpu.py --json gpu.json       # also write the numbers for docs
    python benchmarks/gpu.py --device cpu --size 8 --batches 1 2 --steps 1   # smoke test

Seed architecture (embed 64, hidden 96, 5 layers, linear_add, conditional decoder, 3 channels,
36x36), the infill training step of `seed_setup.py` (forward, hole cross-entropy, backward,
clipping, Adam). For every batch size it measures images/s of the training step for:
  reference            the seed's loop (cuDNN GRU per row and channel), eager
  wavefront            the fast path, eager
  wavefront+graph      the fast path with the whole step captured in one CUDA graph
each in fp32 with TF32 matmuls allowed and with bf16 autocast; and the batch-1 forward latency
(no grad) of each. It first checks on this device that the wavefront matches the reference
(forward and gradients, TF32 off). It ends with the issue's targets: >= 8,700 images/s at batch
256 in fp32/TF32, >= 20,000 images/s at batch 512 in bf16, batch-1 forward <= 5 ms.
Cases that run out of memory are reported as such and the table goes on.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path
from typing import Any, Callable

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seed_setup import infill_loss, seed_batch, seed_model, set_threads, train_step  # noqa: E402

TARGETS = [("wavefront+graph", "tf32", 256, 8700.0), ("wavefront+graph", "bf16", 512, 20000.0)]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], Any], steps: int, warmup: int, device: torch.device) -> float:
    """Seconds per call, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        fn()
    sync(device)
    return (time.perf_counter() - t0) / steps


def make_optimizer(model: torch.nn.Module, device: torch.device) -> torch.optim.Optimizer:
    if device.type == "cuda":  # capturable for graphs; the same optimizer for every case
        return torch.optim.Adam(model.parameters(), lr=1e-3, capturable=True)
    return torch.optim.Adam(model.parameters(), lr=1e-3)


def check_agreement(device: torch.device, size: int) -> float:
    """Largest relative difference, wavefront vs reference, forward and every gradient."""
    old = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    data = seed_batch(4, size, device)
    results = []
    for impl in ("reference", "wavefront"):
        model = seed_model(impl, size).to(device)
        loss = infill_loss(model, *data)
        loss.backward()
        results.append([loss.detach()] + [p.grad for p in model.parameters()])
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old
    worst = 0.0
    for a, b in zip(*results):
        worst = max(worst, ((a - b).abs().max() / a.abs().max().clamp_min(1e-30)).item())
    return worst


def train_case(impl: str, precision: str, graph: bool, batch: int, args: argparse.Namespace,
               device: torch.device) -> float:
    model = seed_model(impl, args.size).to(device)
    opt = make_optimizer(model, device)
    data = seed_batch(batch, args.size, device)
    dtype = torch.bfloat16 if precision == "bf16" else None
    if graph:
        from pixelzoo.engine.cuda_graphs import GraphedTrainStep

        step = GraphedTrainStep(model, opt, infill_loss, data, clip_grad=1.0, autocast_dtype=dtype)
        return timed(lambda: step(*data), args.steps, args.warmup, device)
    steps = args.ref_steps if impl == "reference" else args.steps
    return timed(lambda: train_step(model, opt, data, dtype), steps, args.warmup, device)


def forward_case(impl: str, precision: str, graph: bool, args: argparse.Namespace,
                 device: torch.device) -> float:
    model = seed_model(impl, args.size).to(device).eval()
    tokens, images, _ = seed_batch(1, args.size, device)
    dtype = torch.bfloat16 if precision == "bf16" else None
    if graph:
        from pixelzoo.engine.cuda_graphs import GraphedForward

        fwd = GraphedForward(lambda t, i: model(t, i), (tokens, images), autocast_dtype=dtype)
        return timed(lambda: fwd(tokens, images), args.steps * 5, args.warmup, device)

    def run() -> torch.Tensor:
        with torch.no_grad(), torch.autocast(device.type, dtype=dtype or torch.float32,
                                             enabled=dtype is not None):
            return model(tokens, images)

    return timed(run, args.steps * 5, args.warmup, device)


def guarded(fn: Callable[[], float]) -> float | str:
    try:
        return fn()
    except torch.OutOfMemoryError:
        return "OOM"
    except RuntimeError as exc:  # e.g. a capture failure: report it, keep the table going
        return f"error: {str(exc).splitlines()[0][:80]}"
    finally:  # each case's model, graph and activations go before the next case
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("--batches", type=int, nargs="+", default=[1, 8, 64, 256, 512])
    p.add_argument("--steps", type=int, default=10, help="timed steps per fast-path case")
    p.add_argument("--ref-steps", type=int, default=3, help="timed steps per reference case")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--size", type=int, default=36)
    p.add_argument("--no-tf32", action="store_true", help="measure true fp32 matmuls")
    p.add_argument("--json", type=Path, help="write the measurements here")
    args = p.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA device here: nothing to measure (use --device cpu for a smoke test)")
        return 1
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    set_threads()
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = not args.no_tf32
        name = torch.cuda.get_device_name(device)
    else:
        name = "CPU"
    fp32 = "fp32" if args.no_tf32 or not cuda else "tf32"
    print(f"device: {name}; torch {torch.__version__}; CPU threads {torch.get_num_threads()}; "
          f"image {args.size}x{args.size}, seed architecture")
    worst = check_agreement(device, min(args.size, 12))
    print(f"wavefront vs reference on this device (fp32, TF32 off): max relative difference "
          f"{worst:.2e} (forward and every gradient)")

    cases = [("reference", fp32, False), ("wavefront", fp32, False)]
    if cuda:
        cases += [("wavefront+graph", fp32, True), ("reference", "bf16", False),
                  ("wavefront", "bf16", False), ("wavefront+graph", "bf16", True)]
    rows: list[dict[str, Any]] = []
    print(f"\n{'case':<18}{'precision':<10}" + "".join(f"{b:>12}" for b in args.batches)
          + "   (training images/s)")
    for label, precision, graph in cases:
        impl = label.split("+")[0]
        cells = []
        for batch in args.batches:
            sec = guarded(lambda: train_case(impl, precision, graph, batch, args, device))
            ips = batch / sec if isinstance(sec, float) else None
            rows.append({"kind": "train", "case": label, "precision": precision,
                         "batch": batch, "seconds": sec if ips else None,
                         "images_per_s": ips, "note": None if ips else sec})
            cells.append((f"{ips:>12,.0f}" if ips >= 100 else f"{ips:>12.2f}") if ips
                         else f"{str(sec)[:11]:>12}")
        print(f"{label:<18}{precision:<10}" + "".join(cells), flush=True)

    print("\nbatch-1 forward latency (no grad):")
    for label, precision, graph in cases:
        sec = guarded(lambda: forward_case(label.split("+")[0], precision, graph, args, device))
        rows.append({"kind": "forward1", "case": label, "precision": precision, "batch": 1,
                     "seconds": sec if isinstance(sec, float) else None,
                     "note": None if isinstance(sec, float) else sec})
        shown = f"{sec * 1e3:8.2f} ms" if isinstance(sec, float) else sec
        print(f"  {label:<18}{precision:<10}{shown}")

    def ips(case: str, precision: str, batch: int) -> float | None:
        for r in rows:
            if (r["kind"], r["case"], r["precision"], r["batch"]) == ("train", case, precision,
                                                                       batch):
                return r["images_per_s"]
        return None

    print("\nspeed-up over the reference loop, same precision and batch:")
    for label, precision, _ in cases:
        if label == "reference":
            continue
        ratios = []
        for b in args.batches:
            fast, ref = ips(label, precision, b), ips("reference", precision, b)
            ratios.append(f"{fast / ref:>11.1f}x" if fast and ref else f"{'-':>12}")
        print(f"{label:<18}{precision:<10}" + "".join(ratios))

    if cuda:
        print("\ntargets (issue 9):")
        for case, precision, batch, goal in TARGETS:
            got = ips(case, precision, batch)
            verdict = "not measured" if got is None else ("met" if got >= goal else "MISSED")
            shown = f"{got:,.0f}" if got else "-"
            print(f"  {case} {precision} batch {batch}: {shown} images/s (target >= {goal:,.0f})"
                  f": {verdict}")
        lat = [r["seconds"] for r in rows if r["kind"] == "forward1" and r["seconds"]
               and r["case"] != "reference"]
        best = min(lat) if lat else None
        print(f"  batch-1 forward: {best * 1e3:.2f} ms (target <= 5 ms): "
              f"{'met' if best and best <= 5e-3 else 'MISSED'}" if best else
              "  batch-1 forward: not measured")
    if args.json:
        args.json.write_text(json.dumps({"device": name, "torch": torch.__version__,
                                         "size": args.size, "agreement": worst, "rows": rows},
                                        indent=1))
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
