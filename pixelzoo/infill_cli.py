"""`pixelzoo infill`: fill the holes of your own image with a trained run or shipped weights.

    pixelzoo infill RUN_DIR|WEIGHTS_NAME --image face.png --mask holes.png -o out.png
    pixelzoo infill toon_infill --image face.png --mask box:15,15,5,10 -o out.png

The image goes through the same preprocessing as the run's dataset (for `cartoonset` and `toon`:
RGB, centre crop 300, area resize to 36; read from the run's `config.yaml`); an image already at
the model's size is used as it is. A grayscale image given to a colour model (or the reverse) is
converted, with a note; an alpha channel is dropped. The mask is any black-and-white image, white
marking a hole: a mask the size of the input image takes the image's own crop and resize, any
other size is resized to the model's grid, with a note, and a model pixel is a hole if any part of
it was marked. `box:TOP,LEFT,H,W` gives a rectangle in the model's grid instead. The filled image
is written at the model's size to `-o`, and a labelled side-by-side picture (original | holes |
filled), enlarged, next to it.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pixelzoo.errors import PixelzooError

DECODING_CHOICES = ("greedy", "mean", "sample", "schedule")


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


def _weights_file(folder: Path) -> Path:
    for cand in (folder / "model.safetensors", folder / "checkpoints" / "best.safetensors",
                 folder / "checkpoints" / "last.safetensors"):
        if cand.is_file():
            return cand
    raise PixelzooError(f"{folder}: no weights found (looked for model.safetensors and "
                        "checkpoints/best.safetensors or last.safetensors); has the run trained "
                        "at least one epoch?")


def resolve_source(source: str) -> Path:
    """A run folder, a folder holding model.safetensors + config.yaml, or a shipped name."""
    path = Path(source)
    if path.is_dir():
        if not (path / "config.yaml").is_file():
            raise PixelzooError(f"{path}: not a run folder (no config.yaml in it)")
        return path
    if path.exists():
        raise PixelzooError(f"{path}: expected a run folder or a shipped weights name, got a file")
    from pixelzoo import weights

    if source in weights.names():
        return weights.resolve(source)
    shipped = ", ".join(weights.names()) or "(none)"
    raise PixelzooError(f"'{source}' is neither a run folder nor a shipped weights name "
                        f"(shipped: {shipped}); pass a folder such as "
                        f"runs/cartoon_infill/<timestamp>")


def load_infill(source: str, device: Any = "cpu") -> LoadedInfill:
    """Build the model a run (or shipped weights) describes and load its weights."""
    import yaml

    from pixelzoo.engine.checkpoint import apply_weights, read_weights
    from pixelzoo.recipe import build_part, recipe_from_dict
    from pixelzoo.tasks.infill import InfillTask

    folder = resolve_source(source)
    try:
        data = yaml.safe_load((folder / "config.yaml").read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PixelzooError(f"{folder / 'config.yaml'}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise PixelzooError(f"{folder / 'config.yaml'}: not a recipe")
    recipe = recipe_from_dict(data, name=folder.name)
    if recipe.data["task"]["type"] != "infill":
        raise PixelzooError(f"{folder}: this run was trained for task "
                            f"'{recipe.data['task']['type']}', not infill")
    path = _weights_file(folder)
    state, arch = read_weights(path)
    if not arch or not all(k in arch for k in ("channels", "height", "width")):
        raise PixelzooError(f"{path}: the weights do not record the image size they were "
                            "trained for (not a pixelzoo infill checkpoint?)")
    # The weights' own record of the model wins over config.yaml: defaults added to a part's
    # Config since training must not change the model the weights belong to.
    spec = arch.get("model") or recipe.data["model"]
    model = build_part("models", spec, channels=arch["channels"], height=arch["height"],
                       width=arch["width"], num_classes=None)
    apply_weights(path, model, state)
    model.to(device).eval()
    from pixelzoo.models.wavefront import use_fastest_impl

    use_fastest_impl(model)
    task = InfillTask.for_inference(recipe)
    return LoadedInfill(model, task, recipe.data, str(folder), int(arch["channels"]),
                        int(arch["height"]), int(arch["width"]))



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


def _crop_and_size(dataset: dict[str, Any], height: int) -> tuple[Any, int]:
    crop = dataset.get("crop", None)
    size = int(dataset.get("size", height) or height)
    return crop, size


def prepare_image(path: str, loaded: LoadedInfill) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Image file -> (uint8 (C, H, W) for the model, the decoded RGB/gray source, notes)."""
    from pixelzoo.data.images import native_channels, to_channels
    from pixelzoo.data.preprocess import preprocess_rgb

    raw = _read(path, "image")
    notes: list[str] = []
    native = native_channels(raw)
    if raw.ndim == 3 and raw.shape[2] in (2, 4):
        notes.append(f"{path}: alpha channel dropped")
    if native != loaded.channels:
        kind = {1: "grayscale", 3: "colour"}
        notes.append(f"{path}: a {kind[native]} image, converted to {kind[loaded.channels]} for "
                     f"this {loaded.channels}-channel model")
    img = to_channels(raw, loaded.channels)
    h, w = loaded.height, loaded.width
    if img.shape[:2] == (h, w):
        out = img if img.ndim == 3 else img[:, :, None]
        return np.ascontiguousarray(out.transpose(2, 0, 1)), img, notes
    crop, size = _crop_and_size(loaded.recipe["dataset"], h)
    c = min(img.shape[:2]) if crop == "square" else crop
    out = preprocess_rgb(img, crop=c, size=size)
    if out.shape[1:] != (h, w):
        raise PixelzooError(f"the run's preprocessing makes {out.shape[1]}x{out.shape[2]} images "
                            f"but the model expects {h}x{w}")
    notes.append(f"{path}: {img.shape[1]}x{img.shape[0]} preprocessed like the run's dataset "
                 f"(centre crop {c if c is not None else 'none'}, resize to {h}x{w})")
    return out, img, notes


