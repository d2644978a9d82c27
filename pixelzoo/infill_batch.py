"""`pixelzoo infill --image DIR`: fill a whole folder of images, the model loaded once.

    pixelzoo infill toon_infill --image faces/ --mask masks/ -o filled/
    pixelzoo infill toon_infill --image faces/ --mask box:15,15,5,10 -o filled/ --original faces/

The images are the image files directly in `--image DIR` (not its subfolders). Each is prepared
as `pixelzoo infill` prepares one image (the run's preprocessing; see `pixelzoo.infill_cli`), and
they are filled `--batch-size` at a time through the API's batched path
(`pixelzoo.api.fill_prepared`), under a progress bar. `--mask` is a folder of masks paired with
the images by file name without its extension (`faces/ann.jpg` takes `masks/ann.png`), or one
mask file or box for every image. Each filled image is written to `-o DIR/<name>.png`, and with
`--side-by-side` a picture (original | holes | filled) to `-o DIR/side_by_side/<name>.png`.

Scores: `--original DIR` names the complete images, paired by name like the masks and prepared
like the images; each filled image's hole PSNR and SSIM (`pixelzoo.metrics`) go to a CSV
(`--csv`, default `-o DIR/hole_metrics.csv`), rewritten after every batch so an interrupted run
keeps its rows. When the images themselves are complete and the masks only say where to test,
give the same folder twice: `--image faces/ --original faces/` (the model never sees the pixels
under a hole). An image without a readable original is filled but left out of the CSV, with a note.

Nothing stops the batch but a problem with the command itself: an image that cannot be read,
its missing or unreadable mask, a mask that marks no hole in it, two images sharing one name
(`a.png` and `a.jpg` would write the same output), or an output that already exists is skipped
and reported at the end, and the rest go on. An existing file, input or output, is only replaced
with `--overwrite`. Exit status: 0 when every image was filled, 3 when some were skipped, 2 when
none could be filled (or the command itself was wrong, as everywhere in pixelzoo).

On a CPU the command takes the cores the load leaves free, one on a busy machine, or
`OMP_NUM_THREADS` (`pixelzoo.engine.threads`, the policy of training runs too).

Not here: filling one image (`pixelzoo.infill_cli`), preprocessing (`pixelzoo.api`), the
metrics' definitions (`pixelzoo.metrics`).
"""

from __future__ import annotations

import argparse
import csv
import io
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pixelzoo.errors import PixelzooError

BATCH_SIZE = 64
SIDE_BY_SIDE = "side_by_side"  # the subfolder of -o for the pictures
CSV_NAME = "hole_metrics.csv"
CSV_COLUMNS = ("image", "original", "output", "hole_pixels", "psnr", "ssim")
ALL_SKIPPED, SOME_SKIPPED = 2, 3  # exit statuses (0: every image filled)


@dataclass
class Job:
    """One image to fill, with the files it is paired with and the file it writes."""

    name: str  # the file name without its extension: what pairs it with its mask
    image: Path
    mask: Path | None  # None: the one mask (file or box) for all
    original: Path | None
    output: Path


@dataclass
class BatchReport:
    """What a batch did: the images filled, those skipped and why, and what was noticed."""

    source: str
    decoding: str
    total: int
    filled: list[Job] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    notes: list[str] = field(default_factory=list)
    csv: Path | None = None
    scores: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        if not self.skipped:
            return 0
        return SOME_SKIPPED if self.filled else ALL_SKIPPED


# ------------------------------------------------------------------------------ pairing
def list_images(folder: Path) -> list[Path]:
    """The image files directly in `folder` (by extension; hidden files left out), by name."""
    from pixelzoo.data.images import IMAGE_EXTENSIONS

    return sorted((p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                   and p.suffix.lower() in IMAGE_EXTENSIONS), key=lambda p: p.name)


def by_name(files: list[Path]) -> tuple[dict[str, Path], dict[str, list[Path]]]:
    """Files by name without extension, and the names that more than one file shares."""
    groups: dict[str, list[Path]] = {}
    for f in files:
        groups.setdefault(f.stem, []).append(f)
    return ({k: v[0] for k, v in groups.items() if len(v) == 1},
            {k: v for k, v in groups.items() if len(v) > 1})


