"""`pixelzoo compare`: architectures side by side, from recipes (trained here) or finished runs.

`pixelzoo compare recipes/seed/*.yaml` validates every recipe first (with the same `--set`
overrides applied to each), refuses a mix of tasks or of evaluation sets before any training
starts, then trains and evaluates each recipe in turn. `pixelzoo compare runs/a runs/b` reads
finished run folders instead and trains nothing. A shipped weights name (`pixelzoo compare
toon_infill recipes/toon_infill.yaml`) is evaluated without training (`train.epochs: 0`) on the
data and evaluation sets of the first recipe or run beside it. Either way the runs are checked once
more for the same evaluation images and holes (resolved dataset and eval sections, and the tasks'
eval fingerprints), and the result is one table, one row per recipe, plus the rows the task adds
(for infill, the classic baselines). Runs with extra evaluation datasets (`eval.datasets`, the same
ones in every run) get those datasets' metrics as more columns, keyed `LABEL:METRIC`
(`lineart:demo_hole/psnr`), beside the own split's. The table is printed with rich and written to
`compare/<timestamp>/` as CSV and Markdown, beside a bar chart of the task's headline metrics, the
learning curves, and the pictures the task adds (for infill, a grid of the same holed images filled
by every recipe and baseline). Which way each metric is better, and which ones are headlines, is
what the task class declares (`Task.metrics`): nothing here names a task.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shlex
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pixelzoo.errors import PixelzooError


@dataclass
class Comparison:
    """What a compare produced: the records, the table, and the files written."""

    records: list[Any]
    rows: list[dict[str, Any]]
    columns: list[Any]
    task: str
    out_dir: Path
    files: dict[str, Path] = field(default_factory=dict)
    trained: list[Path] = field(default_factory=list)
    seconds: float = 0.0


# ------------------------------------------------------------------------------ CLI
def add_parser(subparsers: Any) -> None:
    """Register `pixelzoo compare` on the main parser's sub-commands."""
    p = subparsers.add_parser(
        "compare", help="train or read several recipes/runs and compare them side by side",
        description="Compare architectures side by side. Each argument is a recipe (trained and "
                    "evaluated here), a finished run folder (read, not retrained), or shipped "
                    "weights (evaluated on the others' evaluation sets, not trained).")
    p.add_argument("items", nargs="+", metavar="RECIPE_OR_RUN_OR_WEIGHTS",
                   help="recipe .yaml files, run folders (a recipe's folder of runs means "
                        "its newest finished run) and/or shipped weights names "
                        "(`pixelzoo list weights`)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override applied to every recipe, e.g. --set train.epochs=2 (repeatable)")
    p.add_argument("--out", default="runs", help="root folder for the new runs (default: runs)")
    p.add_argument("--compare-out", default="compare",
                   help="root folder for the comparison files (default: compare)")
    p.add_argument("--sort", default=None, metavar="METRIC",
                   help="sort rows by this column, best first (e.g. accuracy, "
                        "demo_hole/psnr, 'train img/s')")
    p.add_argument("--metrics", action="append", default=None, metavar="GLOB",
                   help="show only metrics matching this pattern in the table and chart "
                        "(repeatable; the CSV keeps all)")
    p.add_argument("--grid-images", type=int, default=2, metavar="N",
                   help="images per evaluation set in the pictures the task adds (the infill "
                        "grid; default: 2; 0: none)")
    p.add_argument("-q", "--quiet", action="store_true", help="no training progress output")
    p.set_defaults(func=cmd_compare)


def cmd_compare(args: argparse.Namespace) -> int:
    from rich.console import Console

    console = Console(highlight=False)
    result = compare(args.items, overrides=args.overrides, out_root=args.out,
                     compare_root=args.compare_out, sort=args.sort, metrics=args.metrics,
                     grid_images=args.grid_images, quiet=args.quiet, console=console,
                     command=_command_line(args))
    console.print(f"comparison written to [bold]{result.out_dir}[/bold]: "
                  + ", ".join(p.name for p in result.files.values()))
    return 0


