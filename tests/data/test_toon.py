"""toon: the procedural Cartoon Set stand-in: determinism, shapes, variety, splits and the cache."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from pixelzoo.data.base import DataSplits
from pixelzoo.data.preprocess import preprocess_rgb
from pixelzoo.data.toon import (
    ATTRIBUTES,
    ToonDataset,
    contact_sheet,
    draw_face,
    face_rng,
    render_face,
    render_faces,
    sample_attributes,
)
from pixelzoo.registry import DATASETS


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIXELZOO_CACHE", str(tmp_path / "cache"))


def load(**kw: object) -> DataSplits:
    kw.setdefault("cache", False)
    return ToonDataset(ToonDataset.Config(**kw)).load()


def corners_white(img: np.ndarray, k: int = 12) -> bool:
    return all(bool((p == 255).all()) for p in (img[:k, :k], img[:k, -k:], img[-k:, :k],
                                                  img[-k:, -k:]))


def digest(a: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(a).tobytes()).hexdigest()


def test_registered_as_a_dataset() -> None:
    assert "toon" in DATASETS.names()
    assert DATASETS.get("toon") is ToonDataset


def test_render_face_is_a_500px_rgb_face_on_white() -> None:
    img = render_face(np.random.default_rng(0))
    assert img.shape == (500, 500, 3) and img.dtype == np.uint8
    assert corners_white(img)
    # The face covers the centre: the middle of the image is not background.
    assert (img[200:300, 200:300] != 255).any(axis=2).mean() > 0.9


def test_same_seed_same_faces_other_seed_other_faces() -> None:
    a, b = render_faces(3, seed=7), render_faces(3, seed=7)
    assert np.array_equal(a, b)
    c = render_faces(3, seed=8)
    assert all(not np.array_equal(a[i], c[i]) for i in range(3))


def test_face_i_does_not_depend_on_how_many_or_where_from() -> None:
    three = render_faces(3, seed=5)
    assert np.array_equal(render_faces(1, seed=5, start=2)[0], three[2])
    small = load(count=20).train.images
    big = load(count=50).train.images
    assert np.array_equal(big[: len(small)], small)


def test_dataset_images_are_the_renders_preprocessed() -> None:
    splits = load(count=10)
    assert splits.train.images.shape[1:] == (3, 36, 36)
    assert splits.train.images.dtype == np.uint8
    first = preprocess_rgb(render_faces(1, seed=0)[0], crop=300, size=36)
    assert np.array_equal(splits.train.images[0], first)
    # The preprocessed crop keeps the face centred: the middle pixel is never background.
    assert (splits.train.images[:, :, 18, 18] != 255).any(axis=1).all()


def test_crop_and_size_are_options() -> None:
    splits = load(count=10, size=48, crop=None)
    assert splits.train.images.shape[1:] == (3, 48, 48)
    # Uncropped, the white margin of the 500x500 canvas survives in the corners.
    assert (splits.train.images[:, :, 0, 0] == 255).all()


def test_split_sizes_limit_and_labels() -> None:
    splits = load(count=50)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (40, 5, 5)
    assert splits.num_classes is None and splits.train.labels is None
    limited = load(count=50, limit=3)
    assert (len(limited.train), len(limited.val), len(limited.test)) == (3, 3, 3)
    assert np.array_equal(limited.test.images, splits.test.images[:3])


def test_splits_are_disjoint_streams() -> None:
    splits = load(count=60, val_fraction=0.2, test_fraction=0.2)
    seen = {digest(im) for im in splits.train.images}
    assert not seen & {digest(im) for im in splits.val.images}
    assert not seen & {digest(im) for im in splits.test.images}
    # Test face i is not training face i (nor any other): each split has its own seed stream.
    assert not np.array_equal(splits.train.images[0], splits.test.images[0])
    assert len(set(splits.train.names) & set(splits.test.names)) == 0


def test_attributes_per_split_in_range() -> None:
    splits = load(count=30)
    assert set(splits.attributes) == {"train", "val", "test"}
    for split in ("train", "val", "test"):
        table = splits.attributes[split]
        assert set(table) == set(ATTRIBUTES)
        n = len(getattr(splits, split))
        for name, total in ATTRIBUTES.items():
            col = table[name]
            assert col.dtype == np.int64 and col.shape == (n,)
            assert ((col >= 0) & (col < total)).all(), name


def test_64_samples_vary() -> None:
    rngs = [face_rng(0, i) for i in range(64)]
    attrs = [sample_attributes(r) for r in rngs]
    for name in ("face_shape", "face_color", "hair", "hair_color", "eye_color", "mouth"):
        assert len({a[name] for a in attrs}) >= 4, name
    for name in ("glasses", "facial_hair"):
        values = {a[name] for a in attrs}
        assert 0 in values and len(values) >= 3, name
    images = load(count=80).train.images[:64].astype(np.float32)
    # Per-pixel spread across faces: flat or near-identical images would score near 0.
    assert images.std(axis=0).mean() > 25


def test_every_variant_of_every_attribute_draws() -> None:
    rng = np.random.default_rng(1)
    base = sample_attributes(rng)
    for name, total in ATTRIBUTES.items():
        for v in range(total):
            img = draw_face({**base, name: v, **({"glasses": 1} if name.startswith("glasses_")
                                                 else {})}, np.random.default_rng(v))
            assert img.shape == (500, 500, 3) and corners_white(img), (name, v)


def test_config_is_strict() -> None:
    with pytest.raises(ValidationError):
        ToonDataset.Config(cout=10)
    with pytest.raises(ValidationError):
        ToonDataset.Config(val_fraction=0.5, test_fraction=0.5)
    with pytest.raises(ValidationError):
        ToonDataset.Config(channels=1)
    assert ToonDataset.Config(channels=3).count == 6000


def test_cache_round_trip(tmp_path: Path) -> None:
    first = load(count=20, cache=True)
    files = sorted((tmp_path / "cache").glob("*.npz"))
    assert len(files) == 3
    assert not list((tmp_path / "cache").glob("*.tmp"))
    again = load(count=20, cache=True)
    assert np.array_equal(first.train.images, again.train.images)
    assert np.array_equal(first.attributes["test"]["hair"], again.attributes["test"]["hair"])
    # A damaged entry is regenerated, not trusted.
    files[0].write_bytes(b"not a zip")
    third = load(count=20, cache=True)
    assert np.array_equal(first.val.images, third.val.images)
    assert np.array_equal(first.train.images, third.train.images)


def test_cache_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIXELZOO_CACHE", "off")
    load(count=10, cache=True)
    assert not (tmp_path / "cache").exists()


def test_contact_sheet(tmp_path: Path) -> None:
    sheet, pre = tmp_path / "sheet.png", tmp_path / "pre.png"
    contact_sheet(sheet, preprocessed=pre, n=8, thumb=48)
    a, b = cv2.imread(str(sheet)), cv2.imread(str(pre))
    assert a is not None and a.shape[1] == 8 * 48 + 9 * 4
    assert b is not None and b.shape[1] == 8 * 36 * 3 + 9 * 4