def side_by_side_path(output: Path) -> Path:
    return output.parent / SIDE_BY_SIDE / output.name


def plan(image_dir: Path, mask: str, out_dir: Path, *, original_dir: Path | None = None,
         overwrite: bool = False, side_by_side: bool = False
         ) -> tuple[list[Job], list[tuple[str, str]], int]:
    """Pair every image with its mask, original and output: (jobs, skipped, images found).

    A name two images share, a mask missing from a mask folder (or two sharing its name) and
    an output that exists (without `overwrite`) skip the image, with the reason.
    """
    images = list_images(image_dir)
    if not images:
        raise PixelzooError(f"--image {image_dir}: no image files in it (looked for .png, .jpg, "
                            ".bmp, .tif, .webp, ...; subfolders are not searched)")
    unique, clashes = by_name(images)
    skipped = [(str(p), f"{', '.join(q.name for q in group)} share the name '{name}', so they "
                        f"would write the same output {out_dir / (name + '.png')}; rename one")
               for name, group in sorted(clashes.items()) for p in group]
    mask_dir = Path(mask) if not mask.startswith("box:") and Path(mask).is_dir() else None
    masks, mask_clashes = by_name(list_images(mask_dir)) if mask_dir else ({}, {})
    originals, original_clashes = (by_name(list_images(original_dir)) if original_dir
                                   else ({}, {}))
    jobs = []
    for name, image in sorted(unique.items(), key=lambda kv: kv[1].name):
        mask_file = None
        if mask_dir is not None:
            if name in mask_clashes:
                skipped.append((str(image), f"masks {', '.join(q.name for q in mask_clashes[name])}"
                                            f" in {mask_dir} share its name; keep one"))
                continue
            mask_file = masks.get(name)
            if mask_file is None:
                skipped.append((str(image), f"no mask named {name}.* in {mask_dir}"))
                continue
        output = out_dir / f"{name}.png"
        if not overwrite:
            existing = [p for p in (output, side_by_side_path(output) if side_by_side else None)
                        if p is not None and p.exists()]
            if existing:
                skipped.append((str(image), f"{existing[0]} exists (pass --overwrite to replace "
                                            "it)"))
                continue
        # an ambiguous original is no original: the image is filled, its score left out
        jobs.append(Job(name, image, mask_file,
                        originals.get(name) if name not in original_clashes else None, output))
    return jobs, skipped, len(images)


# ------------------------------------------------------------------------------ preparing
@dataclass
class Prepared:
    """One image ready for the model, or the reason it is not."""

    job: Job
    image: np.ndarray | None = None  # uint8 (C, H, W)
    holes: np.ndarray | None = None  # bool (C, H, W)
    truth: np.ndarray | None = None  # uint8 (C, H, W), the prepared original
    notes: list[tuple[str, str]] = field(default_factory=list)  # (file, note without the file)
    error: str | None = None
    no_score: str | None = None  # why the image gets no row in the CSV


def _without_label(text: str, label: str) -> str:
    head = f"{label}: "
    return text[len(head):] if text.startswith(head) else text


def _notes(notes: list[str], label: str) -> list[tuple[str, str]]:
    """Notes as (file, what was done), so one message for a thousand images prints once."""
    return [(label, _without_label(n, label)) for n in notes]


