"""`mnist_csv`: MNIST from Kaggle's "mnist-in-csv" files, parsed fast, checked strictly, cached.

The files (`mnist_train.csv`, 60,000 rows; `mnist_test.csv`, 10,000) start with the header
`label,1x1,1x2,...,28x28` followed by 785 integer columns per row: the label 0-9, then the 784
pixels 0-255 in row-major order. A general CSV reader (the csv module, `np.loadtxt`) needs many
seconds for 47 million cells, so the parser here works on the raw bytes with numpy: it checks
every byte is a digit, comma or newline, counts the commas per line, then rebuilds each cell's
value from its (at most three) digits. Anything the fast path finds suspicious is re-read line by
line in Python, which names the file, the 1-based line and the column in the error. The parsed
arrays are cached as `.npz` (see `pixelzoo.data.cache`), keyed by the CSV's size, mtime and sha1,
so a second load takes a fraction of a second and an edited CSV is parsed afresh. The validation
split is carved from the training file by the dataset seed.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from pydantic import Field

from pixelzoo.data.base import DataSplits, Dataset, DatasetConfig, Geometry, ImageSet
from pixelzoo.data.cache import ArrayCache, file_fingerprint, make_key
from pixelzoo.errors import DataError

SIDE = 28
PIXELS = SIDE * SIDE
COLUMNS = PIXELS + 1
HEADER = ["label"] + [f"{r}x{c}" for r in range(1, SIDE + 1) for c in range(1, SIDE + 1)]
FORMAT_HINT = "Kaggle's mnist-in-csv format: a header label,1x1,1x2,...,28x28 then 785 integers"
CACHE_VERSION = 1
_LINES_PER_CHUNK = 4096  # bounds the per-chunk index arrays to a few tens of MB
_INTEGER = re.compile(r"-?[0-9]+")
_NL, _COMMA, _CR, _ZERO = 10, 44, 13, 48


def _check_header(path: Path, line: bytes) -> None:
    cells = [c.strip().strip('"').strip() for c in line.decode("utf-8", "replace").split(",")]
    if cells == HEADER:
        return
    if not line.strip():
        raise DataError(f"{path}:1: the first line is empty; expected the header ({FORMAT_HINT})")
    if _INTEGER.fullmatch(cells[0]):
        raise DataError(f"{path}:1: the header is missing; the file starts with data "
                        f"({FORMAT_HINT})")
    if len(cells) != COLUMNS:
        raise DataError(f"{path}:1: the header has {len(cells)} columns, expected {COLUMNS} "
                        f"({FORMAT_HINT})")
    j = next(i for i, (a, b) in enumerate(zip(cells, HEADER, strict=True)) if a != b)
    raise DataError(f"{path}:1: header column {j + 1} is {cells[j]!r}, expected {HEADER[j]!r} "
                    f"({FORMAT_HINT})")


def _parse_line(path: Path, line_no: int, raw: bytes) -> np.ndarray:
    """The slow, precise reading of one row: its 785 values, or a DataError saying what's wrong."""
    cells = raw.decode("utf-8", "replace").split(",")
    where = f"{path}:{line_no}"
    if len(cells) != COLUMNS:
        raise DataError(f"{where}: expected {COLUMNS} columns (the label and {PIXELS} pixels), "
                        f"found {len(cells)}")
    values = np.empty(COLUMNS, np.int64)
    for j, cell in enumerate(cells):
        if not _INTEGER.fullmatch(cell):
            raise DataError(f"{where}: column {j + 1} ({HEADER[j]}) is not an integer: {cell!r}")
        v = int(cell)
        if j == 0 and not 0 <= v <= 9:
            raise DataError(f"{where}: the label {v} is outside 0..9")
        if j > 0 and not 0 <= v <= 255:
            raise DataError(f"{where}: column {j + 1} ({HEADER[j]}): the pixel value {v} is "
                            "outside 0..255")
        values[j] = v
    return values


