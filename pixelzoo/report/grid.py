"""The infill comparison grid: the same holed images filled by every method, column by column.

Rows are images (labelled with their mask set), columns are `original | holes | method ...`, each
column headed by its label. The `holes` column paints holes as the infill task's own pictures do
(magenta wherever any channel is missing). Pixels are drawn as blocks (nearest neighbour), since
at 36x36 any smoothing would invent detail no method produced.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pixelzoo.report.charts import new_figure, save_png, wrap_label


def show_holes(images: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """uint8 (n, C, H, W) images with each holed pixel painted as the infill task paints it."""
    from pixelzoo.tasks.infill import show_holes as show_one

    return np.stack([show_one(img, m) for img, m in zip(images, masks, strict=True)])


def infill_grid(originals: np.ndarray, masks: np.ndarray,
                methods: Sequence[tuple[str, np.ndarray]], path: Path,
                row_labels: Sequence[str] | None = None, title: str = "") -> Path:
    """Write the grid PNG; `methods` are (label, filled uint8 (n, C, H, W)) in column order."""
    columns = [("original", originals), ("holes", show_holes(originals, masks)), *methods]
    n = len(originals)
    cell = 1.25
    fig = new_figure(cell * len(columns) + (0.9 if row_labels else 0.2), cell * n + 0.8)
    grid = fig.add_gridspec(n, len(columns), wspace=0.04, hspace=0.04)
    for j, (label, imgs) in enumerate(columns):
        for i in range(n):
            ax = fig.add_subplot(grid[i, j])
            img = imgs[i]
            if img.shape[0] == 1:
                ax.imshow(img[0], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            else:
                ax.imshow(np.transpose(img[:3], (1, 2, 0)), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(wrap_label(label, 14), fontsize=7)
            if j == 0 and row_labels:
                ax.set_ylabel(row_labels[i], fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    return save_png(fig, path)