BOX = re.compile(r"^box:\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*$")


def prepare_mask(spec: str, loaded: LoadedInfill, source_shape: tuple[int, int]
                 ) -> tuple[np.ndarray, list[str]]:
    """`box:TOP,LEFT,H,W` or a black/white mask image -> bool (C, H, W) holes, notes."""
    import cv2

    from pixelzoo.data.preprocess import center_crop

    h, w, c = loaded.height, loaded.width, loaded.channels
    notes: list[str] = []
    if spec.startswith("box:"):
        m = BOX.match(spec)
        if not m:
            raise PixelzooError(f"--mask {spec}: expected box:TOP,LEFT,HEIGHT,WIDTH in the model's "
                                f"{h}x{w} grid, e.g. box:15,15,5,10")
        top, left, bh, bw = (int(g) for g in m.groups())
        if bh == 0 or bw == 0 or top >= h or left >= w:
            raise PixelzooError(f"--mask {spec}: the box lies outside the model's {h}x{w} grid "
                                "or is empty")
        pixel = np.zeros((h, w), bool)
        pixel[top:top + bh, left:left + bw] = True
    else:
        raw = _read(spec, "mask")
        gray = raw if raw.ndim == 2 else cv2.cvtColor(raw[:, :, :3], cv2.COLOR_BGR2GRAY) \
            if raw.shape[2] >= 3 else raw[:, :, 0]
        white = (gray > 127).astype(np.float32)
        if white.shape == (h, w):
            pixel = white > 0
        else:
            if white.shape == source_shape:
                crop, _ = _crop_and_size(loaded.recipe["dataset"], h)
                cc = min(white.shape) if crop == "square" else crop
                white = center_crop(white, cc)
                notes.append(f"--mask {spec}: the image's size, so cropped and resized with it "
                             f"to {h}x{w}")
            else:
                notes.append(f"--mask {spec}: {gray.shape[1]}x{gray.shape[0]} differs from the "
                             f"model's {w}x{h}; resized (a pixel is a hole if any of it is white)")
            small = cv2.resize(white, (w, h), interpolation=cv2.INTER_AREA)
            pixel = small > 0.01
    if not pixel.any():
        raise PixelzooError(f"--mask {spec}: no holes (white marks a hole; the mask is all black)")
    return np.repeat(pixel[None], c, axis=0), notes