def parse_mnist_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One mnist-in-csv file -> uint8 images (N, 1, 28, 28) and int64 labels (N,)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if raw.startswith(b"\xef\xbb\xbf"):  # a UTF-8 BOM from spreadsheet tools; not part of line 1
        raw = raw[3:]
    if not raw.strip():
        raise DataError(f"{path}: the file is empty ({FORMAT_HINT})")
    end = raw.find(b"\n")
    _check_header(path, (raw if end < 0 else raw[:end]).rstrip(b"\r"))
    body = b"" if end < 0 else raw[end + 1:]

    data = np.frombuffer(body, np.uint8)
    if len(data) and data[-1] != _NL:
        data = np.concatenate([data, np.array([_NL], np.uint8)])
    if b"\r" in body:  # Windows line ends: drop only the CR of each CRLF
        cr = np.flatnonzero(data == _CR)
        data = np.delete(data, cr[data[cr + 1] == _NL])

    nl = np.flatnonzero(data == _NL)
    starts = np.concatenate([[0], nl[:-1] + 1]).astype(np.int64)
    line_no = np.arange(len(nl), dtype=np.int64) + 2  # line 1 is the header
    blank = nl == starts
    if blank.any():
        # Blank lines (typically trailing) are skipped, but line numbers keep counting them.
        keep = np.ones(len(data), bool)
        keep[nl[blank]] = False
        data, line_no = data[keep], line_no[~blank]
        nl = np.flatnonzero(data == _NL)
        starts = np.concatenate([[0], nl[:-1] + 1]).astype(np.int64)
    n = len(nl)
    if n == 0:
        raise DataError(f"{path}: the file has a header but no data rows")

    def line_bytes(i: int) -> bytes:
        return data[starts[i]:nl[i]].tobytes()

    values = np.empty((n, COLUMNS), np.uint16)
    suspicious: list[np.ndarray] = []
    broken: int | None = None  # the first line whose structure is wrong, if any
    for a in range(0, n, _LINES_PER_CHUNK):
        b = min(n, a + _LINES_PER_CHUNK)
        lo, hi = int(starts[a]), int(nl[b - 1]) + 1
        chunk = data[lo:hi]
        digit = (chunk - _ZERO) < 10  # uint8 wrap-around makes this one comparison
        comma = chunk == _COMMA
        # Structure: only digits, commas and newlines, and 784 commas on every line.
        odd = np.flatnonzero(~(digit | comma | (chunk == _NL)))
        commas = np.add.reduceat(comma, starts[a:b] - lo, dtype=np.int32)
        flagged = np.flatnonzero(commas != COLUMNS - 1)[:1].tolist()
        if len(odd):
            flagged.append(int(np.searchsorted(nl[a:b] - lo, odd[0])))
        if flagged:
            broken = a + min(flagged)
            b = broken  # still read the good lines before it: an earlier bad value comes first
            if b == a:
                break
            hi = int(starts[b])
            chunk, digit = chunk[: hi - lo], digit[: hi - lo]

        # Values: each cell ends at a separator and has one to three digits before it.
        d = (chunk - _ZERO).astype(np.uint16)
        sep = np.flatnonzero(~digit)  # every non-digit left is a comma or a newline
        length = sep - np.concatenate([[-1], sep[:-1]]) - 1
        v = np.where(length >= 1, d[np.maximum(sep - 1, 0)], 0).astype(np.uint16)
        v += np.where(length >= 2, d[np.maximum(sep - 2, 0)] * 10, 0).astype(np.uint16)
        v += np.where(length >= 3, d[np.maximum(sep - 3, 0)] * 100, 0).astype(np.uint16)
        rows = v.reshape(b - a, COLUMNS)
        odd_cell = ((length < 1) | (length > 3)).reshape(b - a, COLUMNS).any(axis=1)
        bad = odd_cell | (rows[:, 0] > 9) | (rows[:, 1:] > 255).any(axis=1)
        values[a:b] = rows
        if bad.any():
            suspicious.append(np.flatnonzero(bad) + a)
        if broken is not None:
            break

    # The fast flags err only towards caution ("007" is a long cell but a fine value), so the
    # precise per-line reading has the final word, in file order.
    for i in np.concatenate(suspicious) if suspicious else ():
        values[i] = _parse_line(path, int(line_no[i]), line_bytes(int(i)))
    if broken is not None:
        _parse_line(path, int(line_no[broken]), line_bytes(broken))
        raise AssertionError("a structurally flagged line parsed cleanly")  # pragma: no cover

    images = values[:, 1:].astype(np.uint8).reshape(n, 1, SIDE, SIDE)
    return images, values[:, 0].astype(np.int64)


