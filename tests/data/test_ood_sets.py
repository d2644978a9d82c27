"""The out-of-distribution sets: toon's geometry, deterministic, cached, and unlike toon."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest

from pixelzoo.data.lineart import LineArtDataset, draw_lineart_face
from pixelzoo.data.skimage_photos import PHOTOS, SkimagePhotosDataset, photo_path, read_photo
from pixelzoo.data.toon import ToonDataset
from pixelzoo.data.toon_transformed import ToonTransformedDataset
from pixelzoo.errors import RecipeError
from pixelzoo.recipe import build_part, recipe_from_dict
from pixelzoo.registry import DATASETS
from pixelzoo.testing import check_dataset
from pixelzoo.tokens import START, add_start_tokens

SMALL = {"count": 30}
OOD = {"lineart": LineArtDataset, "toon_transformed": ToonTransformedDataset,
       "skimage_photos": SkimagePhotosDataset}


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIXELZOO_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a dataset tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize("name", list(OOD))
def test_registered_and_passes_the_dataset_kit(name: str) -> None:
    assert DATASETS.get(name) is OOD[name]
    check_dataset(name, {**SMALL, "cache": False})


@pytest.mark.parametrize("name", list(OOD))
def test_toons_token_layout(name: str) -> None:
    splits = build_part("datasets", {"type": name, **SMALL}).load()
    for split in ("train", "val", "test"):
        images = getattr(splits, split).images
        assert images.dtype == np.uint8 and images.shape[1:] == (3, 36, 36)
    tokens = add_start_tokens(splits.test.images)
    assert tokens.shape[1:] == (3, 37, 37)
    assert (tokens[:, :, 0] == START).all() and tokens[:, :, 1:, 1:].max() <= 255


@pytest.mark.parametrize("name", list(OOD))
def test_deterministic_per_index_and_cached(name: str, tmp_path: Path) -> None:
    small = build_part("datasets", {"type": name, "count": 20, "cache": False}).load()
    big = build_part("datasets", {"type": name, "count": 40, "cache": False}).load()
    # Image i of a split does not depend on how many are made.
    assert np.array_equal(big.train.images[:10], small.train.images[:10])
    assert not np.array_equal(small.train.images[0], small.test.images[0])
    cached = build_part("datasets", {"type": name, "count": 20}).load()
    assert len(list((tmp_path / "cache").glob(f"{name}-*.npz"))) == 3
    again = build_part("datasets", {"type": name, "count": 20}).load()
    for split in ("train", "val", "test"):
        assert np.array_equal(getattr(cached, split).images, getattr(small, split).images)
        assert np.array_equal(getattr(again, split).images, getattr(small, split).images)
    other_seed = build_part("datasets", {"type": name, "count": 20, "seed": 1,
                                         "cache": False}).load()
    assert not np.array_equal(other_seed.test.images, small.test.images)


def test_lineart_is_not_toon() -> None:
    line = LineArtDataset(LineArtDataset.Config(count=60, cache=False)).load().train.images
    toon = ToonDataset(ToonDataset.Config(count=60, cache=False)).load().train.images
    # Coloured backgrounds: toon's corners are white, most lineart corners are not.
    assert (toon[:, :, 0, 0] == 255).all(axis=1).mean() > 0.9
    assert (line[:, :, 0, 0] != 255).any(axis=1).mean() > 0.4
    # Skin colours no human has: a clearly green- or blue-dominant centre on many faces.
    centre = line[:, :, 14:22, 14:22].reshape(len(line), 3, -1).mean(axis=2)
    assert ((centre[:, 1] > centre[:, 0] + 20) | (centre[:, 2] > centre[:, 0] + 20)).mean() > 0.2
    assert line.astype(np.float32).std(axis=0).mean() > 25  # varied, not one template
    face = draw_lineart_face(np.random.default_rng(0))
    assert face.shape == (500, 500, 3) and face.dtype == np.uint8


def test_toon_transformed_recolours_every_face_of_toons_own_split() -> None:
    c = {"count": 40, "cache": False}
    tt = ToonTransformedDataset(ToonTransformedDataset.Config(**c, p=0.0)).load()
    toon = ToonDataset(ToonDataset.Config(**c)).load()
    for split in ("train", "test"):
        a, b = getattr(tt, split).images, getattr(toon, split).images
        # With p = 0 no face moves: a recolouring only, so white stays white and every face
        # changed colour.
        white = (b == 255).all(axis=1)
        assert np.array_equal((a == 255).all(axis=1), white)
        assert all((a[i] != b[i]).any() for i in range(len(a)))
    moved = ToonTransformedDataset(ToonTransformedDataset.Config(**c, p=1.0)).load().test.images
    assert not np.array_equal(moved, tt.test.images)


def test_photos_are_bundled_and_never_fetched(no_network: None) -> None:
    for name in PHOTOS:
        img = read_photo(name)
        assert photo_path(name).is_file()
        assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
        assert min(img.shape[:2]) >= 36
    splits = SkimagePhotosDataset(SkimagePhotosDataset.Config(count=60, cache=False)).load()
    imgs = splits.train.images
    assert imgs.shape == (48, 3, 36, 36)
    grey = (imgs[:, 0] == imgs[:, 1]).all(axis=(1, 2)) & (imgs[:, 1] == imgs[:, 2]).all(axis=(1, 2))
    assert 0 < grey.sum() < len(imgs)  # colour and grey photos both
    one = SkimagePhotosDataset(SkimagePhotosDataset.Config(count=20, photos=["coins"],
                                                           cache=False)).load()
    assert (one.train.images[:, 0] == one.train.images[:, 2]).all()


def test_photo_names_are_checked_with_did_you_mean() -> None:
    base = {"model": {"type": "rowrnn"}, "task": {"type": "classification"}}
    with pytest.raises(RecipeError, match="dataset.photos"):
        recipe_from_dict({**base, "dataset": {"type": "skimage_photos", "photos": ["lena"]}})
    with pytest.raises(RecipeError, match="did you mean 'count'"):
        recipe_from_dict({**base, "dataset": {"type": "lineart", "cout": 5}})
