"""The before/after table of the shipped architecture's training speed, from bench_shipped.py runs.

    python benchmarks/shipped_ratio.py --old old1.json old2.json --new new1.json new2.json

Each JSON file is one `pytest benchmarks/bench_shipped.py --benchmark-json=...` run, made with
`PYTHONPATH` set to the old or the new checkout; alternate them (old, new, old, new, ...) on a
shared machine, so both see the same load. For each case (model width, precision, threads) the
table gives the median over the runs of each run's median step time, the images/s it means and
the ratio. Prints markdown; not for other benchmarks.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path


def _medians(paths: list[str]) -> dict[tuple[str, str, int, int], list[float]]:
    out: dict[tuple[str, str, int, int], list[float]] = {}
    for path in paths:
        for bench in json.loads(Path(path).read_text(encoding="utf-8"))["benchmarks"]:
            info = bench["extra_info"]
            key = (info["width"], info["precision"], int(info["batch"]), int(info["threads"]))
            out.setdefault(key, []).append(bench["stats"]["median"])
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--old", nargs="+", required=True, help="runs of the old checkout")
    p.add_argument("--new", nargs="+", required=True, help="runs of the new checkout")
    args = p.parse_args(argv)
    old, new = _medians(args.old), _medians(args.new)
    print("| model | precision | batch | threads | old step | new step | old img/s | "
          "new img/s | speed-up |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for key in sorted(set(old) & set(new)):
        width, precision, batch, threads = key
        t_old, t_new = statistics.median(old[key]), statistics.median(new[key])
        print(f"| {width} | {precision} | {batch} | {threads} | {t_old * 1e3:,.0f} ms | "
              f"{t_new * 1e3:,.0f} ms | {batch / t_old:.1f} | {batch / t_new:.1f} | "
              f"**{t_old / t_new:.2f}x** |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
