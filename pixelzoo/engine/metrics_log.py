"""`metrics.csv`: one row per epoch, append-only, rewritten atomically.

Columns start with `epoch, train_loss, train_images_per_s, lr, epoch_seconds`, then every eval
metric in the order first seen. A resumed run appends to the same file: rows for epochs that are
already present are replaced rather than duplicated, and rows newer than the checkpoint a run
resumes from are dropped (`truncate_metrics`), so the file always describes one line of training.
Floats are written with Python's shortest round-trip repr: reading the file back gives the very
numbers the run computed, which is what lets tests compare a resumed run with a straight one.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from pixelzoo.engine.atomic import atomic_write_text

FIRST = ["epoch", "train_loss", "train_images_per_s", "lr", "epoch_seconds"]


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a metrics.csv, numbers parsed."""
    path = Path(path)
    if not path.exists():
        return []
    rows = []
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            rows.append({k: _num(v) for k, v in row.items()})
    return rows


def _num(v: str | None) -> Any:
    if v is None or v == "":
        return None
    try:
        f = float(v)
    except ValueError:
        return v
    return int(f) if f.is_integer() and "." not in v and "e" not in v.lower() else f


def append_metrics(path: str | Path, row: dict[str, Any]) -> None:
    """Add (or replace) the row for `row['epoch']` and rewrite the file atomically."""
    rows = [r for r in read_metrics(path) if r.get("epoch") != row.get("epoch")]
    rows.append(row)
    rows.sort(key=lambda r: (r.get("epoch") is None, r.get("epoch") or 0))
    _write(path, rows)


def _write(path: str | Path, rows: list[dict[str, Any]]) -> None:
    columns = list(FIRST)
    for r in rows:
        for k in r:
            if k not in columns:
                columns.append(k)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: _fmt(r.get(k)) for k in columns})
    atomic_write_text(path, buf.getvalue())


def truncate_metrics(path: str | Path, last_epoch: int) -> int:
    """Drop rows after `last_epoch` (a run resumed from an earlier checkpoint); return how many."""
    rows = read_metrics(path)
    keep = [r for r in rows if r.get("epoch") is None or r["epoch"] <= last_epoch]
    if len(keep) != len(rows):
        _write(path, keep)
    return len(rows) - len(keep)


def _fmt(v: Any) -> Any:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, float):
        return repr(v)
    return "" if v is None else v
