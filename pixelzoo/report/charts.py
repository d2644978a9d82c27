"""Comparison charts as PNGs: metric bars per recipe, and learning curves on one plot.

Figures are built with matplotlib's object API on the Agg canvas (no pyplot, no display, no
global state), so charts render on headless machines and inside tests. Baseline rows are drawn in
grey with hatching so they read as references rather than contenders; the best bar of each metric
gets a dark outline. Files are written atomically.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pixelzoo.engine.atomic import atomic_write
from pixelzoo.report.table import Row, is_number


def new_figure(width: float, height: float) -> Any:
    """A matplotlib Figure on its own Agg canvas (inches), laid out to fit its labels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_png(fig: Any, path: Path) -> Path:
    """Write `fig` to `path` as PNG, atomically; returns `path`."""
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    return path


def wrap_label(label: str, width: int) -> str:
    """Break a long label onto lines at its ' = ' joins and spaces, about `width` wide."""
    import textwrap

    parts = label.split(" = ")
    lines = [textwrap.fill(p, width, break_long_words=False) for p in parts]
    return " =\n".join(lines)


def metric_bars(rows: Sequence[Row], metrics: Sequence[tuple[str, str | None]], path: Path,
                title: str = "", colours: dict[str, str] | None = None) -> Path:
    """One panel per metric (key, 'max'|'min'|None), one bar per row, value printed on each.

    `colours` maps a row's recipe to its colour, so a recipe keeps one colour on every chart.
    """
    n = max(1, len(metrics))
    # one row per metric group (an infill mask set) when the groups are regular
    groups = [key.split("/")[0] for key, _ in metrics]
    per_group = groups.count(groups[0]) if groups else 1
    regular = per_group <= 4 and groups == [g for g in dict.fromkeys(groups)
                                            for _ in range(per_group)]
    ncols = per_group if regular and per_group > 1 else min(3, n)
    nrows = math.ceil(n / ncols)
    names = [str(r.get("recipe", "?")) for r in rows]
    labels = [wrap_label(n, 16) for n in names]
    fig = new_figure(max(4.5, 0.5 * len(rows) + 1.2) * ncols, 3.6 * nrows + 0.5)
    colours = colours or {}
    palette = [colours.get(n, f"C{i % 10}") for i, n in enumerate(names)]
    for k, (key, mode) in enumerate(metrics):
        ax = fig.add_subplot(nrows, ncols, k + 1)
        values = [r.get(key) if is_number(r.get(key)) else math.nan for r in rows]
        finite = [v for v in values if math.isfinite(v)]
        best = (max if mode == "max" else min)(finite) if finite and mode else None
        for i, (v, r) in enumerate(zip(values, rows, strict=True)):
            base = r.get("kind") == "baseline"
            is_best = best is not None and v == best
            ax.bar(i, 0 if math.isnan(v) else v, color="0.75" if base else palette[i],
                   hatch="//" if base else None, edgecolor="black" if is_best else "none",
                   linewidth=1.8 if is_best else 0)
            if math.isfinite(v):
                ax.annotate(f"{v:.4g}", (i, v), ha="center", va="bottom", fontsize=7,
                            xytext=(0, 2), textcoords="offset points")
        arrow = {"max": " (higher is better)", "min": " (lower is better)"}.get(mode or "", "")
        ax.set_title(key + arrow, fontsize=9)
        ax.set_xticks(range(len(rows)), labels, rotation=40, ha="right", fontsize=7,
                      rotation_mode="anchor")
        ax.tick_params(axis="y", labelsize=8)
        if finite and min(finite) >= 0:
            # bars start at zero: a cut axis would make small differences look large
            ax.set_ylim(0, max(finite) * 1.12 + 1e-9)
        ax.grid(axis="y", alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=11)
    return save_png(fig, path)


def learning_curves(series: Sequence[dict[str, Any]], path: Path, metric: str | None = None,
                    metric_mode: str | None = None, title: str = "", split: str = "val"
                    ) -> Path:
    """Train loss per epoch for every run on one plot, plus `metric` per epoch if recorded.

    Each series is {"label", "epochs", "train_loss", "metric", "colour"} (lists; metric may
    hold Nones, for epochs without an evaluation; colour is optional).
    """
    from matplotlib.ticker import MaxNLocator

    has_metric = metric is not None and any(
        any(is_number(v) for v in s.get("metric") or []) for s in series)
    fig = new_figure(11.0 if has_metric else 6.5, 4.2)
    ax = fig.add_subplot(1, 2 if has_metric else 1, 1)
    for i, s in enumerate(series):
        ax.plot(s["epochs"], s["train_loss"], marker="o", markersize=3,
                color=s.get("colour") or f"C{i % 10}", label=s["label"])
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("train loss")
    ax.set_title("train loss per epoch", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if has_metric:
        ax2 = fig.add_subplot(1, 2, 2)
        for i, s in enumerate(series):
            pts = [(e, v) for e, v in zip(s["epochs"], s["metric"] or [], strict=False)
                   if is_number(v)]
            if pts:
                ax2.plot(*zip(*pts, strict=True), marker="o", markersize=3,
                         color=s.get("colour") or f"C{i % 10}", label=s["label"])
        arrow = {"max": " (higher is better)", "min": " (lower is better)"}.get(metric_mode or "",
                                                                                 "")
        ax2.set_title(f"{metric} per epoch ({split} split){arrow}", fontsize=10)
        ax2.set_xlabel("epoch")
        ax2.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax2.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=11)
    return save_png(fig, path)