# ------------------------------------------------------------------------------ command
def run_infill(source: str, image: str, mask: str, out: str, *, decoding: str | None = None,
               temperature: float | None = None, seed: int = 0, device: str = "auto",
               zoom: int = 8) -> dict[str, Any]:
    """Fill `image`'s holes; write `out` and a side-by-side PNG. Returns paths and notes."""
    import torch

    from pixelzoo.tasks.infill import save_grid

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        # One image is far too little work to share between threads; extra threads only spin
        # and fight other processes for the cores.
        torch.set_num_threads(1)
    loaded = load_infill(source, device)
    img, src, notes = prepare_image(image, loaded)
    holes, mask_notes = prepare_mask(mask, loaded, tuple(src.shape[:2]))
    notes += mask_notes
    if decoding is None:
        # the run's own choice (task.fill_decoding): shipped weights name their best decoding
        decoding = "sample" if temperature is not None else loaded.task.config.fill_decoding
    if temperature is not None:
        if temperature <= 0:
            raise PixelzooError("--temperature must be positive (use --decoding greedy for T=0)")
        loaded.task.config.temperature = float(temperature)
    gen = torch.Generator().manual_seed(seed)
    filled = loaded.task.fill(loaded.model, img[None], holes[None], device, decoding,
                              generator=gen)[0]
    out_path = Path(out)
    if out_path.suffix.lower() not in (".png", ".bmp", ".tif", ".tiff", ".ppm"):
        raise PixelzooError(f"-o {out}: write a lossless image (.png); a lossy format would "
                            "blur the filled pixels")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    _write_image(out_path, filled)
    side = out_path.with_name(f"{out_path.stem}_side_by_side.png")
    label = f"filled ({decoding})" if decoding != "sample" else \
        f"filled (T={loaded.task.config.temperature:g})"
    save_grid(side, img[None], holes[None],
              [("original", img[None]), ("holes", None), (label, filled[None])], zoom)
    return {"output": str(out_path), "side_by_side": str(side), "notes": notes,
            "decoding": decoding, "source": loaded.source, "holes": int(holes.any(0).sum())}


def _write_image(path: Path, chw: np.ndarray) -> None:
    import cv2

    from pixelzoo.engine.atomic import atomic_write_bytes

    hwc = chw.transpose(1, 2, 0)
    if hwc.shape[2] == 3:
        hwc = hwc[:, :, ::-1]  # cv2 encodes BGR
    ok, data = cv2.imencode(path.suffix.lower(), np.ascontiguousarray(hwc))
    if not ok:
        raise PixelzooError(f"could not encode {path}")
    atomic_write_bytes(path, data.tobytes())


def cmd_infill(args: argparse.Namespace) -> int:
    from rich.console import Console

    result = run_infill(args.source, args.image, args.mask, args.output, decoding=args.decoding,
                        temperature=args.temperature, seed=args.seed, device=args.device,
                        zoom=args.zoom)
    con = Console(highlight=False, soft_wrap=True)  # paths stay whole, for copying
    for note in result["notes"]:
        con.print(f"[yellow]note[/yellow]: {note}")
    con.print(f"filled {result['holes']} hole pixel(s) with {result['source']} "
              f"({result['decoding']}): wrote {result['output']} and {result['side_by_side']}")
    return 0


def add_parser(subparsers: Any) -> None:
    """Register `pixelzoo infill` on the main parser's sub-commands."""
    p = subparsers.add_parser(
        "infill", help="fill the holes of your own image with a trained run or shipped weights",
        description="Fill the holes of an image with a trained infill run (a run folder) or "
                    "shipped weights (see `pixelzoo list weights`).")
    p.add_argument("source", metavar="RUN_DIR|WEIGHTS_NAME",
                   help="a run folder (runs/cartoon_infill/<timestamp>) or shipped weights name")
    p.add_argument("--image", required=True, help="the image to fill (PNG, JPEG, ...)")
    p.add_argument("--mask", required=True, metavar="MASK.png|box:TOP,LEFT,H,W",
                   help="black/white image, white = hole; or a box in the model's grid")
    p.add_argument("-o", "--output", required=True, help="where to write the filled PNG")
    p.add_argument("--decoding", choices=DECODING_CHOICES, default=None,
                   help="greedy, mean (expected intensity), sample, or the seed's temperature "
                        "schedule (default: the run's task.fill_decoding; greedy unless set)")
    p.add_argument("--temperature", type=float, default=None,
                   help="sampling temperature (implies --decoding sample)")
    p.add_argument("--seed", type=int, default=0, help="random seed for sampling")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--zoom", type=int, default=8, help="enlargement of the side-by-side picture")
    p.set_defaults(func=cmd_infill)
