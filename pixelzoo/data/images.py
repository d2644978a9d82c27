"""Safe image reading: decode from bytes, classify broken files, apply the seed preprocessing.

Every image-file dataset (`cartoonset`, `image_folder`) reads through here, so they share one
notion of a bad file and one preprocessing path. Files are decoded with `cv2.imdecode` from their
bytes, so a PNG saved with a `.jpg` name still loads: the content decides, not the extension.
Empty, truncated or undecodable files are reported as bad; the dataset's `on_bad_image` policy
then either skips them (one warning with a count and the first few names, the names kept for the
run's summary) or stops with the file named. Decoding runs on a few threads because cv2 releases
the GIL, which roughly multiplies throughput by the core count on large folders.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from pixelzoo.data.image_header import check_size
from pixelzoo.data.preprocess import bgr_to_rgb, preprocess_rgb
from pixelzoo.errors import DataError

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff",
                              ".ppm", ".pgm", ".pbm"})
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SHOW_BAD = 5  # how many bad names a warning spells out before "and N more"

Crop = int | Literal["square"] | None


class BadImage(Exception):
    """A file that cannot be turned into an image; the message is the reason."""


def find_images(root: Path) -> list[Path]:
    """Image files under `root`, recursively, sorted by relative path; hidden folders skipped.

    Hidden folders are skipped so the dataset's own `.pixelzoo-cache/` (and `.git`, `.ipynb_*`)
    never contribute images.
    """
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for fn in filenames:
            if not fn.startswith(".") and os.path.splitext(fn)[1].lower() in IMAGE_EXTENSIONS:
                found.append(Path(dirpath) / fn)
    found.sort(key=lambda p: p.relative_to(root).as_posix())
    return found


def decode_image(data: bytes) -> np.ndarray:
    """Bytes -> uint8 (H, W) or (H, W, C) in cv2's BGR(A) order; raises BadImage."""
    import cv2

    if not data:
        raise BadImage("empty file")
    # libpng prints an error line per truncated file before giving up; spotting the missing
    # IEND trailer ourselves keeps the console to one summary warning.
    if data.startswith(PNG_SIGNATURE) and b"IEND" not in data[-4096:]:
        raise BadImage("truncated PNG")
    too_big = check_size(data)  # a few bytes can claim gigapixels: refuse before decoding
    if too_big:
        raise BadImage(too_big)
    try:
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:  # OpenCV's own limits (a format whose header we do not read)
        raise BadImage(f"not decodable: {str(exc).strip().splitlines()[-1]}") from None
    if img is None or img.size == 0:
        raise BadImage("not a readable image")
    if img.dtype == np.uint16:
        img = (img >> 8).astype(np.uint8)
    elif img.dtype != np.uint8:
        raise BadImage(f"unsupported pixel type {img.dtype}")
    return img


