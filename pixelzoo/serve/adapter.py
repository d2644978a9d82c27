"""The one door between `pixelzoo serve` and pixelzoo's models: load, prepare, fill, stream.

Every model call the web app makes goes through the functions here, so the app never depends on
how a model is built or which task method fills it. They take and return plain numpy arrays in
the model's grid: an image is uint8 (C, H, W), holes are bool (H, W) (a hole covers every channel
of a pixel, as a brush paints it). Not for HTTP, pictures or bookkeeping of which models a server
may load (see `pixelzoo.serve.pool`): this module trusts the source it is given.

It is built on the Python API (`pixelzoo.api`: `create_model`, `prepare_image`,
`prepare_mask`, `fill_prepared`) plus the streamed sampler
(`pixelzoo.models.incremental.iter_sample_holes`), which the API does not offer.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pixelzoo.errors import PixelzooError

# Decodings the page offers; `schedule` (the seed's temperature schedule) is left to the CLI,
# where its parameters live in the recipe.
DECODINGS = ("fused", "mean", "greedy", "sample")


@dataclass
class ServedModel:
    """A loaded infill model and what is needed to prepare inputs for it."""

    source: str
    model: Any  # from pixelzoo.create_model: carries `model.pixelzoo` (a ModelInfo)
    channels: int
    height: int
    width: int
    default_decoding: str
    parameters: int
    architecture: dict[str, Any] = field(default_factory=dict)
    watch_sampler: str = ""


def load(source: str, device: str = "cpu") -> ServedModel:
    """Load the run folder or shipped weights `source` for filling on `device`."""
    from pixelzoo.api import create_model
    from pixelzoo.models.incremental import supports_incremental

    model = create_model(weights=source, device=device)
    info = model.pixelzoo
    if info.task != "infill":
        raise PixelzooError(f"{source}: trained for task '{info.task}', not infill")
    ok, why = supports_incremental(model)
    sampler = ("incremental: each hole pixel costs one cell step" if ok else
               f"one full forward per hole pixel ({why})")
    default = info.fill_decoding
    return ServedModel(
        source=source, model=model, channels=info.channels, height=info.height,
        width=info.width, default_decoding=default if default in DECODINGS else "mean",
        parameters=sum(p.numel() for p in model.parameters()),
        architecture=model.describe() if hasattr(model, "describe") else {},
        watch_sampler=sampler)


def prepare_image(served: ServedModel, data: bytes, scratch: Path
                  ) -> tuple[np.ndarray, tuple[int, int], list[str]]:
    """Encoded image bytes -> (uint8 (C, H, W) in the model's grid, source (h, w), notes).

    The image goes through the preprocessing of the model's training data (crop, resize,
    colour conversion), as `pixelzoo infill` does.
    """
    from pixelzoo.api import prepare_image as prepare
    from pixelzoo.api import read_rgb

    # the API reads image files; the upload gets its own name inside the server's own temp
    # folder and is removed at once
    path = scratch / f"upload-{uuid.uuid4().hex}"
    path.write_bytes(data)
    try:
        rgb = read_rgb(path, label="the image")
    finally:
        path.unlink(missing_ok=True)
    grid, source, notes = prepare(served.model, rgb, label="the image")
    return grid, (int(source.shape[0]), int(source.shape[1])), notes


def prepare_mask(served: ServedModel, data: bytes, source_shape: tuple[int, int] | None
                 ) -> tuple[np.ndarray, list[str]]:
    """Encoded mask bytes (white = hole) -> bool (H, W) holes in the model's grid, notes.

    A mask the size of the source image takes the image's crop and resize; any other size is
    resized to the grid (a pixel is a hole if any part of it is white).
    """
    import cv2

    from pixelzoo.api import prepare_mask as prepare
    from pixelzoo.data.images import BadImage, decode_image

    try:
        raw = decode_image(data)
    except BadImage as exc:
        raise PixelzooError(f"the mask is not a readable image ({exc})") from None
    gray = raw if raw.ndim == 2 else cv2.cvtColor(raw[:, :, :3], cv2.COLOR_BGR2GRAY) \
        if raw.shape[2] >= 3 else raw[:, :, 0]
    holes, notes = prepare(served.model, gray > 127, source_shape or (-1, -1), label="the mask")
    return holes.any(0), notes


def fill(served: ServedModel, image: np.ndarray, holes: np.ndarray, decoding: str,
         temperature: float = 1.0, seed: int = 0) -> np.ndarray:
    """Fill the `holes` (bool (H, W)) of `image` (uint8 (C, H, W)) -> uint8 (C, H, W)."""
    from pixelzoo.api import fill_prepared

    if decoding not in DECODINGS:
        raise PixelzooError(f"unknown decoding '{decoding}'; choose {', '.join(DECODINGS)}")
    masks = np.repeat(holes[None], served.channels, axis=0)
    return fill_prepared(served.model, image[None], masks[None], decoding=decoding,
                         temperature=temperature, seed=seed)[0]


def stream(served: ServedModel, image: np.ndarray, holes: np.ndarray, temperature: float = 1.0,
           seed: int = 0) -> Iterator[tuple[int, int, np.ndarray]]:
    """Sample the holes pixel by pixel in the model's scan order, yielding (r, w, values (C,)).

    This is the exact sequential sampler (`pixelzoo.models.incremental.iter_sample_holes`):
    for a one-direction model its result is the `sample` decoding's for the same seed; a
    four-direction model's `sample` decoding refines in chunks instead, so its result differs.
    """
    import torch

    from pixelzoo.models.incremental import iter_sample_holes
    from pixelzoo.tasks.infill import holed_tokens

    model = served.model
    device = next(model.parameters()).device
    img = torch.from_numpy(np.ascontiguousarray(image[None])).to(device)
    masks = torch.from_numpy(np.repeat(holes[None, None], served.channels, axis=1)).to(device)
    gen = torch.Generator().manual_seed(int(seed))
    for r, w, values in iter_sample_holes(model, holed_tokens(img, masks), float(temperature),
                                          gen):
        yield r, w, values[0].to(torch.uint8).cpu().numpy()
