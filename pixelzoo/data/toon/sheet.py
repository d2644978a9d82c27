"""Contact sheets of `toon` faces for the docs: `python -m pixelzoo.data.toon --sheet PATH`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from pixelzoo.data.preprocess import preprocess_rgb
from pixelzoo.data.toon.face import render_faces


def contact_sheet(path: str | os.PathLike[str], *, preprocessed: str | os.PathLike[str] | None
                  = None, n: int = 64, seed: int = 0, thumb: int = 96, crop: int | None = 300,
                  size: int = 36, zoom: int = 3, style: str = "classic") -> None:
    """Save an 8-column sheet of `n` faces (500x500 shrunk to `thumb`), and optionally the same
    faces after the dataset's preprocessing, enlarged `zoom`x with nearest-neighbour."""
    from pixelzoo.engine.atomic import atomic_write_image
    from pixelzoo.report.grid import tile_sheet

    faces = render_faces(n, seed, style=style)
    thumbs = np.stack([cv2.resize(f, (thumb, thumb), interpolation=cv2.INTER_AREA)
                       for f in faces])
    atomic_write_image(path, tile_sheet(thumbs, 8))
    if preprocessed is not None:
        small = [preprocess_rgb(f, crop=crop, size=size).transpose(1, 2, 0) for f in faces]
        big = np.stack([cv2.resize(np.ascontiguousarray(s), (size * zoom, size * zoom),
                                   interpolation=cv2.INTER_NEAREST) for s in small])
        atomic_write_image(preprocessed, tile_sheet(big, 8))


def _main(argv: Sequence[str] | None = None) -> None:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m pixelzoo.data.toon",
                                 description="Draw contact sheets of the toon generator.")
    ap.add_argument("--sheet", default="docs/toon_contact_sheet.png")
    ap.add_argument("--preprocessed", default=None,
                    help="also save the preprocessed faces (default: next to --sheet)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-n", type=int, default=64)
    ap.add_argument("--style", choices=("classic", "varied"), default="classic")
    args = ap.parse_args(argv)
    pre = args.preprocessed or str(Path(args.sheet).with_name("toon_preprocessed.png"))
    contact_sheet(args.sheet, preprocessed=pre, n=args.n, seed=args.seed, style=args.style)
    print(f"wrote {args.sheet} and {pre}")


if __name__ == "__main__":
    _main()