class Preparer:
    """Prepares jobs for one loaded model; the one mask (file or box) is prepared once per
    source-image size, a mask folder's masks each for their image."""

    def __init__(self, loaded: Any, mask: str, *, scores: bool):
        self.loaded = loaded
        self.mask = mask
        self.scores = scores
        self._shared: dict[tuple[int, int], tuple[np.ndarray, list[str]]] = {}

    def check_shared_mask(self) -> None:
        """A bad shared mask (unreadable file, box outside the grid, no hole) stops the command
        before any work: it would skip every image."""
        from pixelzoo.infill_source import prepare_mask

        if self.mask.startswith("box:") or Path(self.mask).is_file():
            prepare_mask(self.mask, self.loaded, (self.loaded.height, self.loaded.width))

    def _holes(self, job: Job, shape: tuple[int, int]) -> tuple[np.ndarray, list[str]]:
        from pixelzoo.infill_source import prepare_mask

        if job.mask is not None:
            return prepare_mask(str(job.mask), self.loaded, shape)
        if shape not in self._shared:
            self._shared[shape] = prepare_mask(self.mask, self.loaded, shape)
        return self._shared[shape]

    def __call__(self, job: Job) -> Prepared:
        from pixelzoo.api import prepare_image, read_rgb

        out = Prepared(job)
        label = str(job.image)
        try:
            img, src, notes = prepare_image(self.loaded.model, read_rgb(job.image, label=label),
                                            label=label)
            holes, mask_notes = self._holes(job, tuple(src.shape[:2]))
        except PixelzooError as exc:
            out.error = _without_label(str(exc), label)  # the report names the file already
            return out
        out.image, out.holes = img, holes
        out.notes = _notes(notes, label) + _notes(
            mask_notes, f"--mask {job.mask if job.mask is not None else self.mask}")
        if self.scores:
            if job.original is None:
                out.no_score = "no original of that name"
            else:
                try:
                    truth, _, _ = prepare_image(self.loaded.model,
                                                read_rgb(job.original, label=str(job.original)),
                                                label=str(job.original))
                    out.truth = truth
                except PixelzooError as exc:
                    out.no_score = str(exc)  # names the original, not the image
        return out


# ------------------------------------------------------------------------------ running
def csv_target(out_dir: str | Path, original_dir: str | Path | None, csv_path: str | Path | None,
               *, overwrite: bool) -> Path | None:
    """Where the scores go (None without originals); an existing file only with `overwrite`."""
    if original_dir is None:
        return None
    table = Path(csv_path) if csv_path is not None else Path(out_dir) / CSV_NAME
    if table.is_dir():
        raise PixelzooError(f"--csv {table}: is a folder; name the CSV file to write")
    if table.exists() and not overwrite:
        raise PixelzooError(f"the scores' CSV {table} exists; choose another --csv, or pass "
                            "--overwrite to replace it")
    return table


def _chunks(items: list[Job], size: int) -> Iterator[list[Job]]:
    for s in range(0, len(items), size):
        yield items[s:s + size]


def _csv_text(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({**r, "psnr": f"{r['psnr']:.4f}", "ssim": f"{r['ssim']:.4f}"})
    return buf.getvalue()


def run_batch(source: str, image_dir: str | Path, mask: str, out_dir: str | Path, *,
              original_dir: str | Path | None = None, csv_path: str | Path | None = None,
              decoding: str | None = None, temperature: float | None = None, seed: int = 0,
              device: str = "auto", batch_size: int = BATCH_SIZE, side_by_side: bool = False,
              zoom: int = 8, overwrite: bool = False,
              progress: Callable[[int, int], None] | None = None) -> BatchReport:
    """Fill every image of `image_dir` (see the module docs); returns what was done.

    `progress(done, total)` is called after each batch (the command draws its bar with it).
    """
    from pixelzoo.engine.atomic import atomic_write_text
    from pixelzoo.engine.device import pick_device
    from pixelzoo.infill_source import choose_decoding, load_infill

    started = time.perf_counter()
    image_dir, out_dir = Path(image_dir), Path(out_dir)
    original = Path(original_dir) if original_dir is not None else None
    table = csv_target(out_dir, original, csv_path, overwrite=overwrite)
    jobs, skipped, total = plan(image_dir, mask, out_dir, original_dir=original,
                                overwrite=overwrite, side_by_side=side_by_side)
    loaded = load_infill(source, pick_device(device, key="--device"))
    decoding, temperature = choose_decoding(loaded, decoding, temperature)
    report = BatchReport(loaded.source, decoding, total, skipped=skipped, csv=table)
    prepare = Preparer(loaded, mask, scores=table is not None)
    prepare.check_shared_mask()
    writer = _Writer(report, overwrite=overwrite, side_by_side=side_by_side, zoom=zoom,
                     label=f"filled ({decoding})" if decoding != "sample"
                     else f"filled (T={temperature:g})")
    done = len(skipped)
    if progress:
        progress(done, total)
    # decoding and resizing release the GIL: a few threads read while the model waits
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="pixelzoo-infill") as pool:
        for chunk in _chunks(jobs, batch_size):
            ready = writer.take(pool.map(prepare, chunk))
            if ready:
                from pixelzoo.api import fill_prepared

                images = np.stack([p.image for p in ready])
                holes = np.stack([p.holes for p in ready])
                filled = fill_prepared(loaded.model, images, holes, decoding=decoding,
                                       temperature=temperature, seed=seed,
                                       batch_size=batch_size)
                writer.write(ready, images, holes, filled)
                if table is not None:  # after every batch: an interrupted run keeps its rows
                    atomic_write_text(table, _csv_text(report.scores))
            done += len(chunk)
            if progress:
                progress(done, total)
    if table is not None:  # also when nothing could be scored: the header alone says so
        atomic_write_text(table, _csv_text(report.scores))
    report.notes = writer.summary_notes()
    report.seconds = time.perf_counter() - started
    return report


