"""The comparison table: one row per recipe (and per classic baseline), one column per fact.

Rows are plain dicts. Columns are fixed facts about the run (recipe, the key architecture choices,
parameter count, training speed and time, final train loss) followed by every evaluation metric
any row has. A column that has a direction (every metric, and train images/s) gets
its best value marked: bold green in the rich table, `**value**\\*` in Markdown; the CSV keeps the
raw, unmarked numbers for other tools. Sorting and column lookup by name live here too, so
`--sort` accepts exactly the names the table shows.
"""

from __future__ import annotations

import csv
import difflib
import fnmatch
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pixelzoo.errors import PixelzooError

Row = dict[str, Any]


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    mode: str | None = None  # "max" or "min": the column has a best value to mark
    kind: str = "text"  # text, int, float, seconds, rate
    metric: bool = False
    mark: bool = True  # mark the best value (when the column has a direction)


#: Facts every row can have; metrics follow them.
FACTS = [
    Column("recipe", "recipe"),
    Column("model", "model"),
    Column("combiner", "combiner"),
    Column("decoder", "decoder"),
    Column("directions", "directions", kind="int"),
    Column("layers", "layers", kind="int"),
    Column("hidden", "hidden", kind="int"),
    Column("parameters", "parameters", kind="int"),
    Column("images_seen", "train images", kind="int"),
    Column("train_images_per_s", "train img/s", mode="max", kind="rate"),
    Column("train_seconds", "wall time", kind="seconds"),
    # sorted low first but not marked best: a teacher-forced (conditional decoder) loss and an
    # independent one measure different things
    Column("final_train_loss", "final train loss", mode="min", kind="float", mark=False),
]
#: Written to the CSV only.
EXTRA_CSV = ["kind", "run_dir"]


def is_number(v: Any) -> bool:
    """A finite int or float (not a bool, None or NaN): a value that can win a column."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def columns_for(rows: Sequence[Row], metrics: Sequence[str],
                metric_mode: Callable[[str], str]) -> list[Column]:
    """The table's columns: facts some row has, then `metrics` (in order)."""
    cols = []
    for col in FACTS:
        values = {str(r.get(col.key)) for r in rows if r.get(col.key) not in (None, "")}
        if not values:
            continue
        # every row is a RowRNN: a model column would only repeat it
        if col.key == "model" and values <= {"rowrnn"}:
            continue
        cols.append(col)
    for m in metrics:
        cols.append(Column(m, m, mode=metric_mode(m), kind="float", metric=True))
    return cols


def select_metrics(metrics: Sequence[str], patterns: Sequence[str] | None) -> list[str]:
    """Keep metrics matching any glob in `patterns` (all when none given)."""
    if not patterns:
        return list(metrics)
    kept = [m for m in metrics if any(fnmatch.fnmatchcase(m, p) for p in patterns)]
    if not kept:
        raise PixelzooError(f"--metrics {' '.join(patterns)}: matches no metric; the metrics are: "
                            + ", ".join(metrics))
    return kept


def best_rows(rows: Sequence[Row], columns: Sequence[Column]) -> dict[str, set[int]]:
    """Column key -> indices of the rows holding its best value (ties all win).

    A column is only marked when at least two rows have a value: one number is not a contest.
    """
    out: dict[str, set[int]] = {}
    for col in columns:
        if col.mode is None or not col.mark:
            continue
        vals = [(i, r[col.key]) for i, r in enumerate(rows) if is_number(r.get(col.key))]
        if len(vals) < 2:
            continue
        pick = max if col.mode == "max" else min
        best = pick(v for _, v in vals)
        out[col.key] = {i for i, v in vals if math.isclose(v, best, rel_tol=1e-12, abs_tol=0.0)}
    return out


def find_column(name: str, columns: Sequence[Column]) -> Column:
    """A column by key or header (case-insensitive), or by a unique metric suffix."""
    low = name.lower()
    for col in columns:
        if low in (col.key.lower(), col.header.lower()):
            return col
    suffix = [c for c in columns if c.metric and c.key.lower().split("/")[-1].split(".")[-1] == low]
    if len(suffix) == 1:
        return suffix[0]
    sortable = [c.key for c in columns if c.mode is not None or c.kind != "text"]
    if len(suffix) > 1:
        raise PixelzooError(f"--sort {name}: ambiguous; it matches "
                            + ", ".join(c.key for c in suffix) + ". Name one of them")
    close = difflib.get_close_matches(name, sortable, n=1, cutoff=0.5)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    raise PixelzooError(f"--sort {name}: no such column{hint} Columns: " + ", ".join(sortable))