def read_image(path: Path) -> np.ndarray:
    """Read and decode one file; raises BadImage with the reason."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadImage(exc.strerror or str(exc)) from exc
    return decode_image(data)


def native_channels(img: np.ndarray) -> int:
    """1 for grayscale (with or without alpha), 3 for colour (with or without alpha)."""
    return 1 if img.ndim == 2 or img.shape[2] <= 2 else 3


def to_channels(img: np.ndarray, channels: int) -> np.ndarray:
    """A decoded BGR(A)/gray image -> RGB (H, W, 3) or gray (H, W); alpha is dropped.

    Dropping alpha matches what the seed's `cv2.imread` did to the Cartoon Set's RGBA PNGs.
    """
    import cv2

    if img.ndim == 3 and img.shape[2] == 2:  # gray + alpha
        img = img[:, :, 0]
    if channels == 1:
        return img if img.ndim == 2 else cv2.cvtColor(img[:, :, :3], cv2.COLOR_BGR2GRAY)
    if img.ndim == 2:
        return np.repeat(img[:, :, None], 3, axis=2)
    return bgr_to_rgb(img)


def preprocess_file(path: Path, *, channels: int, crop: Crop, size: int) -> tuple[np.ndarray, int]:
    """One file -> (uint8 (channels, size, size), native channel count); raises BadImage."""
    img = read_image(path)
    native = native_channels(img)
    img = to_channels(img, channels)
    c = min(img.shape[:2]) if crop == "square" else crop
    return preprocess_rgb(img, crop=c, size=size), native


@dataclass
class LoadedImages:
    """The outcome of decoding a list of files: good images, and which files were bad and why."""

    images: np.ndarray  # uint8 (N, C, size, size)
    kept: list[int]  # indices into the input list, one per image
    bad: list[tuple[int, str]] = field(default_factory=list)  # (index, reason)


def _workers() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def load_images(
    paths: Sequence[Path],
    names: Sequence[str],
    *,
    channels: int,
    crop: Crop,
    size: int,
    limit: int | None = None,
    dataset: str = "dataset",
) -> LoadedImages:
    """Decode and preprocess `paths` in order, stopping once `limit` good images are in hand.

    With a limit, only as many files as needed are decoded (in batches, so a bad file among the
    first N is replaced by the next good one). Raises DataError when `channels` is 3 and some
    images are grayscale: silently tripling a gray channel would hide a wrong folder.
    """
    want = len(paths) if limit is None else min(limit, len(paths))
    out: list[np.ndarray] = []
    kept: list[int] = []
    bad: list[tuple[int, str]] = []
    gray: list[int] = []
    pos = 0

    def work(i: int) -> tuple[int, np.ndarray | None, int, str]:
        try:
            arr, native = preprocess_file(paths[i], channels=channels, crop=crop, size=size)
            return i, arr, native, ""
        except BadImage as exc:
            return i, None, 0, str(exc)

    with ThreadPoolExecutor(_workers()) as pool:
        while len(kept) < want and pos < len(paths):
            # A small margin beyond what is missing absorbs a few bad files in one round.
            batch = range(pos, min(len(paths), pos + (want - len(kept)) + 8))
            pos = batch.stop
            for i, arr, native, reason in pool.map(work, batch):
                if arr is None:
                    bad.append((i, reason))
                    continue
                if len(kept) >= want:
                    continue
                if channels == 3 and native == 1:
                    gray.append(i)
                out.append(arr)
                kept.append(i)

    if gray:
        _channel_error(dataset, names, gray, len(kept))
    images = np.stack(out) if out else np.zeros((0, channels, size, size), np.uint8)
    return LoadedImages(images, kept, bad)


def _channel_error(dataset: str, names: Sequence[str], gray: list[int], total: int) -> None:
    shown = ", ".join(names[i] for i in gray[:SHOW_BAD])
    more = f" and {len(gray) - SHOW_BAD} more" if len(gray) > SHOW_BAD else ""
    if len(gray) == total:
        raise DataError(f"{dataset}: the images are grayscale ({shown}{more}) but channels: 3 "
                        "asks for RGB; set channels: 1")
    raise DataError(
        f"{dataset}: images of mixed channel counts: {total - len(gray)} colour and {len(gray)} "
        f"grayscale ({shown}{more}), but channels: 3 asks for RGB; convert the grayscale images "
        "to RGB or set channels: 1")


def handle_bad(
    bad: Sequence[tuple[str, str]],
    policy: Literal["skip", "error"],
    *,
    dataset: str,
    root: Path,
) -> list[str]:
    """Apply `on_bad_image` to (name, reason) pairs: raise for 'error', warn once for 'skip'.

    Returns the skipped names, for `DataSplits.bad_files` and the run's summary.
    """
    if not bad:
        return []
    if policy == "error":
        name, reason = bad[0]
        raise DataError(f"{dataset}: cannot read image {root / name}: {reason} "
                        "(on_bad_image: skip would skip unreadable files)")
    shown = ", ".join(f"{n} ({r})" for n, r in bad[:SHOW_BAD])
    more = f" and {len(bad) - SHOW_BAD} more" if len(bad) > SHOW_BAD else ""
    log.warning("%s: skipped %d unreadable image file(s) in %s: %s%s", dataset, len(bad), root,
                shown, more)
    return [n for n, _ in bad]


@dataclass
class FolderSplits:
    """Decoded images per split, with indices back into the dataset's file list."""

    images: dict[str, np.ndarray]  # split -> uint8 (N, C, H, W)
    index: dict[str, np.ndarray]  # split -> int64 (N,) indices into the file list
    bad: list[tuple[str, str]]  # (name, reason) of every unreadable file met


def load_folder_splits(
    *,
    dataset: str,
    root: Path,
    files: Sequence[Path],
    split_of: dict[str, np.ndarray],
    channels: int,
    crop: Crop,
    size: int,
    limit: int | None,
    use_cache: bool,
    key_extra: dict[str, object] | None = None,
) -> FolderSplits:
    """Decode each split's files (the first `limit` good ones), through the array cache.

    `split_of` maps 'train'/'val'/'test' to indices into `files`, in the order images should
    appear. The cache key covers every file's path, size and mtime plus the preprocessing
    options, so adding, replacing or touching any image rebuilds the entry.
    """
    from pixelzoo.data.cache import ArrayCache, files_fingerprint, make_key

    names = [p.relative_to(root).as_posix() for p in files]
    store = ArrayCache.near(root) if use_cache else None
    entry = key = ""
    if store is not None:
        entry = ArrayCache.entry_name(dataset, root)
        key = make_key({
            "v": 1, "files": files_fingerprint(files, root), "channels": channels, "crop": crop,
            "size": size, "limit": limit, "splits": {s: i.tolist() for s, i in split_of.items()},
            **(key_extra or {})})
        hit = store.load(entry, key)
        if hit is not None:
            try:
                return FolderSplits(
                    {s: hit[f"{s}_images"] for s in split_of},
                    {s: hit[f"{s}_index"] for s in split_of},
                    list(zip(hit["bad_names"].tolist(), hit["bad_reasons"].tolist(),
                             strict=True)))
            except KeyError:
                pass  # an entry from an older layout: rebuild it

    images: dict[str, np.ndarray] = {}
    index: dict[str, np.ndarray] = {}
    bad: list[tuple[str, str]] = []
    for split, idx in split_of.items():
        got = load_images([files[i] for i in idx], [names[i] for i in idx], channels=channels,
                          crop=crop, size=size, limit=limit, dataset=dataset)
        images[split] = got.images
        index[split] = idx[np.asarray(got.kept, dtype=np.int64)]
        bad += [(names[idx[i]], reason) for i, reason in got.bad]
    bad.sort()

    if store is not None:
        arrays = {f"{s}_images": a for s, a in images.items()}
        arrays |= {f"{s}_index": a for s, a in index.items()}
        arrays["bad_names"] = np.array([n for n, _ in bad], dtype=str)
        arrays["bad_reasons"] = np.array([r for _, r in bad], dtype=str)
        store.save(entry, key, arrays)
    return FolderSplits(images, index, bad)