def load_mnist_csv(path: Path, *, cache: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """`parse_mnist_csv` behind the array cache (a miss when the file's bytes or mtime change)."""
    store = ArrayCache.near(path.parent) if cache else None
    if store is None:
        return parse_mnist_csv(path)
    name = ArrayCache.entry_name(f"mnist_csv-{path.stem}", path)
    key = make_key({"v": CACHE_VERSION, "file": file_fingerprint(path)})
    hit = store.load(name, key)
    if hit is not None and {"images", "labels"} <= hit.keys():
        return hit["images"], hit["labels"]
    images, labels = parse_mnist_csv(path)
    store.save(name, key, {"images": images, "labels": labels})
    return images, labels


class MnistCsvDataset(Dataset):
    """MNIST digits from Kaggle's mnist-in-csv: (1, 28, 28) uint8 images, labels 0-9."""

    class Config(DatasetConfig):
        root: Path = Path("data/mnist")
        train: Path = Path("mnist_train.csv")  # relative to root; an absolute path works too
        test: Path = Path("mnist_test.csv")
        val_fraction: float = Field(0.1, ge=0.0, lt=1.0)  # carved from the train file by seed
        cache: bool = True

    config: Config

    def _find(self, name: Path) -> Path:
        root = self.config.root
        path = root / name
        if path.is_file():
            return path
        if root.is_dir() and not name.is_absolute():
            # Kaggle's zip unpacks into a sub-folder; accept one unambiguous match below root.
            matches = sorted(p for p in root.rglob(name.name) if p.is_file()
                             and ".pixelzoo-cache" not in p.parts)
            if len(matches) == 1:
                return matches[0]
        what = f"{path} not found" if root.is_dir() else f"the folder {root} does not exist"
        raise DataError(
            f"mnist_csv: {what}. Download Kaggle's 'mnist-in-csv' dataset and put "
            f"mnist_train.csv and mnist_test.csv in {root}, or set dataset.root")

    def geometry(self) -> Geometry:
        return Geometry(1, SIDE, SIDE, 10)  # fixed by the format: no need to parse anything

    def load(self) -> DataSplits:
        cfg = self.config
        train_x, train_y = load_mnist_csv(self._find(cfg.train), cache=cfg.cache)
        test_x, test_y = load_mnist_csv(self._find(cfg.test), cache=cfg.cache)

        n = len(train_x)
        n_val = int(round(cfg.val_fraction * n))
        order = np.random.default_rng(cfg.seed).permutation(n)
        # Sorted indices keep the file's order within each split: stable, and easy to trace.
        val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])

        def subset(x: np.ndarray, y: np.ndarray, idx: np.ndarray | None = None) -> ImageSet:
            if idx is not None:
                x, y = x[idx], y[idx]
            return ImageSet(x, y).take(cfg.limit)

        return DataSplits(
            train=subset(train_x, train_y, train_idx),
            val=subset(train_x, train_y, val_idx),
            test=subset(test_x, test_y),
            num_classes=10,
            class_names=[str(i) for i in range(10)],
        )
