"""`pixelzoo infill`: fill the holes of your own image with a trained run or shipped weights.

    pixelzoo infill RUN_DIR|WEIGHTS_NAME --image face.png --mask holes.png -o out.png
    pixelzoo infill toon_infill --image face.png --mask box:15,15,5,10 -o out.png
    pixelzoo infill toon_infill --image faces/ --mask masks/ -o filled/ [--original faces/]

The image goes through the same preprocessing as the run's dataset (for `cartoonset` and `toon`:
RGB, centre crop 300, area resize to 36; read from the run's `config.yaml`); an image already at
the model's size is used as it is. A grayscale image given to a colour model (or the reverse) is
converted, with a note; an alpha channel is dropped. The mask is any black-and-white image, white
marking a hole: a mask the size of the input image takes the image's own crop and resize, any
other size is resized to the model's grid, with a note, and a model pixel is a hole if any part of
it was marked. `box:TOP,LEFT,H,W` gives a rectangle in the model's grid instead. The filled image
is written at the model's size to `-o`, and a labelled side-by-side picture (original | holes |
filled), enlarged, next to it.

With `--image DIR` the command fills a whole folder, the model loaded once and the images filled
in batches: masks paired with the images by file name (or one mask file or box for all), one
`<name>.png` per image in `-o DIR`, bad files skipped and reported, and with `--original DIR` a
CSV of each image's hole PSNR and SSIM; see `pixelzoo.infill_batch`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pixelzoo.config import SEED_MAX
from pixelzoo.errors import PixelzooError
from pixelzoo.infill_source import choose_decoding, load_infill, prepare_image, prepare_mask
from pixelzoo.tasks.infill_config import DECODINGS


def run_infill(source: str, image: str, mask: str, out: str, *, decoding: str | None = None,
               temperature: float | None = None, seed: int = 0, device: str = "auto",
               zoom: int = 8) -> dict[str, Any]:
    """Fill `image`'s holes; write `out` and a side-by-side PNG. Returns paths and notes."""
    import torch

    from pixelzoo.api import fill_prepared
    from pixelzoo.engine.atomic import atomic_write_image
    from pixelzoo.engine.device import pick_device
    from pixelzoo.report.grid import save_grid, show_holes

    device = pick_device(device, key="--device")
    if device.type == "cpu":
        # One image is far too little work to share between threads; extra threads only spin
        # and fight other processes for the cores.
        torch.set_num_threads(1)
    loaded = load_infill(source, device)
    img, src, notes = prepare_image(image, loaded)
    holes, mask_notes = prepare_mask(mask, loaded, tuple(src.shape[:2]))
    notes += mask_notes
    decoding, temperature = choose_decoding(loaded, decoding, temperature)
    filled = fill_prepared(loaded.model, img[None], holes[None], decoding=decoding,
                           temperature=temperature, seed=seed)[0]
    out_path = Path(out)
    if out_path.suffix.lower() not in (".png", ".bmp", ".tif", ".tiff", ".ppm"):
        raise PixelzooError(f"-o {out}: write a lossless image (.png); a lossy format would "
                            "blur the filled pixels")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_image(out_path, filled.transpose(1, 2, 0))
    side = out_path.with_name(f"{out_path.stem}_side_by_side.png")
    label = f"filled ({decoding})" if decoding != "sample" else f"filled (T={temperature:g})"
    save_grid(side, [("original", img[None]), ("holes", show_holes(img[None], holes[None])),
                     (label, filled[None])], zoom=zoom)
    return {"output": str(out_path), "side_by_side": str(side), "notes": notes,
            "decoding": decoding, "source": loaded.source, "holes": int(holes.any(0).sum())}


# ------------------------------------------------------------------------------ argument checks
ZOOM_MAX = 64  # 36 px x 64 x 3 panels is already a 7000-pixel-wide picture


