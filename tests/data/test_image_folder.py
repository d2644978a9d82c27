"""image_folder: class sub-folders as labels, gray or RGB, crop, size, bad files, stable splits."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from pixelzoo.data.image_folder import ImageFolderDataset
from pixelzoo.errors import DataError
from pixelzoo.registry import DATASETS


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIXELZOO_CACHE", str(tmp_path / "cache"))


def load(root: Path, **kw: object):  # noqa: ANN201 - DataSplits
    return ImageFolderDataset(ImageFolderDataset.Config(root=root, **kw)).load()


def everything(splits) -> list[tuple[str, int | None]]:  # noqa: ANN001
    out = []
    for s in ("train", "val", "test"):
        part = getattr(splits, s)
        labels = [None] * len(part) if part.labels is None else part.labels.tolist()
        out += list(zip(part.names, labels, strict=True))
    return sorted(out)


def test_class_subfolders_become_sorted_labels(tmp_path: Path) -> None:
    for cls, value in (("zebra", 200), ("apple", 10), ("mango", 90)):
        (tmp_path / "d" / cls).mkdir(parents=True)
        for i in range(3):
            cv2.imwrite(str(tmp_path / "d" / cls / f"{i}.png"), np.full((20, 30), value, np.uint8))
    cls = DATASETS.get("image_folder")
    dataset = cls(cls.Config(root=tmp_path / "d", channels=1, size=10))
    geo = dataset.geometry()
    assert (geo.channels, geo.height, geo.width, geo.num_classes) == (1, 10, 10, 3)
    splits = dataset.load()
    assert splits.class_names == ["apple", "mango", "zebra"] and splits.num_classes == 3
    assert splits.channels == 1 and splits.height == 10
    for name, label in everything(splits):
        assert label == ["apple", "mango", "zebra"].index(name.split("/")[0])
    train = splits.train
    for img, label in zip(train.images, train.labels, strict=True):
        assert (img == (10, 90, 200)[label]).all()


def test_rgb_loose_images_and_square_crop(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    img = np.zeros((40, 80, 3), np.uint8)
    img[:, :20] = (0, 0, 255)  # BGR red, outside the central 40x40 square
    img[:, 20:60] = (255, 0, 0)  # BGR blue, the central square
    cv2.imwrite(str(tmp_path / "d" / "wide.png"), img)
    splits = load(tmp_path / "d", size=8, crop="square", val_fraction=0.0, test_fraction=0.0)
    assert splits.train.labels is None and splits.num_classes is None
    x = splits.train.images[0]
    assert x.shape == (3, 8, 8)
    assert (x[2] == 255).all() and (x[0] == 0).all()  # RGB order, only the centre kept


def test_gray_images_when_rgb_is_asked(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    cv2.imwrite(str(tmp_path / "d" / "a.png"), np.zeros((8, 8), np.uint8))
    with pytest.raises(DataError, match="grayscale.*set channels: 1"):
        load(tmp_path / "d", size=8)


def test_loose_images_next_to_class_folders(tmp_path: Path) -> None:
    (tmp_path / "d" / "cat").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "d" / "cat" / "a.png"), np.zeros((8, 8, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "d" / "stray.png"), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(DataError, match=r"stray\.png"):
        load(tmp_path / "d")


def test_bad_files_and_stable_split(tmp_path: Path) -> None:
    d = tmp_path / "d"
    (d / "x").mkdir(parents=True)
    for i in range(20):
        cv2.imwrite(str(d / "x" / f"{i:03d}.png"), np.full((8, 8, 3), i, np.uint8))
    (d / "x" / "zero.png").write_bytes(b"")
    first = load(d, size=8)
    assert first.bad_files == ["x/zero.png"]
    for i in range(20, 40):
        cv2.imwrite(str(d / "x" / f"{i:03d}.png"), np.full((8, 8, 3), i, np.uint8))
    second = load(d, size=8)
    where = {n: s for s in ("train", "val", "test") for n in getattr(second, s).names}
    for s in ("train", "val", "test"):
        assert all(where[n] == s for n in getattr(first, s).names)
    with pytest.raises(DataError, match=r"zero\.png: empty file"):
        load(d, size=8, on_bad_image="error")


def test_missing_and_empty(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no images"):
        load(tmp_path / "empty")
    with pytest.raises(ValueError):
        ImageFolderDataset.Config(root=tmp_path, crop=0)
