"""Contact sheets of datasets for the docs: the out-of-distribution sets and `toon`'s styles.

`python -m pixelzoo.data.sheets` redraws `docs/ood_*.png` and `docs/toon_varied.png`: the first
32 test images of each set at the model's resolution, enlarged 3x with nearest-neighbour, so a
reader sees exactly what the model sees. Not for run pictures (`pixelzoo.report.grid`) nor for
`toon`'s full-size sheets (`python -m pixelzoo.data.toon`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

# name of the sheet in docs/ -> the dataset it shows
SHEETS: dict[str, dict[str, Any]] = {
    "ood_lineart.png": {"type": "lineart"},
    "ood_toon_transformed.png": {"type": "toon_transformed"},
    "ood_skimage_photos.png": {"type": "skimage_photos"},
    "toon_varied.png": {"type": "toon", "style": "varied"},
}


def dataset_sheet(spec: dict[str, Any], path: str | os.PathLike[str], *, n: int = 32,
                  split: str = "test", zoom: int = 3, cols: int = 8) -> np.ndarray:
    """Write the first `n` images of `split` of the dataset `spec` as one PNG; returns it."""
    import cv2

    from pixelzoo.engine.atomic import atomic_write_image
    from pixelzoo.recipe import build_part
    from pixelzoo.report.grid import tile_sheet

    images = getattr(build_part("datasets", {**spec, "limit": n}).load(), split).images[:n]
    tiles = np.stack([cv2.resize(np.ascontiguousarray(im.transpose(1, 2, 0)),
                                 (im.shape[2] * zoom, im.shape[1] * zoom),
                                 interpolation=cv2.INTER_NEAREST).reshape(
                                     im.shape[1] * zoom, im.shape[2] * zoom, -1)
                      for im in images])
    if tiles.shape[3] == 1:
        tiles = np.repeat(tiles, 3, axis=3)
    sheet = tile_sheet(tiles, cols)
    atomic_write_image(path, sheet)
    return sheet


def _main(argv: Sequence[str] | None = None) -> None:
    import argparse
    from pathlib import Path

    ap = argparse.ArgumentParser(prog="python -m pixelzoo.data.sheets",
                                 description="Redraw the dataset contact sheets in docs/.")
    ap.add_argument("--out", default="docs", help="folder to write the sheets to")
    ap.add_argument("-n", type=int, default=32)
    args = ap.parse_args(argv)
    for name, spec in SHEETS.items():
        dataset_sheet(spec, Path(args.out) / name, n=args.n)
        print(f"wrote {Path(args.out) / name}")


if __name__ == "__main__":
    _main()