def _command_line(args: argparse.Namespace) -> str:
    """The command as a user would retype it (recorded in compare.md)."""
    parts = ["pixelzoo", "compare", *args.items]
    parts += [f"--set={o}" for o in args.overrides]
    for flag, value, default in (("--out", args.out, "runs"),
                                 ("--compare-out", args.compare_out, "compare"),
                                 ("--sort", args.sort, None),
                                 ("--grid-images", args.grid_images, 2)):
        if value != default:
            parts += [flag, str(value)]
    for m in args.metrics or []:
        parts += ["--metrics", m]
    return " ".join(shlex.quote(p) for p in parts)


# ------------------------------------------------------------------------------ orchestration
def _is_recipe(item: str) -> bool:
    p = Path(item)
    return p.suffix.lower() in (".yaml", ".yml") and not p.is_dir()


def _is_weights(item: str) -> bool:
    """A shipped weights name (and no file or folder of that name here)."""
    from pixelzoo import weights

    return not Path(item).exists() and weights.is_weights_name(item)


def _unique_labels(labels: list[str], paths: list[Path | None]) -> list[str]:
    """Keep labels; where two are equal, add the run folder's name to tell them apart."""
    out = []
    for i, lab in enumerate(labels):
        if labels.count(lab) > 1:
            p = paths[i]
            lab = f"{lab} ({p.name if p is not None else i + 1})"
        out.append(lab)
    return out


def compare(items: list[str], *, overrides: list[str] | None = None,
            out_root: str | Path = "runs", compare_root: str | Path = "compare",
            sort: str | None = None, metrics: list[str] | None = None, grid_images: int = 2,
            quiet: bool = False, console: Any = None, command: str | None = None) -> Comparison:
    """Train the recipes among `items`, read the runs, and write the comparison (see module)."""
    from rich.console import Console

    from pixelzoo.recipe import load_recipe
    from pixelzoo.report import runs as runs_mod

    console = console or Console(highlight=False, quiet=quiet)
    t0 = time.perf_counter()
    overrides = list(overrides or [])
    if not items:
        raise PixelzooError("compare: name at least one recipe or run folder")
    recipe_items = [i for i in items if _is_recipe(i) or _is_weights(i)]
    if overrides and not recipe_items:
        raise PixelzooError("--set applies to recipes, but every argument is a finished run; "
                            "runs are compared as they were trained")

    # Read everything first: a typo in the last recipe must not cost the first one's training.
    problems: list[str] = []
    entries: list[tuple[str, Any]] = []  # ("recipe", ResolvedRecipe) or ("run", RunRecord)
    for item in items:
        try:
            if _is_recipe(item):
                entries.append(("recipe", load_recipe(item, overrides)))
            elif _is_weights(item):
                entries.append(("weights", item))  # a recipe once the others are read
            else:
                entries.append(("run", runs_mod.read_run(item)))
        except PixelzooError as exc:
            problems.append(str(exc) + _weights_hint(item))
    if len(problems) == 1:
        raise PixelzooError(problems[0])
    if problems:
        raise PixelzooError(f"{len(problems)} of the compared items have problems:\n"
                            + "\n".join(f"  - {p}" for p in problems))
    entries = _weights_entries(entries, overrides)

    labels = [e.name if kind == "recipe" else e.label for kind, e in entries]
    tasks = [e.data["task"]["type"] if kind == "recipe" else e.task for kind, e in entries]
    task = runs_mod.check_same_task(labels, tasks)
    configs = [e.data if kind == "recipe" else e.config for kind, e in entries]
    runs_mod.check_comparable(labels, configs)

    records, trained = [], []
    # Recipes that resolve to the same thing (a base and the variant that restates its default,
    # say) are trained once; that run then stands in every one of their rows.
    by_content: dict[str, Any] = {}
    distinct = {_content_key(e) for kind, e in entries if kind == "recipe"}
    done = 0
    for kind, entry in entries:
        if kind == "run":
            records.append(entry)
            continue
        key = _content_key(entry)
        if key in by_content:
            first = by_content[key]
            console.print(f"[dim]{entry.name}: the same recipe as {first.label} once resolved; "
                          "using its run[/dim]")
            records.append(dataclasses.replace(first, label=entry.name))
            continue
        done += 1
        console.rule(f"[bold]{done}/{len(distinct)}: {entry.name}[/bold]")
        result = _train(entry, out_root, quiet, console, trained)
        trained.append(result.run_dir)
        record = runs_mod.read_run(result.run_dir)
        record.label = entry.name
        by_content[key] = record
        records.append(record)

    paths: list[Path | None] = [r.path for r in records]
    for r, lab in zip(records, _unique_labels([r.label for r in records], paths), strict=True):
        r.label = lab
    runs_mod.check_comparable([r.label for r in records], [r.config for r in records],
                              [r.summary for r in records])
    return report(records, task, compare_root=compare_root, sort=sort, metrics=metrics,
                  grid_images=grid_images, console=console, trained=trained, started=t0,
                  command=command)