class _Writer:
    """Writes a batch's results into the report: the images, pictures, scores and notes."""

    def __init__(self, report: BatchReport, *, overwrite: bool, side_by_side: bool, zoom: int,
                 label: str):
        self.report = report
        self.overwrite, self.side_by_side, self.zoom, self.label = (overwrite, side_by_side,
                                                                    zoom, label)
        self.notes: Counter[str] = Counter()
        self.first_file: dict[str, str] = {}
        self.no_score: list[tuple[str, str]] = []

    def take(self, prepared: Iterable[Prepared]) -> list[Prepared]:
        """The prepared images the model can fill; the others are reported as skipped."""
        ready = []
        for p in prepared:
            if p.error is not None:
                self.report.skipped.append((str(p.job.image), p.error))
                continue
            ready.append(p)
            for file, note in p.notes:
                self.notes[note] += 1
                self.first_file.setdefault(note, file)
        return ready

    def write(self, ready: list[Prepared], images: np.ndarray, holes: np.ndarray,
              filled: np.ndarray) -> None:
        from pixelzoo.engine.atomic import atomic_write_image
        from pixelzoo.metrics import per_image_metrics
        from pixelzoo.report.grid import save_grid, show_holes

        scored = [i for i, p in enumerate(ready) if p.truth is not None]
        values = (per_image_metrics(np.stack([ready[i].truth for i in scored]), filled[scored],
                                    holes[scored]) if scored else {})
        row = {i: k for k, i in enumerate(scored)}
        for i, p in enumerate(ready):
            out = p.job.output
            if out.exists() and not self.overwrite:  # it appeared since the plan was made
                self.report.skipped.append((str(p.job.image), f"{out} exists (pass "
                                                              "--overwrite to replace it)"))
                continue
            atomic_write_image(out, filled[i].transpose(1, 2, 0))
            if self.side_by_side:
                one = slice(i, i + 1)
                save_grid(side_by_side_path(out),
                          [("original", images[one]), ("holes", show_holes(images[one],
                                                                           holes[one])),
                           (self.label, filled[one])], zoom=self.zoom)
            self.report.filled.append(p.job)
            if p.no_score is not None:
                self.no_score.append((str(p.job.image), p.no_score))
            elif i in row:
                self.report.scores.append({
                    "image": str(p.job.image), "original": str(p.job.original),
                    "output": str(out), "hole_pixels": int(holes[i].any(0).sum()),
                    "psnr": float(values["psnr"][row[i]]),
                    "ssim": float(values["ssim"][row[i]])})

    def summary_notes(self) -> list[str]:
        """Each distinct note once, with how many images it concerns."""
        out = []
        for note, count in self.notes.items():
            first = self.first_file[note]
            out.append(f"{first if count == 1 else f'{count} images (e.g. {first})'}: {note}")
        if self.no_score:
            out.append(f"{len(self.no_score)} filled image(s) left out of the CSV: "
                       + "; ".join(f"{f} ({why})" for f, why in self.no_score))
        return out


