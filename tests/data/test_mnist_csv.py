"""mnist_csv: the Kaggle mnist-in-csv format, its checks, the seed-carved val split, the cache."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import pixelzoo.data.mnist_csv as mc
from pixelzoo.data.mnist_csv import HEADER, MnistCsvDataset, load_mnist_csv, parse_mnist_csv
from pixelzoo.errors import DataError
from pixelzoo.registry import DATASETS


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIXELZOO_CACHE", str(tmp_path / "cache"))


def rows(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    px = rng.integers(0, 256, (n, 784))
    px[rng.random((n, 784)) < 0.7] = 0
    return np.concatenate([rng.integers(0, 10, (n, 1)), px], axis=1)


def write_csv(path: Path, data: np.ndarray | list[str], *, header: str | None = None,
              newline: str = "\n") -> Path:
    lines = [",".join(HEADER) if header is None else header]
    lines += data if isinstance(data, list) else [",".join(map(str, r)) for r in data.tolist()]
    path.write_bytes((newline.join(lines) + newline).encode())
    return path


def row_text(r: np.ndarray) -> str:
    return ",".join(map(str, r.tolist()))


def test_parses_values_exactly(tmp_path: Path) -> None:
    data = rows(25)
    images, labels = parse_mnist_csv(write_csv(tmp_path / "mnist_train.csv", data))
    assert images.shape == (25, 1, 28, 28) and images.dtype == np.uint8
    np.testing.assert_array_equal(labels, data[:, 0])
    np.testing.assert_array_equal(images.reshape(25, 784), data[:, 1:])


def test_parses_across_chunk_boundaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mc, "_LINES_PER_CHUNK", 3)
    data = rows(11, seed=1)
    images, labels = parse_mnist_csv(write_csv(tmp_path / "m.csv", data))
    np.testing.assert_array_equal(images.reshape(11, 784), data[:, 1:])
    np.testing.assert_array_equal(labels, data[:, 0])


def test_crlf_bom_trailing_blank_lines_and_leading_zeros(tmp_path: Path) -> None:
    data = rows(4)
    text = [row_text(r) for r in data]
    text[1] = text[1].replace(",0,", ",000,", 1)  # leading zeros: an odd but valid integer
    path = write_csv(tmp_path / "m.csv", text + ["", ""], newline="\r\n")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    images, labels = parse_mnist_csv(path)
    np.testing.assert_array_equal(images.reshape(4, 784), data[:, 1:])
    np.testing.assert_array_equal(labels, data[:, 0])


def test_malformed_row_names_file_and_line(tmp_path: Path) -> None:
    text = [row_text(r) for r in rows(5)]
    text[2] = ",".join(text[2].split(",")[:700])  # data row 3 is line 4 of the file
    path = write_csv(tmp_path / "mnist_train.csv", text)
    with pytest.raises(DataError, match=r"mnist_train\.csv:4: expected 785 columns.*found 700"):
        parse_mnist_csv(path)


def test_wrong_header(tmp_path: Path) -> None:
    header = ",".join(HEADER).replace("1x2", "pixel1")
    path = write_csv(tmp_path / "m.csv", rows(2), header=header)
    with pytest.raises(DataError, match=r"m\.csv:1: header column 3 is 'pixel1', expected '1x2'"):
        parse_mnist_csv(path)
    short = write_csv(tmp_path / "s.csv", rows(2), header="label,a,b")
    with pytest.raises(DataError, match=r"s\.csv:1: the header has 3 columns, expected 785"):
        parse_mnist_csv(short)


def test_missing_header(tmp_path: Path) -> None:
    data = rows(3)
    path = write_csv(tmp_path / "m.csv", [row_text(r) for r in data[1:]], header=row_text(data[0]))
    with pytest.raises(DataError, match=r"m\.csv:1: the header is missing"):
        parse_mnist_csv(path)


def test_non_integer_cell(tmp_path: Path) -> None:
    text = [row_text(r) for r in rows(3)]
    cells = text[1].split(",")
    cells[10] = "1.5"
    text[1] = ",".join(cells)
    path = write_csv(tmp_path / "m.csv", text)
    with pytest.raises(DataError, match=r"m\.csv:3: column 11 \(1x10\) is not an integer: '1\.5'"):
        parse_mnist_csv(path)


def test_pixel_out_of_range_and_bad_label(tmp_path: Path) -> None:
    data = rows(4)
    data[2, 5] = 300
    with pytest.raises(DataError, match=r"m\.csv:4: column 6 \(1x5\): the pixel value 300 is "
                                        r"outside 0\.\.255"):
        parse_mnist_csv(write_csv(tmp_path / "m.csv", data))
    data = rows(4)
    data[0, 0] = 12
    with pytest.raises(DataError, match=r"l\.csv:2: the label 12 is outside 0\.\.9"):
        parse_mnist_csv(write_csv(tmp_path / "l.csv", data))
    text = [row_text(r) for r in rows(2)]
    text[0] = text[0].replace(",0,", ",-3,", 1)
    with pytest.raises(DataError, match=r"n\.csv:2: .*pixel value -3 is outside 0\.\.255"):
        parse_mnist_csv(write_csv(tmp_path / "n.csv", text))


def test_first_problem_in_file_order_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                 ) -> None:
    monkeypatch.setattr(mc, "_LINES_PER_CHUNK", 4)
    data = rows(9)
    data[4, 100] = 999  # line 6
    text = [row_text(r) for r in data]
    text[6] += ",0"  # line 8: one column too many, a structural problem found first by the scan
    with pytest.raises(DataError, match=r"m\.csv:6: .*999"):
        parse_mnist_csv(write_csv(tmp_path / "m.csv", text))


def test_empty_and_header_only(tmp_path: Path) -> None:
    empty = tmp_path / "e.csv"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match="empty"):
        parse_mnist_csv(empty)
    with pytest.raises(DataError, match="no data rows"):
        parse_mnist_csv(write_csv(tmp_path / "h.csv", []))


def test_cache_hit_and_invalidation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = rows(6)
    path = write_csv(tmp_path / "mnist_train.csv", data)
    first, _ = load_mnist_csv(path)
    assert list((tmp_path / "cache").glob("mnist_csv-mnist_train-*.npz"))

    def refuse(p: Path) -> None:
        raise AssertionError("parsed again despite a valid cache entry")

    monkeypatch.setattr(mc, "parse_mnist_csv", refuse)
    again, _ = load_mnist_csv(path)
    np.testing.assert_array_equal(again, first)
    monkeypatch.undo()
    monkeypatch.setenv("PIXELZOO_CACHE", str(tmp_path / "cache"))

    # Same size, same mtime, different bytes: only the content hash can tell.
    st = path.stat()
    data[0, 1] = 7 if data[0, 1] != 7 else 8
    write_csv(path, data)
    assert path.stat().st_size == st.st_size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    changed, _ = load_mnist_csv(path)
    assert changed[0, 0, 0, 0] == data[0, 1]


def test_dataset_splits_limit_and_registry(tmp_path: Path) -> None:
    write_csv(tmp_path / "mnist_train.csv", rows(40))
    write_csv(tmp_path / "mnist_test.csv", rows(10, seed=2))
    cls = DATASETS.get("mnist_csv")
    assert cls is MnistCsvDataset
    splits = cls(cls.Config(root=tmp_path, val_fraction=0.25, seed=3)).load()
    assert (len(splits.train), len(splits.val), len(splits.test)) == (30, 10, 10)
    assert splits.num_classes == 10 and splits.channels == 1 and splits.height == 28
    geo = cls(cls.Config(root=tmp_path / "not-needed")).geometry()
    assert (geo.channels, geo.height, geo.width, geo.num_classes) == (1, 28, 28, 10)
    assert splits.train.labels is not None and splits.train.labels.dtype == np.int64
    # train and val partition the file, decided by the seed alone
    seen = np.concatenate([splits.train.images, splits.val.images]).reshape(40, -1)
    assert len({r.tobytes() for r in seen}) == 40
    again = cls(cls.Config(root=tmp_path, val_fraction=0.25, seed=3)).load()
    np.testing.assert_array_equal(again.val.images, splits.val.images)
    other = cls(cls.Config(root=tmp_path, val_fraction=0.25, seed=4)).load()
    assert not np.array_equal(other.val.images, splits.val.images)
    small = cls(cls.Config(root=tmp_path, limit=5)).load()
    assert (len(small.train), len(small.val), len(small.test)) == (5, 4, 5)


def test_missing_files_and_kaggle_subfolder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nowhere does not exist.*mnist-in-csv"):
        MnistCsvDataset(MnistCsvDataset.Config(root=tmp_path / "nowhere")).load()
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"empty/mnist_train\.csv not found.*mnist_test\.csv"):
        MnistCsvDataset(MnistCsvDataset.Config(root=tmp_path / "empty")).load()
    sub = tmp_path / "archive"
    sub.mkdir()
    write_csv(sub / "mnist_train.csv", rows(4))
    write_csv(sub / "mnist_test.csv", rows(2))
    splits = MnistCsvDataset(MnistCsvDataset.Config(root=tmp_path, val_fraction=0.0)).load()
    assert len(splits.train) == 4 and len(splits.test) == 2


def test_config_rejects_unknown_keys() -> None:
    with pytest.raises(ValueError, match="extra"):
        MnistCsvDataset.Config(rooot="x")