def sort_rows(rows: list[Row], col: Column) -> list[Row]:
    """Best first by `col`'s direction (largest first when it has none); missing values last."""
    have = [r for r in rows if is_number(r.get(col.key))]
    missing = [r for r in rows if not is_number(r.get(col.key))]
    if not have and col.kind == "text":
        return sorted(rows, key=lambda r: str(r.get(col.key, "")))
    have.sort(key=lambda r: r[col.key], reverse=col.mode != "min")
    return have + missing


# ------------------------------------------------------------------------------ formatting
def group(col: Column) -> str:
    """A metric's group, the part of its name before the first '/' (facts: '')."""
    return col.key.split("/")[0] if col.metric and "/" in col.key else ("" if not col.metric
                                                                          else "metrics")


def fmt(value: Any, kind: str) -> str:
    """A cell's text: thousands separators, 4 significant digits, minutes for long times."""
    if value is None or value == "":
        return "—"
    if kind == "int" and is_number(value):
        return f"{int(value):,}"
    if kind == "rate" and is_number(value):
        return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
    if kind == "seconds" and is_number(value):
        m, s = divmod(float(value), 60)
        return f"{int(m)}m{s:04.1f}s" if m else f"{s:.1f}s"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:,.1f}" if abs(value) >= 1000 else f"{value:.4g}"
    return str(value)


def to_rich(rows: Sequence[Row], columns: Sequence[Column], title: str,
            width: int | None = None) -> list[Any]:
    """Rich tables of `rows`; more than one when the columns do not fit in `width`.

    A table wider than the terminal would be cropped or folded into unreadable slivers, so the
    columns are dealt into consecutive tables that fit, each repeating the recipe column. Each
    metric group (an infill mask set) then starts its own table, titled with the group, and its
    headers drop the group prefix they all share.
    """
    from rich.table import Table

    best = best_rows(rows, columns)
    texts = {col.key: [fmt(r.get(col.key), col.kind) for r in rows] for col in columns}
    fits = width is None or 1 + sum(
        max([len(c.header), *map(len, texts[c.key])]) + 3 for c in columns) <= width

    def header(col: Column) -> str:
        g = group(col)
        return col.header[len(g) + 1:] if not fits and col.header.startswith(g + "/") \
            else col.header

    need = {c.key: max([len(header(c)), *map(len, texts[c.key])]) + 3 for c in columns}
    first, rest = columns[0], list(columns[1:])
    chunks: list[list[Column]] = []
    while rest:
        chunk, used = [first], 1 + need[first.key]
        while rest and (len(chunk) == 1 or fits or (
                used + need[rest[0].key] <= width  # type: ignore[operator]
                and group(rest[0]) == group(chunk[-1]))):
            used += need[rest[0].key]
            chunk.append(rest.pop(0))
        chunks.append(chunk)
    tables = []
    for k, chunk in enumerate(chunks or [[first]]):
        g = group(chunk[-1])
        part = (f" ({k + 1}/{len(chunks)}{': ' + g if g not in ('', 'metrics') else ''})"
                if len(chunks) > 1 else "")
        table = Table(title=title + part, caption="[bold green]bold green[/]: best in its column"
                      if k == len(chunks) - 1 else None)
        for col in chunk:
            table.add_column(header(col), justify="left" if col.kind == "text" else "right",
                             no_wrap=True)
        for i, r in enumerate(rows):
            cells = [f"[bold green]{texts[col.key][i]}[/]" if i in best.get(col.key, ())
                     else texts[col.key][i] for col in chunk]
            table.add_row(*cells, style="dim" if r.get("kind") == "baseline" else None)
        tables.append(table)
    return tables


def to_markdown(rows: Sequence[Row], columns: Sequence[Column]) -> str:
    """A GitHub Markdown table; the best value of each column is bold with a `*`."""
    best = best_rows(rows, columns)

    def esc(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(esc(c.header) for c in columns) + " |",
             "|" + "|".join("---" if c.kind == "text" else "---:" for c in columns) + "|"]
    for i, r in enumerate(rows):
        cells = []
        for col in columns:
            text = esc(fmt(r.get(col.key), col.kind))
            cells.append(f"**{text}**\\*" if i in best.get(col.key, ()) else text)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def to_csv(rows: Sequence[Row], columns: Sequence[Column]) -> str:
    """Raw values (full precision, no marks), plus each row's kind and run folder."""
    keys = [c.key for c in columns] + [k for k in EXTRA_CSV if k not in {c.key for c in columns}]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys, lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in keys})
    return buf.getvalue()
