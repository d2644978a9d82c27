"""`metrics.csv`: one row per epoch, append-only, rewritten atomically.

Columns start with `epoch, train_loss, train_images_per_s, lr, epoch_seconds`, then every eval
metric in the order first seen. A resumed run appends to the same file: rows for epochs that are
already present are replaced rather than duplicated.
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
    rows.sort(key=lambda r: (r.get("epoch") is None, r.get("epoch")))
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


def _fmt(v: Any) -> Any:
    if isinstance(v, float):
        return f"{v:.6g}"
    return "" if v is None else v
