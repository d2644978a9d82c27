"""Picture grids: small images laid out as a labelled sheet, the one place pixelzoo draws them.

Every picture of images side by side comes from here: the infill task's `<run>/samples/*.png`
(original | holes | model ... | baselines, one row per image), `pixelzoo infill`'s side-by-side
picture, `compare`'s grid of the same holed images filled by every recipe, and the `toon`
generator's contact sheets. Columns carry a label on top, rows may carry one on the left, and the
sheet may carry a title. Pixels are drawn as blocks (nearest neighbour), since at 36x36 any
smoothing would invent detail no method produced; holes are painted as `show_holes` does
(magenta wherever any channel is missing). Text is drawn with OpenCV, so no plotting library is
imported; files are written atomically (`pixelzoo.engine.atomic.atomic_write_image`).

Not here: charts of numbers (`pixelzoo.report.charts`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

HOLE_COLOUR = (255, 0, 255)  # how holes are drawn in the pictures (magenta)
GAP = 4
BACKGROUND = 255
_FONT = 0  # cv2.FONT_HERSHEY_SIMPLEX
_LINE = 16  # pixels per text line at the largest font scale used


def show_holes(images: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """uint8 (C, H, W) or (n, C, H, W) images, every pixel with a hole in any channel painted.

    Colour images get magenta, grayscale ones mid-grey.
    """
    out = images.copy()
    channels = images.shape[-3]
    pixel = masks.any(-3)  # (..., H, W)
    if channels == 1:
        colour = np.array([128], np.uint8)
    elif channels <= 3:
        colour = np.array(HOLE_COLOUR[:channels], np.uint8)
    else:
        colour = np.array([HOLE_COLOUR[0]] * channels, np.uint8)
    moved = np.moveaxis(out, -3, -1)  # a view (..., H, W, C): painting it paints `out`
    moved[pixel] = colour
    return out


def to_rgb(image: np.ndarray, zoom: int = 1) -> np.ndarray:
    """uint8 (C, H, W) -> (H*zoom, W*zoom, 3) RGB: gray repeated, extra channels dropped."""
    hwc = image.transpose(1, 2, 0)
    if hwc.shape[2] == 1:
        hwc = np.repeat(hwc, 3, axis=2)
    elif hwc.shape[2] == 2:
        hwc = np.concatenate([hwc, np.zeros((*hwc.shape[:2], 1), np.uint8)], axis=2)
    elif hwc.shape[2] > 3:
        hwc = hwc[:, :, :3]
    return np.repeat(np.repeat(hwc, zoom, axis=0), zoom, axis=1)


def _text_width(text: str, scale: float) -> int:
    import cv2

    return int(cv2.getTextSize(text, _FONT, scale, 1)[0][0])


def _wrap(text: str, width: int, scale: float, max_lines: int = 3) -> list[str]:
    """Break `text` at spaces into lines that fit `width` pixels (the last one cut with '..')."""
    lines: list[str] = []
    for word in text.split():
        if lines and _text_width(f"{lines[-1]} {word}", scale) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    if len(lines) > max_lines:
        lines = lines[:max_lines - 1] + [" ".join(lines[max_lines - 1:])]
    out = []
    for line in lines:
        while len(line) > 1 and _text_width(line, scale) > width:
            line = line[:-3] + ".." if len(line) > 3 else line[:-1]
        out.append(line)
    return out or [""]


def _put(sheet: np.ndarray, text: str, x: int, y: int, scale: float) -> None:
    import cv2

    cv2.putText(sheet, text, (x, y), _FONT, scale, (0, 0, 0), 1, cv2.LINE_AA)


def sheet(cells: Sequence[Sequence[np.ndarray | None]], *,
          column_labels: Sequence[str] | None = None, row_labels: Sequence[str] | None = None,
          title: str | None = None, gap: int = GAP, background: int = BACKGROUND,
          font_scale: float | None = None) -> np.ndarray:
    """Lay out rows of (h, w, 3) uint8 RGB tiles (all one size; None leaves a cell blank)."""
    tiles = [t for row in cells for t in row if t is not None]
    if not tiles:
        raise ValueError("a picture grid needs at least one image")
    th, tw = tiles[0].shape[:2]
    n_rows, n_cols = len(cells), max(len(row) for row in cells)
    scale = font_scale if font_scale is not None else max(0.3, min(0.45, tw / 320))
    line = int(round(_LINE * scale / 0.45))
    heads = [_wrap(lab, tw, scale) for lab in column_labels] if column_labels else []
    header = (max(len(h) for h in heads) * line + gap) if heads else 0
    left = (max(_text_width(lab, scale) for lab in row_labels) + 2 * gap) if row_labels else 0
    width = left + n_cols * (tw + gap) + gap
    title_lines = _wrap(title, width - 2 * gap, scale, max_lines=2) if title else []
    top = (len(title_lines) * line + 2 * gap) if title_lines else 0
    height = top + header + n_rows * (th + gap) + gap
    out = np.full((height, width, 3), background, np.uint8)
    for k, text in enumerate(title_lines):
        _put(out, text, gap, gap + (k + 1) * line - 3, scale)
    for j, lines in enumerate(heads):
        x = left + gap + j * (tw + gap)
        for k, text in enumerate(lines):
            _put(out, text, x + 2, top + (k + 1) * line - 3, scale)
    for i, row in enumerate(cells):
        y = top + header + gap + i * (th + gap)
        if row_labels:
            _put(out, row_labels[i], gap, y + th // 2 + line // 3, scale)
        for j, tile in enumerate(row):
            if tile is None:
                continue
            if tile.shape[:2] != (th, tw):
                raise ValueError(f"grid tiles differ in size: {tile.shape[:2]} vs {(th, tw)}")
            x = left + gap + j * (tw + gap)
            out[y:y + th, x:x + tw] = tile
    return out


def tile_sheet(tiles: np.ndarray, cols: int, gap: int = GAP, background: int = 200
               ) -> np.ndarray:
    """(n, h, w, 3) RGB tiles in rows of `cols`, unlabelled (contact sheets)."""
    rows = [list(tiles[r:r + cols]) for r in range(0, len(tiles), cols)]
    return sheet(rows, gap=gap, background=background)


def grid_image(columns: Sequence[tuple[str, np.ndarray]], *, zoom: int = 4,
               row_labels: Sequence[str] | None = None, title: str | None = None) -> np.ndarray:
    """One column per (label, uint8 (n, C, H, W) images), one row per image -> RGB sheet."""
    n = len(columns[0][1])
    cells = [[to_rgb(images[i], zoom) for _, images in columns] for i in range(n)]
    return sheet(cells, column_labels=[label for label, _ in columns], row_labels=row_labels,
                 title=title)


def save_grid(path: str | Path, columns: Sequence[tuple[str, np.ndarray]], *, zoom: int = 4,
              row_labels: Sequence[str] | None = None, title: str | None = None) -> Path:
    """Write `grid_image(columns, ...)` as a PNG, atomically; returns the path."""
    from pixelzoo.engine.atomic import atomic_write_image

    path = Path(path)
    atomic_write_image(path, grid_image(columns, zoom=zoom, row_labels=row_labels, title=title))
    return path


def infill_grid(originals: np.ndarray, masks: np.ndarray,
                methods: Sequence[tuple[str, np.ndarray]], path: Path,
                row_labels: Sequence[str] | None = None, title: str = "",
                zoom: int | None = None) -> Path:
    """`original | holes | method ...` for the same holed images; `methods` are (label, filled
    uint8 (n, C, H, W)) in column order. The zoom makes each image about 120 pixels a side."""
    side = max(originals.shape[-2:])
    zoom = zoom or max(1, 120 // side)
    columns = [("original", originals), ("holes", show_holes(originals, masks)), *methods]
    return save_grid(path, columns, zoom=zoom, row_labels=row_labels, title=title or None)