def _number(kind: type, low: float, high: float, what: str) -> Any:
    """An argparse type: a finite `kind` in [low, high], else a message naming the range."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not (low <= value <= high):  # also refuses NaN, for which every comparison fails
            raise argparse.ArgumentTypeError(f"expected {what}, got {text}")
        return value

    return parse


def _positive_temperature(text: str) -> float:
    value = _number(float, 0.0, float("inf"), "a positive number")(text)
    if value == 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(
            f"expected a positive, finite number, got {text} (for T=0 use --decoding greedy)")
    return float(value)


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return a.samefile(b)  # also through links and other spellings
    except OSError:
        pass
    return a.resolve() == b.resolve()


def check_outputs(image: str, mask: str, output: str, *, overwrite: bool) -> None:
    """Refuse, before any work, outputs that would replace an input or an existing file (unless
    `overwrite`), and an `-o` that cannot be a file (a folder, or under a regular file)."""
    out = Path(output)
    side = out.with_name(f"{out.stem}_side_by_side.png")
    if out.is_dir():
        raise PixelzooError(f"-o {output}: is a folder; name the PNG to write, e.g. "
                            f"{out / 'filled.png'}")
    for parent in [out.parent, *out.parent.parents]:
        if parent.exists():
            if not parent.is_dir():
                raise PixelzooError(f"-o {output}: {parent} is a file, not a folder, so nothing "
                                    "can be written under it")
            break
    inputs = [("--image", Path(image))]
    if not mask.startswith("box:"):
        inputs.append(("--mask", Path(mask)))
    for target, what in ((out, "-o"), (side, "the side-by-side picture")):
        for flag, src in inputs:
            if _same_file(target, src) and not overwrite:
                raise PixelzooError(
                    f"{what} {target} is the {flag} file itself: writing it would destroy the "
                    "input; choose another -o (or pass --overwrite to replace it anyway)")
        if target.exists() and not overwrite:
            raise PixelzooError(f"{what} {target} exists; choose another -o, or pass "
                                "--overwrite to replace it")


def check_arguments(args: argparse.Namespace) -> None:
    """Flags that contradict each other, and devices, refused before the model is loaded."""
    if args.temperature is not None and args.decoding not in (None, "sample"):
        raise PixelzooError(f"--temperature {args.temperature:g} only applies to --decoding "
                            f"sample; --decoding {args.decoding} would ignore it. Drop one of "
                            "the two")
    from pixelzoo.engine.device import pick_device

    pick_device(args.device, key="--device")
    if Path(args.image).is_dir():
        from pixelzoo.infill_batch import check_batch_arguments

        check_batch_arguments(args)
        return
    for flag, value in (("--original", args.original), ("--csv", args.csv)):
        if value is not None:
            raise PixelzooError(f"{flag} applies to a folder of images (--image DIR); "
                                f"--image {args.image} is one file")
    if not args.mask.startswith("box:") and Path(args.mask).is_dir():
        raise PixelzooError(f"--mask {args.mask} is a folder: masks paired by name need a folder "
                            f"of images (--image DIR); --image {args.image} is one file")
    check_outputs(args.image, args.mask, args.output, overwrite=args.overwrite)


def cmd_infill(args: argparse.Namespace) -> int:
    from rich.console import Console

    check_arguments(args)
    if Path(args.image).is_dir():
        from pixelzoo.infill_batch import cmd_infill_batch

        return cmd_infill_batch(args)
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
    from pixelzoo.infill_batch import BATCH_SIZE

    p = subparsers.add_parser(
        "infill", help="fill the holes of your own image with a trained run or shipped weights",
        description="Fill the holes of an image with a trained infill run (a run folder) or "
                    "shipped weights (see `pixelzoo list weights`).")
    p.add_argument("source", metavar="RUN_DIR|WEIGHTS_NAME",
                   help="a run folder (runs/cartoon_infill/<timestamp>) or shipped weights name")
    p.add_argument("--image", required=True, metavar="IMAGE|DIR",
                   help="the image to fill (PNG, JPEG, ...), or a folder of them")
    p.add_argument("--mask", required=True, metavar="MASK.png|DIR|box:TOP,LEFT,H,W",
                   help="black/white image, white = hole; or a box in the model's grid; with "
                        "--image DIR also a folder of masks, paired with the images by name")
    p.add_argument("-o", "--output", required=True, metavar="OUT.png|DIR",
                   help="where to write the filled PNG (with --image DIR: a folder)")
    p.add_argument("--decoding", choices=DECODINGS, default=None,
                   help="greedy, mean (expected intensity), fused (the model's distribution "
                        "with a classic fill as prior, task.fused), sample, or the seed's "
                        "temperature schedule (default: the run's task.fill_decoding; greedy "
                        "unless set)")
    p.add_argument("--temperature", type=_positive_temperature, default=None,
                   help="sampling temperature, > 0 (implies --decoding sample)")
    p.add_argument("--seed", type=_number(int, 0, SEED_MAX, f"a whole number from 0 to {SEED_MAX}"),
                   default=0, help="random seed for sampling")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (or cuda:N)")
    p.add_argument("--zoom", type=_number(int, 1, ZOOM_MAX, f"a whole number from 1 to {ZOOM_MAX}"),
                   default=8, help="enlargement of the side-by-side picture")
    p.add_argument("--overwrite", action="store_true",
                   help="replace existing output files (never done otherwise)")
    batch = p.add_argument_group(
        "a folder of images (--image DIR)",
        "Exit status 0 when every image was filled, 3 when some were skipped (each is listed "
        "with the reason), 2 when none could be.")
    batch.add_argument("--original", metavar="DIR", default=None,
                       help="the complete images, paired by name: write each filled image's "
                            "hole PSNR and SSIM to a CSV (the --image folder itself when its "
                            "images are complete)")
    batch.add_argument("--csv", metavar="PATH", default=None,
                       help="where the scores go (default: -o DIR/hole_metrics.csv)")
    batch.add_argument("--batch-size", type=_number(int, 1, 4096, "a whole number from 1 to 4096"),
                       default=BATCH_SIZE, help=f"images per forward pass (default {BATCH_SIZE})")
    batch.add_argument("--side-by-side", action="store_true",
                       help="also write original | holes | filled to -o DIR/side_by_side/")
    p.set_defaults(func=cmd_infill)