def _weights_hint(item: str) -> str:
    """`; did you mean the shipped weights 'x'?` for a missing item that looks like a tag."""
    from pixelzoo import weights

    close = None if Path(item).exists() or _is_recipe(item) else weights.suggest(item)
    return f"; did you mean the shipped weights '{close}'?" if close else ""


def _weights_entries(entries: list[tuple[str, Any]], overrides: list[str]
                     ) -> list[tuple[str, Any]]:
    """Shipped weights become recipes that evaluate them (`train.epochs: 0`) on the data and
    evaluation sets of the first compared recipe or run (their own recipe's when alone)."""
    if not any(kind == "weights" for kind, _ in entries):
        return entries
    from pixelzoo.engine.build import weights_recipe

    base = next((e.data for kind, e in entries if kind == "recipe"), None)
    if base is None:
        base = next((e.config for kind, e in entries if kind == "run"), None)
    return [("recipe", weights_recipe(e, base, overrides)) if kind == "weights" else (kind, e)
            for kind, e in entries]


def _content_key(recipe: Any) -> str:
    """What a recipe trains, independent of its name."""
    return json.dumps({k: v for k, v in recipe.data.items() if k != "name"}, sort_keys=True,
                      default=str)


def _train(recipe: Any, out_root: str | Path, quiet: bool, console: Any,
           finished: list[Path]) -> Any:
    from pixelzoo.engine.trainer import train

    try:
        return train(recipe, out_root=out_root, quiet=quiet)
    except PixelzooError as exc:
        if finished:
            done = " ".join(shlex.quote(str(p)) for p in finished)
            raise PixelzooError(f"{recipe.name}: {exc}\n(finished before this: compare them "
                                f"with `pixelzoo compare {done}`)") from None
        raise


# ------------------------------------------------------------------------------ rows
def metric_mode_for(task: str) -> Any:
    """A function metric name -> 'max' | 'min' | None, as the task declares its metrics."""
    from pixelzoo.tasks.base import task_class

    from pixelzoo.schema import DATASET_SEP

    cls = task_class(task)

    def mode(name: str) -> str | None:
        declared = cls.metric(name)
        if declared is None and DATASET_SEP in name:  # `lineart:accuracy`: an extra dataset's
            declared = cls.metric(name.split(DATASET_SEP, 1)[1])
        return None if declared is None else declared.mode

    return mode


