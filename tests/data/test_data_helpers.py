"""Shared data helpers: hash splits, safe image decoding, the array cache."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from pixelzoo.data.cache import CACHE_DIRNAME, ArrayCache
from pixelzoo.data.images import BadImage, decode_image, find_images, read_image
from pixelzoo.data.splits import assign_split, hash_fraction, hash_split


def test_hash_split_is_a_pure_function_of_the_name() -> None:
    names = [f"cs{i}" for i in range(3000)]
    parts = hash_split(names, 0.1, 0.2)
    sizes = {s: len(i) for s, i in parts.items()}
    assert sum(sizes.values()) == 3000
    assert abs(sizes["val"] / 3000 - 0.1) < 0.03 and abs(sizes["test"] / 3000 - 0.2) < 0.03
    # the same name lands in the same split whatever else is in the list
    shuffled = names[::-1][:500]
    again = hash_split(shuffled, 0.1, 0.2)
    for s, idx in again.items():
        assert all(assign_split(shuffled[i], 0.1, 0.2) == s for i in idx)
        assert {shuffled[i] for i in idx} <= {names[i] for i in parts[s]}
    assert 0.0 <= hash_fraction("anything") < 1.0
    with pytest.raises(ValueError):
        hash_split(names, 0.5, 0.5)


def test_growing_val_never_touches_test() -> None:
    names = [f"img{i}" for i in range(500)]
    small, large = hash_split(names, 0.05, 0.1), hash_split(names, 0.3, 0.1)
    np.testing.assert_array_equal(small["test"], large["test"])
    assert set(small["val"]) <= set(large["val"])


def test_decode_by_content_not_extension(tmp_path: Path) -> None:
    img = np.zeros((5, 7, 3), np.uint8)
    img[..., 2] = 255
    ok, png = cv2.imencode(".png", img)
    (tmp_path / "looks_like.jpg").write_bytes(png.tobytes())
    out = read_image(tmp_path / "looks_like.jpg")
    np.testing.assert_array_equal(out, img)


@pytest.mark.parametrize("data, reason", [
    (b"", "empty file"),
    (b"hello, not an image", "not a readable image"),
])
def test_unreadable_bytes(data: bytes, reason: str) -> None:
    with pytest.raises(BadImage, match=reason):
        decode_image(data)


def test_truncated_files_are_bad() -> None:
    img = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    for ext in (".png", ".jpg"):
        ok, buf = cv2.imencode(ext, img)
        with pytest.raises(BadImage):
            decode_image(buf.tobytes()[: len(buf) // 2])


def test_find_images_skips_hidden_folders_and_other_files(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / CACHE_DIRNAME).mkdir()
    for p in ("a.PNG", "b/c.jpeg", f"{CACHE_DIRNAME}/x.png", "notes.txt", "b/d.csv"):
        (tmp_path / p).write_bytes(b"x")
    assert [p.relative_to(tmp_path).as_posix() for p in find_images(tmp_path)] == [
        "a.PNG", "b/c.jpeg"]


def test_array_cache_roundtrip_key_and_damage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    monkeypatch.delenv("PIXELZOO_CACHE", raising=False)
    store = ArrayCache.near(tmp_path)
    assert store is not None and store.folder == tmp_path / CACHE_DIRNAME
    a = np.arange(6, dtype=np.uint8).reshape(2, 3)
    store.save("entry", "k1", {"a": a, "names": np.array(["x", "y"])})
    hit = store.load("entry", "k1")
    assert hit is not None and (hit["a"] == a).all() and hit["names"].tolist() == ["x", "y"]
    assert store.load("entry", "k2") is None  # another key is a miss
    store.path("entry").write_bytes(b"garbage")
    assert store.load("entry", "k1") is None  # damage is a miss, not a crash
    assert not [p for p in os.listdir(store.folder) if p.endswith(".tmp")]

    monkeypatch.setenv("PIXELZOO_CACHE", "off")
    assert ArrayCache.near(tmp_path) is None
    monkeypatch.setenv("PIXELZOO_CACHE", str(tmp_path / "elsewhere"))
    assert ArrayCache.near(tmp_path).folder == tmp_path / "elsewhere"  # type: ignore[union-attr]
