"""The Python API, in timm's spirit: `create_model`, `fill` and `list_weights`.

    import pixelzoo
    model = pixelzoo.create_model("rowrnn", weights="toon_infill")
    filled = pixelzoo.fill(model, image, mask)   # image HxWx3 uint8 RGB, mask HxW bool

`create_model` is the one builder, `pixelzoo.engine.build.create_model`. `fill` prepares a user's
image the way the model's training data was prepared (colour or gray converted, alpha dropped,
centre crop and area resize, from the run's own `config.yaml`) and its mask (at the image's size
it takes the same crop and resize; at the model's grid it is used as it is; any other size is
resized, a model pixel being a hole if any part of it was marked), then fills the holes with the
infill task's decoding. `prepare` and `fill_prepared` are the two halves, for callers that want
the notes or the prepared arrays (`pixelzoo infill` is these plus file reading and writing).

Not here: training and evaluation (`pixelzoo run`), the file formats, the web app. Importing this
module imports no torch; `import pixelzoo` exports these names lazily.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pixelzoo.errors import PixelzooError


# ------------------------------------------------------------------------------ models
def create_model(name: str | None = None, *, weights: str | Path | None = None,
                 device: Any = None, **overrides: Any) -> Any:
    """A model by name (default `rowrnn`), from weights, or both; see `engine.build.create_model`.

    `weights` is a shipped tag (`"toon_infill"`, see `list_weights`), a run folder or a
    `.safetensors` file; `"rowrnn.toon_infill"` as `name` is the same as
    `weights="toon_infill"`. Parameters given as keywords must fit the weights. The model carries
    `model.pixelzoo` (a `ModelInfo`: task, image size and channels, preprocessing, the weights'
    record) and is in eval mode when weights were loaded.
    """
    from pixelzoo.engine.build import create_model as build

    return build(name, weights=weights, device=device, **overrides)


def list_weights() -> list[dict[str, Any]]:
    """The shipped weights, one JSON-ready record each (see `pixelzoo.weights.list_weights`)."""
    from pixelzoo.weights import list_weights as shipped

    return shipped()


# ------------------------------------------------------------------------------ inputs
@dataclass
class Prepared:
    """Images and holes ready for the model, with what was done to them."""

    images: np.ndarray  # uint8 (N, C, H, W) at the model's grid
    holes: np.ndarray  # bool (N, C, H, W)
    notes: list[str] = field(default_factory=list)
    sources: list[np.ndarray] = field(default_factory=list)  # the decoded inputs, RGB or gray


def _info(model: Any) -> Any:
    info = getattr(model, "pixelzoo", None)
    if info is None:
        raise PixelzooError("this model was not built by pixelzoo.create_model, so its input "
                            "size and preprocessing are unknown")
    return info


def read_rgb(path: str | Path, *, label: str | None = None) -> np.ndarray:
    """An image file -> uint8 RGB (H, W, 3), RGBA (H, W, 4), or gray (H, W[, 2 with alpha])."""
    from pixelzoo.data.images import BadImage, read_image
    from pixelzoo.data.preprocess import bgr_to_rgb

    p = Path(path)
    label = label or str(path)
    if not p.is_file():
        raise PixelzooError(f"{label}: file not found")
    try:
        raw = read_image(p)
    except BadImage as exc:
        raise PixelzooError(f"{label}: not a readable image ({exc})") from None
    if raw.ndim == 3 and raw.shape[2] == 4:  # keep the alpha, so it is dropped with a note
        return np.ascontiguousarray(np.concatenate([bgr_to_rgb(raw), raw[:, :, 3:]], axis=2))
    return bgr_to_rgb(raw)


def _to_channels(img: np.ndarray, channels: int) -> np.ndarray:
    """RGB(A) or gray(+alpha) -> RGB (H, W, 3) or gray (H, W); alpha is dropped."""
    import cv2

    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 3 and img.shape[2] == 2:  # gray + alpha
        img = img[:, :, 0]
    if channels == 1:
        return img if img.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(img[:, :, :3]),
                                                      cv2.COLOR_RGB2GRAY)
    if img.ndim == 2:
        return np.repeat(img[:, :, None], 3, axis=2)
    return np.ascontiguousarray(img[:, :, :3])


def prepare_image(model: Any, image: np.ndarray | str | Path, *, label: str = "image"
                  ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """One image -> (uint8 (C, H, W) for the model, the decoded RGB/gray source, notes).

    `image` is a uint8 (H, W, 3) RGB array (RGBA, (H, W) gray and gray + alpha are converted,
    with a note) or a path. At the model's grid it is used as it is; any other size takes the
    preprocessing of the model's training data.
    """
    from pixelzoo.data.preprocess import preprocess_rgb

    info = _info(model)
    if isinstance(image, (str, Path)):
        label = str(image) if label == "image" else label
        image = read_rgb(image, label=label)
    raw = np.asarray(image)
    if raw.dtype != np.uint8:
        raise PixelzooError(f"{label}: expected uint8 pixels (0..255), got {raw.dtype}")
    if raw.ndim not in (2, 3) or (raw.ndim == 3 and raw.shape[2] not in (1, 2, 3, 4)) \
            or min(raw.shape[:2]) < 1:
        raise PixelzooError(f"{label}: expected an (H, W, 3) RGB or (H, W) gray image, got shape "
                            f"{raw.shape}")
    notes: list[str] = []
    native = 1 if raw.ndim == 2 or raw.shape[2] <= 2 else 3
    if raw.ndim == 3 and raw.shape[2] in (2, 4):
        notes.append(f"{label}: alpha channel dropped")
    c, h, w = info.channels, info.height, info.width
    if native != c:
        kind = {1: "grayscale", 3: "colour"}
        notes.append(f"{label}: a {kind[native]} image, converted to {kind.get(c, c)} for "
                     f"this {c}-channel model")
    img = _to_channels(raw, c)
    if img.shape[:2] == (h, w):
        out = img if img.ndim == 3 else img[:, :, None]
        return np.ascontiguousarray(out.transpose(2, 0, 1)), img, notes
    pre = info.preprocessing
    crop = min(img.shape[:2]) if pre["crop"] == "square" else pre["crop"]
    out = preprocess_rgb(img, crop=crop, size=pre["size"])
    if out.shape[1:] != (h, w):
        raise PixelzooError(f"the run's preprocessing makes {out.shape[1]}x{out.shape[2]} images "
                            f"but the model expects {h}x{w}")
    notes.append(f"{label}: {img.shape[1]}x{img.shape[0]} preprocessed like the run's dataset "
                 f"(centre crop {crop if crop is not None else 'none'}, resize to {h}x{w})")
    return out, img, notes


def prepare_mask(model: Any, mask: np.ndarray, source_shape: tuple[int, int], *,
                 label: str = "mask") -> tuple[np.ndarray, list[str]]:
    """An (H, W) mask (True or nonzero: a hole) -> bool (C, H, W) holes at the model's grid.

    At the model's grid it is used as it is; at the source image's size (`source_shape`) it
    takes the image's crop and resize; any other size is resized, with a note. Either way a model
    pixel is a hole if any part of it was marked.
    """
    import cv2

    from pixelzoo.data.preprocess import center_crop

    info = _info(model)
    h, w, c = info.height, info.width, info.channels
    m = np.asarray(mask)
    if m.ndim != 2 or min(m.shape) < 1:
        raise PixelzooError(f"{label}: expected an (H, W) mask, True marking a hole, got shape "
                            f"{m.shape}")
    notes: list[str] = []
    marked = m.astype(bool)
    if marked.shape == (h, w):
        pixel = marked
    else:
        white = marked.astype(np.float32)
        if marked.shape == tuple(source_shape):
            crop = info.preprocessing["crop"]
            white = center_crop(white, min(white.shape) if crop == "square" else crop)
            notes.append(f"{label}: the image's size, so cropped and resized with it to {h}x{w}")
        else:
            notes.append(f"{label}: {m.shape[1]}x{m.shape[0]} differs from the model's {w}x{h}; "
                         "resized (a pixel is a hole if any of it is marked)")
        small = cv2.resize(white, (w, h), interpolation=cv2.INTER_AREA)
        pixel = small > 0.01
    if not pixel.any():
        raise PixelzooError(f"{label}: no holes (white, or True, marks a hole; this mask marks "
                            "none)")
    return np.repeat(pixel[None], c, axis=0), notes


def _items(value: Any, single_ndim: int) -> tuple[list[Any], bool]:
    """(items, batched): a list/tuple or an array with one more axis than one item is a batch."""
    if isinstance(value, (list, tuple)):
        return list(value), True
    if isinstance(value, (str, Path)):
        return [value], False
    arr = np.asarray(value)
    if arr.ndim == single_ndim + 1:
        return list(arr), True
    return [arr], False


def prepare(model: Any, image: Any, mask: Any) -> Prepared:
    """Images and masks (one each, or batches: (N, H, W, 3) arrays or lists) -> `Prepared`.

    One mask may serve a whole batch of images.
    """
    images, batched = _items(image, 3 if not isinstance(image, np.ndarray) or
                             np.asarray(image).ndim != 2 else 2)
    masks, _ = _items(mask, 2)
    if len(masks) == 1 and len(images) > 1:
        masks = masks * len(images)
    if len(masks) != len(images):
        raise PixelzooError(f"mask: {len(masks)} masks for {len(images)} images")
    if not images:
        raise PixelzooError("image: no images given")
    chw, holes, notes, sources = [], [], [], []
    for i, (img, msk) in enumerate(zip(images, masks, strict=True)):
        tag = f"[{i}]" if batched else ""
        x, src, n1 = prepare_image(model, img, label=f"image{tag}" if not isinstance(
            img, (str, Path)) else str(img))
        m, n2 = prepare_mask(model, msk, tuple(src.shape[:2]), label=f"mask{tag}")
        chw.append(x)
        holes.append(m)
        notes += n1 + n2
        sources.append(src)
    return Prepared(np.stack(chw), np.stack(holes), notes, sources)


# ------------------------------------------------------------------------------ filling
def fill_prepared(model: Any, images: np.ndarray, holes: np.ndarray, *, decoding: str = "mean",
                  temperature: float = 1.0, seed: int = 0, batch_size: int | None = None
                  ) -> np.ndarray:
    """Fill uint8 (N, C, H, W) `images` at bool `holes` -> uint8 (N, C, H, W).

    `decoding`: greedy, mean (the expected intensity), fused (the expectation with a classic
    fill as prior: the run's `task.fused`), sample (at `temperature`), or schedule (the seed's
    temperature schedule). `seed` makes sampling repeatable. `batch_size`: images
    per forward (default: the run's `eval.batch_size`). Known pixels are returned unchanged.
    Threads may fill with one model at once: the temperature is passed to the task for this call
    only, and nothing shared is changed (a loaded model is in eval mode already).
    """
    import torch

    from pixelzoo.engine.build import inference_task
    from pixelzoo.tasks.infill_config import DECODINGS

    if decoding not in DECODINGS:
        raise PixelzooError(f"decoding: unknown decoding '{decoding}'; choose "
                            f"{', '.join(DECODINGS)}")
    if not temperature > 0:
        raise PixelzooError("temperature must be positive (use decoding='greedy' for T=0)")
    task = inference_task(model, "infill")
    device = next(model.parameters()).device
    was_training = model.training
    if was_training:  # a model fresh from training; loaded weights are in eval mode already
        model.eval()
    try:
        gen = torch.Generator().manual_seed(int(seed))
        return task.fill(model, images, holes, device, decoding, generator=gen,
                         temperature=float(temperature), batch_size=batch_size)
    finally:
        if was_training:
            model.train()


def fill(model: Any, image: Any, mask: Any, *, decoding: str = "mean", temperature: float = 1.0,
         seed: int = 0) -> np.ndarray:
    """Fill the holes of `image` at `mask` with an infill model (see the module docs).

    `image`: uint8 (H, W, 3) RGB (or (H, W) gray, or a path), at any size; `mask`: (H, W) bool,
    True marking a hole, at the image's size or the model's grid. Returns the filled image at
    the model's grid: uint8 (H, W, 3), or (H, W) for a one-channel model. A batch ((N, H, W, 3)
    array or a list; masks (N, H, W), a list, or one for all) returns (N, H, W, 3).
    """
    batched = isinstance(image, (list, tuple)) or (
        isinstance(image, np.ndarray) and image.ndim == 4)
    prep = prepare(model, image, mask)
    out = fill_prepared(model, prep.images, prep.holes, decoding=decoding,
                        temperature=temperature, seed=seed)
    hwc = out.transpose(0, 2, 3, 1)
    if hwc.shape[3] == 1:
        hwc = hwc[..., 0]
    return np.ascontiguousarray(hwc if batched else hwc[0])


__all__ = ["Prepared", "create_model", "fill", "fill_prepared", "list_weights", "prepare",
           "prepare_image", "prepare_mask", "read_rgb"]