def run_row(record: Any) -> dict[str, Any]:
    """The table row for one run: its architecture, cost and final metrics."""
    s = record.summary
    arch = s.get("architecture") or {}
    model = str(arch.get("model") or record.config.get("model", {}).get("type", ""))
    if arch.get("name"):
        model = f"{model} {arch['name']}"
    row: dict[str, Any] = {
        "recipe": record.label,
        "kind": "model",
        "model": model,
        "combiner": arch.get("combiner"),
        "decoder": arch.get("decoder"),
        "directions": arch.get("directions"),
        "layers": arch.get("layers"),
        "hidden": arch.get("hidden"),
        "parameters": s.get("parameters"),
        # a time budget (train.max_minutes) can end one run before the others
        "images_seen": s.get("images_seen"),
        "train_images_per_s": s.get("train_images_per_s"),
        "train_seconds": s.get("train_seconds"),
        "final_train_loss": s.get("final_train_loss"),
        "run_dir": str(record.path),
    }
    from pixelzoo.report.runs import final_metrics

    row.update(final_metrics(s))  # the own split's, then each extra dataset's (LABEL:METRIC)
    return row


def report(records: list[Any], task: str, *, compare_root: str | Path = "compare",
           sort: str | None = None, metrics: list[str] | None = None, grid_images: int = 2,
           console: Any = None, trained: list[Path] | None = None,
           started: float | None = None, command: str | None = None) -> Comparison:
    """Build the table from finished runs and write every file; trains nothing."""
    from rich.console import Console

    from pixelzoo.engine.atomic import atomic_write_text
    from pixelzoo.report import charts, table

    console = console or Console(highlight=False)
    started = time.perf_counter() if started is None else started
    from pixelzoo.tasks.base import task_class

    cls = task_class(task)
    mode = metric_mode_for(task)
    rows = [run_row(r) for r in records]
    from pixelzoo.report.runs import final_metrics

    metric_names: dict[str, None] = {}
    for r in records:
        for k in final_metrics(r.summary):
            metric_names.setdefault(k, None)
    extras = cls.compare_extras(records, console)  # e.g. the infill baselines and grid
    if extras is not None:
        rows += extras.rows(list(metric_names))
    shown = table.select_metrics(list(metric_names), metrics)
    columns = table.columns_for(rows, shown, mode)
    if sort:
        rows = table.sort_rows(rows, table.find_column(sort, columns))

    out_dir = _new_dir(Path(compare_root))
    split = records[0].summary.get("final_split", "test")
    title = f"{task}: {len(records)} recipe(s), final metrics on the {split} split"
    for t in table.to_rich(rows, columns, title, width=console.width):
        console.print(t)

    files: dict[str, Path] = {}
    all_columns = table.columns_for(rows, list(metric_names), mode)
    files["csv"] = out_dir / "compare.csv"
    atomic_write_text(files["csv"], table.to_csv(rows, all_columns))

    # Pictures show each run once: rows that share a run share its bar, curve and column.
    runs = merge_by_run(records)
    run_label = {str(r.path): r.label for r in runs}
    colours = {r.label: f"C{i % 10}" for i, r in enumerate(runs)}
    chart_rows, seen = [], set()
    for row in rows:
        if row.get("kind") == "model":
            if row["run_dir"] in seen:
                continue
            seen.add(row["run_dir"])
            row = {**row, "recipe": run_label[row["run_dir"]]}
        chart_rows.append(row)
    headline = [m for m in cls.metrics if m.headline]
    best = str(records[0].summary.get("best_metric", {}).get("name", ""))
    # the own split's headline metrics (the extra datasets' are in the table); theirs only
    # when --metrics kept nothing else
    own = [m for m in shown if m in (records[0].summary.get("final_metrics") or {})] or shown
    chart_metrics = ([m for m in own if any(h.matches(m) for h in headline)]
                     or [m for m in own if m == best] or own[:6])
    if chart_metrics:
        files["chart"] = charts.metric_bars(chart_rows, [(m, mode(m)) for m in chart_metrics],
                                            out_dir / "metrics.png", title=title,
                                            colours=colours)
    curve_metric = records[0].summary.get("best_metric", {}).get("name")
    series = [{"label": r.label, "colour": colours[r.label],
               "epochs": [m.get("epoch") for m in r.metrics],
               "train_loss": [m.get("train_loss") for m in r.metrics],
               "metric": [m.get(curve_metric) for m in r.metrics] if curve_metric else None}
              for r in runs if r.metrics]
    if series:
        eval_split = (records[0].config.get("eval") or {}).get("split", "val")
        files["curves"] = charts.learning_curves(
            series, out_dir / "learning_curves.png", metric=curve_metric,
            metric_mode=mode(curve_metric) if curve_metric else None, title=task,
            split=eval_split)
    if extras is not None:
        files.update(extras.pictures(out_dir, runs, grid_images))

    seconds = time.perf_counter() - started
    meta = _provenance(records, trained or [], seconds, command)
    meta["shared_runs"] = [r.label for r in runs if " = " in r.label]
    files["markdown"] = out_dir / "compare.md"
    atomic_write_text(files["markdown"], _markdown(rows, columns, title, files, meta))
    files["json"] = out_dir / "compare.json"
    atomic_write_text(files["json"], json.dumps(
        {**meta, "task": task, "sort": sort, "columns": [c.key for c in all_columns],
         "rows": rows}, indent=2, default=str))
    return Comparison(records, rows, columns, task, out_dir, files, list(trained or []), seconds)


