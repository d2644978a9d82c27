"""Tables and the throughput picture for docs/performance.md, from saved benchmark JSON.

    python benchmarks/report.py --cpu bench_rowrnn.json [--sampling bench_sampling.json] \\
        [--gpu gpu.json] [--png docs/performance_throughput.png]

--cpu and --sampling are pytest-benchmark JSON files (`--benchmark-json`) of
benchmarks/bench_rowrnn.py and benchmarks/bench_sampling.py; --gpu is the JSON written by
`benchmarks/gpu.py --json`. Prints markdown tables (reference vs wavefront with ratios) and draws
images/s against batch size for both paths (log-log), one panel per measured device.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Any


def load_cpu(path: Path) -> dict[tuple[str, str, int], float]:
    """(kind, impl, batch) -> mean seconds per call."""
    data = json.loads(path.read_text())
    out = {}
    for bench in data["benchmarks"]:
        info = bench["extra_info"]
        out[(info["kind"], info["impl"], int(info["batch"]))] = bench["stats"]["mean"]
    return out


def cpu_table(times: dict[tuple[str, str, int], float]) -> str:
    lines = ["| batch | step | reference | wavefront | speed-up |", "|---:|---|---:|---:|---:|"]
    batches = sorted({b for _, _, b in times})
    for kind, label in (("train", "train step"), ("forward", "forward (no grad)")):
        for b in batches:
            ref, fast = times.get((kind, "reference", b)), times.get((kind, "wavefront", b))
            if ref is None or fast is None:
                continue
            lines.append(f"| {b} | {label} | {ref * 1e3:,.0f} ms ({b / ref:.2f} img/s) | "
                         f"{fast * 1e3:,.0f} ms ({b / fast:.2f} img/s) | {ref / fast:.1f}x |")
    return "\n".join(lines)


def sampling_table(path: Path) -> str:
    data = json.loads(path.read_text())
    means = {b["extra_info"]["case"]: b["stats"]["mean"] for b in data["benchmarks"]}
    inc = means.get("incremental")
    lines = ["| sampler | time | incremental is faster by |", "|---|---:|---:|"]
    for case, sec in means.items():
        ratio = f"{sec / inc:.0f}x" if inc and case != "incremental" else "-"
        lines.append(f"| {case} | {sec * 1e3:,.0f} ms | {ratio} |")
    return "\n".join(lines)


def gpu_table(path: Path) -> str:
    data = json.loads(path.read_text())
    rows = [r for r in data["rows"] if r["kind"] == "train"]
    batches = sorted({r["batch"] for r in rows})
    head = "| case | precision | " + " | ".join(f"batch {b}" for b in batches) + " |"
    lines = [f"Device: {data['device']}, torch {data['torch']}; training images/s.", "",
             head, "|---|---|" + "---:|" * len(batches)]
    cases: dict[tuple[str, str], dict[int, Any]] = defaultdict(dict)
    for r in rows:
        cases[(r["case"], r["precision"])][r["batch"]] = r["images_per_s"] or r["note"]
    for (case, prec), cells in cases.items():
        shown = [(f"{v:,.0f}" if v >= 100 else f"{v:.2f}") if isinstance(v, float) else str(v)
                 for v in (cells.get(b, "-") for b in batches)]
        lines.append(f"| {case} | {prec} | " + " | ".join(shown) + " |")
    lat = [r for r in data["rows"] if r["kind"] == "forward1"]
    if lat:
        lines += ["", "| batch-1 forward | precision | latency |", "|---|---|---:|"]
        lines += [f"| {r['case']} | {r['precision']} | "
                  + (f"{r['seconds'] * 1e3:.2f} ms" if r["seconds"] else str(r["note"])) + " |"
                  for r in lat]
    return "\n".join(lines)


def plot(cpu: dict | None, gpu_path: Path | None, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = []
    if cpu:
        series = defaultdict(list)
        for (kind, impl, b), sec in sorted(cpu.items(), key=lambda kv: kv[0][2]):
            series[f"{impl}, {'train step' if kind == 'train' else 'forward'}"].append((b, b / sec))
        panels.append(("CPU (seed architecture)", series))
    if gpu_path:
        data = json.loads(gpu_path.read_text())
        series = defaultdict(list)
        for r in data["rows"]:
            if r["kind"] == "train" and r["images_per_s"]:
                series[f"{r['case']}, {r['precision']}"].append((r["batch"], r["images_per_s"]))
        panels.append((f"{data['device']} (training)", series))
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 4.5), squeeze=False)
    for ax, (title, series) in zip(axes[0], panels):
        kinds = sorted({label.split(", ", 1)[1] for label in series})
        colours = dict(zip(kinds, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
        for label, pts in sorted(series.items()):
            xs, ys = zip(*sorted(pts))
            impl, kind = label.split(", ", 1)
            style = "--" if impl == "reference" else "-"
            ax.plot(xs, ys, style, marker="o", color=colours[kind], label=label)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("batch size")
        ax.set_ylabel("images / s")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=120)
    print(f"wrote {png}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cpu", type=Path)
    p.add_argument("--sampling", type=Path)
    p.add_argument("--gpu", type=Path)
    p.add_argument("--png", type=Path)
    args = p.parse_args(argv)
    cpu = load_cpu(args.cpu) if args.cpu else None
    if cpu:
        print(cpu_table(cpu), "\n")
    if args.sampling:
        print(sampling_table(args.sampling), "\n")
    if args.gpu:
        print(gpu_table(args.gpu), "\n")
    if args.png and (cpu or args.gpu):
        plot(cpu, args.gpu, args.png)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