# ------------------------------------------------------------------------------ command
def check_batch_arguments(args: argparse.Namespace) -> None:
    """What `--image DIR` needs of the other arguments, refused before the model is loaded."""
    from pixelzoo.data.images import IMAGE_EXTENSIONS

    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise PixelzooError(f"-o {args.output}: is a file; with --image DIR (a folder), -o names "
                            "the folder to write the filled images into")
    if not out.exists() and out.suffix.lower() in IMAGE_EXTENSIONS:
        raise PixelzooError(f"-o {args.output}: with --image DIR (a folder), -o names a folder "
                            f"to write into, not an image; e.g. -o {out.with_suffix('')}")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise PixelzooError(f"-o {args.output}: {parent} is a file, not a folder, so "
                                    "nothing can be written under it")
            break
    if not args.mask.startswith("box:") and not Path(args.mask).exists():
        raise PixelzooError(f"--mask {args.mask}: no such file or folder (give a mask folder, "
                            "one mask file for every image, or box:TOP,LEFT,H,W)")
    if args.original is not None and not Path(args.original).is_dir():
        raise PixelzooError(f"--original {args.original}: not a folder; with --image DIR, "
                            "--original names the folder of complete images, paired by name")
    if args.csv is not None and args.original is None:
        raise PixelzooError("--csv needs --original DIR: the scores compare each filled image "
                            "with its original")
    csv_target(out, args.original, args.csv, overwrite=args.overwrite)


def cmd_infill_batch(args: argparse.Namespace) -> int:
    """`pixelzoo infill SOURCE --image DIR ...`: fill the folder, show a bar, print a summary."""
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn,
                               TimeRemainingColumn)

    import torch

    from pixelzoo.engine.device import pick_device

    from pixelzoo.engine.threads import choose_threads

    if pick_device(args.device, key="--device").type == "cpu":
        # the cores the load leaves free (one on a busy machine), or OMP_NUM_THREADS: 1,000 faces
        # on a busy 2-core machine took 651 s on two threads (11x the CPU time, spinning) and
        # 76 s on one
        threads = choose_threads("auto", default=torch.get_num_threads())
        if threads.count is not None:
            torch.set_num_threads(threads.count)
    out = Console(highlight=False, soft_wrap=True)  # paths stay whole, for copying
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    bar = Progress("[progress.description]{task.description}", BarColumn(),
                   MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                   console=err, transient=True)
    with bar:
        task = bar.add_task("filling", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        report = run_batch(args.source, args.image, args.mask, args.output,
                           original_dir=args.original, csv_path=args.csv,
                           decoding=args.decoding, temperature=args.temperature, seed=args.seed,
                           device=args.device, batch_size=args.batch_size,
                           side_by_side=args.side_by_side, zoom=args.zoom,
                           overwrite=args.overwrite, progress=progress)
    for note in report.notes:
        out.print(f"[yellow]note[/yellow]: {note}")
    for file, why in report.skipped:
        err.print(f"[red]skipped[/red] {file}: {why}")
    n = len(report.filled)
    rate = f", {n / report.seconds:.3g} images/s" if n and report.seconds > 0 else ""
    out.print(f"filled {n} of {report.total} image(s) with {report.source} ({report.decoding}) "
              f"into {args.output} in {report.seconds:.1f} s{rate}"
              + (f"; skipped {len(report.skipped)} (listed above)" if report.skipped else ""))
    if report.csv is not None:
        if report.scores:
            psnr = float(np.nanmean([r["psnr"] for r in report.scores]))
            ssim = float(np.nanmean([r["ssim"] for r in report.scores]))
            out.print(f"hole PSNR and SSIM of {len(report.scores)} image(s) in {report.csv} "
                      f"(mean {psnr:.2f} dB, {ssim:.3f})")
        else:
            out.print(f"no image could be scored; {report.csv} has the header only")
    return report.exit_code
