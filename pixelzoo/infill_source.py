"""What `pixelzoo infill` fills with, in one image or a folder: a run or shipped weights loaded
for inference (`LoadedInfill`), the user's image and mask prepared for its grid, and the decoding
it fills with.

Shared by the single-image command (`pixelzoo.infill_cli`) and the folder form
(`pixelzoo.infill_batch`), so both read inputs and choose decodings the same way. Not for the
command line itself, nor for preprocessing (`pixelzoo.api` owns that; this module gives it
command-line error messages naming `--image` and `--mask`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pixelzoo.errors import PixelzooError


@dataclass
class LoadedInfill:
    """A model ready to fill holes, with what is needed to prepare inputs for it."""

    model: Any
    task: Any
    recipe: dict[str, Any]
    source: str
    channels: int
    height: int
    width: int
    notes: list[str] = field(default_factory=list)


def resolve_source(source: str) -> Path:
    """The folder (or file) of a run folder, a weights file, or shipped weights by name."""
    from pixelzoo.engine.build import resolve_weights

    return resolve_weights(source).file


def load_infill(source: str, device: Any = "cpu") -> LoadedInfill:
    """Build the model a run (or shipped weights) describes and load its weights.

    Through the one builder (`pixelzoo.engine.build.load_run`); a run trained for another task
    is refused before its weights are read.
    """
    from pixelzoo.engine.build import load_run

    run = load_run(source, device=device, task="infill")
    info = run.info
    return LoadedInfill(run.model, run.task, info.recipe or {}, str(info.source), info.channels,
                        info.height, info.width)


# ------------------------------------------------------------------------------ inputs
def _read(path: str, what: str) -> np.ndarray:
    from pixelzoo.data.images import BadImage, read_image

    p = Path(path)
    if not p.is_file():
        raise PixelzooError(f"--{what} {path}: file not found")
    try:
        return read_image(p)
    except BadImage as exc:
        raise PixelzooError(f"--{what} {path}: not a readable image ({exc})") from None


def prepare_image(path: str, loaded: LoadedInfill) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Image file -> (uint8 (C, H, W) for the model, the decoded RGB/gray source, notes)."""
    from pixelzoo.api import prepare_image as prepare, read_rgb

    if not Path(path).is_file():
        raise PixelzooError(f"--image {path}: file not found")
    return prepare(loaded.model, read_rgb(path, label=f"--image {path}"), label=path)


BOX = re.compile(r"^box:\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*$")


def prepare_mask(spec: str, loaded: LoadedInfill, source_shape: tuple[int, int]
                 ) -> tuple[np.ndarray, list[str]]:
    """`box:TOP,LEFT,H,W` or a black/white mask image -> bool (C, H, W) holes, notes."""
    import cv2

    from pixelzoo.api import prepare_mask as prepare

    h, w = loaded.height, loaded.width
    if spec.startswith("box:"):
        m = BOX.match(spec)
        if not m:
            raise PixelzooError(f"--mask {spec}: expected box:TOP,LEFT,HEIGHT,WIDTH in the model's "
                                f"{h}x{w} grid, e.g. box:15,15,5,10")
        top, left, bh, bw = (int(g) for g in m.groups())
        if bh == 0 or bw == 0 or top >= h or left >= w:
            raise PixelzooError(f"--mask {spec}: the box lies outside the model's {h}x{w} grid "
                                "or is empty")
        marked = np.zeros((h, w), bool)
        marked[top:top + bh, left:left + bw] = True
    else:
        raw = _read(spec, "mask")
        gray = raw if raw.ndim == 2 else cv2.cvtColor(raw[:, :, :3], cv2.COLOR_BGR2GRAY) \
            if raw.shape[2] >= 3 else raw[:, :, 0]
        marked = gray > 127  # white marks a hole
    return prepare(loaded.model, marked, source_shape, label=f"--mask {spec}")


def choose_decoding(loaded: LoadedInfill, decoding: str | None, temperature: float | None
                    ) -> tuple[str, float]:
    """The decoding and temperature to fill with: those given, else the run's own."""
    if decoding is None:
        # the run's own choice (task.fill_decoding): shipped weights name their best decoding
        decoding = "sample" if temperature is not None else loaded.task.config.fill_decoding
    if temperature is not None:
        if temperature <= 0:
            raise PixelzooError("--temperature must be positive (use --decoding greedy for T=0)")
    else:
        temperature = loaded.task.config.temperature  # the run's own
    return decoding, float(temperature)