def merge_by_run(records: list[Any]) -> list[Any]:
    """One record per run folder, labelled with every row label it stands for ("a = b")."""
    merged: dict[str, Any] = {}
    for r in records:
        key = str(r.path)
        if key in merged:
            if r.label not in merged[key].label.split(" = "):
                merged[key] = dataclasses.replace(merged[key],
                                                  label=f"{merged[key].label} = {r.label}")
        else:
            merged[key] = r
    return list(merged.values())


def _new_dir(root: Path) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path, n = root / stamp, 1
    while path.exists():
        n += 1
        path = root / f"{stamp}-{n}"
    path.mkdir(parents=True)
    return path


def hardware() -> str:
    """One line: CPU cores and threads, or the GPU, as the runs here would see them."""
    import torch

    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)} (CUDA), {os.cpu_count()} CPU cores"
    return f"{os.cpu_count()} CPU cores ({_cpu_name()}), no GPU"


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _provenance(records: list[Any], trained: list[Path], seconds: float,
                command: str | None) -> dict[str, Any]:
    return {
        "command": command,
        "hardware": hardware(),
        "wall_seconds": seconds,
        "runs": list(dict.fromkeys(str(r.path) for r in records)),
        "trained_here": [str(p) for p in trained],
        "devices": sorted({str(r.summary.get("device", "?")) for r in records}),
    }


def _markdown(rows: list[dict[str, Any]], columns: list[Any], title: str,
              files: dict[str, Path], meta: dict[str, Any]) -> str:
    from pixelzoo.report.table import fmt, to_markdown

    lines = [f"### {title}", "", to_markdown(rows, columns),
             "\\* best value in its column. Wall time is each run's training time.", ""]
    for label in meta.get("shared_runs", []):
        lines.append(f"- {label}: the same recipe once resolved, trained once (one run, "
                     "several rows).")
    if meta.get("shared_runs"):
        lines.append("")
    labels = {"chart": "Main metrics", "curves": "Learning curves", "grid": "Infill grid"}
    for key, path in files.items():  # the charts, then what the task added (the infill grid)
        if path.suffix == ".png":
            lines.append(f"![{labels.get(key, key)}]({path.name})")
    lines += ["", f"- hardware: {meta['hardware']} (runs on: {', '.join(meta['devices'])})",
              f"- this comparison took {fmt(meta['wall_seconds'], 'seconds')}"
              + (f", training {len(meta['trained_here'])} run(s)" if meta["trained_here"]
                 else ", reading finished runs only")]
    if meta.get("command"):
        lines.append(f"- command: `{meta['command']}`")
    return "\n".join(lines) + "\n"
