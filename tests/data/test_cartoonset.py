"""cartoonset: seed preprocessing, attributes from the CSVs, hash splits, bad input, fallback."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

import pixelzoo.data.images as images_mod
from pixelzoo.data.cartoonset import CartoonSetDataset
from pixelzoo.errors import DataError, PixelzooError
from pixelzoo.registry import DATASETS
from pixelzoo.tokens import START, add_start_tokens


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIXELZOO_CACHE", str(tmp_path / "cache"))


ATTRS = [("face_shape", 7), ("hair_colour", 10), ("has_glasses", 2)]  # invented on purpose


def face(i: int) -> np.ndarray:
    """A 500x500 BGR image with a white border and a flat colour that depends on i."""
    img = np.full((500, 500, 3), 255, np.uint8)
    img[100:400, 100:400] = ((37 * i) % 256, (91 * i) % 256, (53 * i + 7) % 256)
    return img


def make_cartoonset(root: Path, ids: range, *, ext: str = ".png", csv: bool = True) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for i in ids:
        cv2.imwrite(str(root / f"cs{1000 + i}{ext}"), face(i))
        if csv:
            lines = [f'"{name}", {i % total}, {total}' for name, total in ATTRS]
            (root / f"cs{1000 + i}.csv").write_text("\n".join(lines) + "\n")


def load(root: Path, **kw: object):  # noqa: ANN201 - DataSplits
    return CartoonSetDataset(CartoonSetDataset.Config(root=root, **kw)).load()


def split_of(splits) -> dict[str, str]:  # noqa: ANN001
    return {n: s for s in ("train", "val", "test") for n in getattr(splits, s).names}


def test_seed_preprocessing_shape_rgb_order_and_start_tokens(tmp_path: Path) -> None:
    img = np.full((500, 500, 3), 255, np.uint8)  # white outside the 300x300 centre crop
    img[100:250, 100:250] = (0, 0, 255)  # BGR red, top-left of the crop
    img[100:250, 250:400] = (0, 255, 0)  # green, top-right
    img[250:400, 100:400] = (255, 0, 0)  # BGR blue, bottom half
    (tmp_path / "set").mkdir()
    cv2.imwrite(str(tmp_path / "set" / "cs1.png"), img)

    splits = load(tmp_path / "set", val_fraction=0.0, test_fraction=0.0)
    x = splits.train.images[0]
    assert x.shape == (3, 36, 36) and x.dtype == np.uint8
    # 150 px of the crop map to exactly 18 output pixels, so the regions stay pure.
    np.testing.assert_array_equal(x[:, :18, :18].reshape(3, -1).T, [[255, 0, 0]] * 324)
    np.testing.assert_array_equal(x[:, :18, 18:].reshape(3, -1).T, [[0, 255, 0]] * 324)
    np.testing.assert_array_equal(x[:, 18:, :].reshape(3, -1).T, [[0, 0, 255]] * 648)

    # The seed's own steps give the same numbers.
    seed = cv2.cvtColor(cv2.imread(str(tmp_path / "set" / "cs1.png")), cv2.COLOR_BGR2RGB)
    seed = cv2.resize(seed[100:400, 100:400], (36, 36), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(x, seed.transpose(2, 0, 1))

    tokens = add_start_tokens(splits.train.images)
    assert tokens.shape == (1, 3, 37, 37)
    assert (tokens[:, :, 0, :] == START).all() and (tokens[:, :, :, 0] == START).all()
    np.testing.assert_array_equal(tokens[0, :, 1:, 1:], x)


def test_crop_and_size_options(tmp_path: Path) -> None:
    make_cartoonset(tmp_path / "set", range(3), csv=False)
    splits = load(tmp_path / "set", size=20, crop=None, val_fraction=0.0, test_fraction=0.0)
    assert splits.train.images.shape == (3, 3, 20, 20)
    geo = CartoonSetDataset(CartoonSetDataset.Config(root=tmp_path / "x", size=20)).geometry()
    assert (geo.channels, geo.height, geo.width, geo.num_classes) == (3, 20, 20, None)
    # without the crop, the white border survives in the corners
    assert (splits.train.images[:, :, 0, 0] == 255).all()


def test_attributes_read_from_the_csvs(tmp_path: Path) -> None:
    make_cartoonset(tmp_path / "set", range(12))
    splits = load(tmp_path / "set")
    attrs = splits.attributes
    assert attrs is not None
    for split in ("train", "val", "test"):
        table = attrs[split]
        assert list(table) == [name for name, _ in ATTRS]
        for r, name in enumerate(getattr(splits, split).names):
            i = int(Path(name).stem[2:]) - 1000
            assert [int(table[a][r]) for a, _ in ATTRS] == [i % total for _, total in ATTRS]
    assert sum(len(getattr(splits, s)) for s in ("train", "val", "test")) == 12


def test_split_is_stable_when_images_are_added(tmp_path: Path) -> None:
    root = tmp_path / "set"
    make_cartoonset(root, range(30), csv=False)
    before = split_of(load(root, size=8))
    assert set(before.values()) == {"train", "val", "test"}
    make_cartoonset(root, range(30, 60), csv=False)
    after = split_of(load(root, size=8))
    assert len(after) == 60
    assert all(after[name] == split for name, split in before.items())


def test_kaggle_layout_jpeg_in_subfolders(tmp_path: Path) -> None:
    make_cartoonset(tmp_path / "set" / "part1", range(3), ext=".jpg")
    make_cartoonset(tmp_path / "set" / "part2", range(3, 5), ext=".jpg")
    splits = load(tmp_path / "set", val_fraction=0.0, test_fraction=0.0)
    assert len(splits.train) == 5 and splits.attributes is not None
    assert splits.train.names[0].startswith("part1/")


def test_bad_images_skipped_with_one_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture
                                             ) -> None:
    root = tmp_path / "set"
    make_cartoonset(root, range(4), csv=False)
    (root / "cs9000.png").write_bytes(b"")  # zero-byte PNG
    good = (root / "cs1001.png").read_bytes()
    (root / "cs9001.png").write_bytes(good[: len(good) // 2])  # truncated PNG
    (root / "cs9002.jpg").write_bytes(good)  # a PNG with a .jpg name decodes by content
    with caplog.at_level(logging.WARNING):
        splits = load(root, val_fraction=0.0, test_fraction=0.0)
    assert sorted(splits.bad_files) == ["cs9000.png", "cs9001.png"]
    assert "cs9002.jpg" in splits.train.names and len(splits.train) == 5
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "skipped 2 unreadable" in warnings[0] and "cs9000.png (empty file)" in warnings[0]
    assert "cs9001.png (truncated PNG)" in warnings[0]


def test_bad_image_error_policy_names_the_file(tmp_path: Path) -> None:
    root = tmp_path / "set"
    make_cartoonset(root, range(2), csv=False)
    (root / "cs9000.png").write_bytes(b"")
    with pytest.raises(DataError, match=r"cs9000\.png: empty file"):
        load(root, on_bad_image="error")


def test_mixed_channel_counts_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "set"
    make_cartoonset(root, range(3), csv=False)
    cv2.imwrite(str(root / "cs5000.png"), np.full((500, 500), 128, np.uint8))
    with pytest.raises(DataError, match=r"mixed channel counts: 3 colour and 1 grayscale "
                                        r"\(cs5000\.png\)"):
        load(root, val_fraction=0.0, test_fraction=0.0)


def test_empty_folder_and_missing_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no images here")
    with pytest.raises(DataError, match="no images"):
        load(tmp_path / "empty")
    with pytest.raises(DataError, match=r"not found at .*nowhere.*fallback: toon"):
        load(tmp_path / "nowhere")


def test_malformed_attribute_csv(tmp_path: Path) -> None:
    root = tmp_path / "set"
    make_cartoonset(root, range(1), csv=False)
    (root / "cs1000.csv").write_text('"face_shape", 1, 7\n"hair", x, 3\n')
    with pytest.raises(DataError, match=r"cs1000\.csv:2: variant and total must be integers"):
        load(root)


def test_second_load_comes_from_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "set"
    make_cartoonset(root, range(6), csv=False)
    first = load(root)

    def refuse(*a: object, **k: object) -> None:
        raise AssertionError("decoded again despite a valid cache entry")

    monkeypatch.setattr(images_mod, "preprocess_file", refuse)
    second = load(root)
    np.testing.assert_array_equal(second.train.images, first.train.images)
    assert second.train.names == first.train.names


def test_limit_decodes_only_what_it_needs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "set"
    make_cartoonset(root, range(20), csv=False)
    calls: list[Path] = []
    real = images_mod.preprocess_file

    def counting(path: Path, **kw: object):  # noqa: ANN202
        calls.append(path)
        return real(path, **kw)

    monkeypatch.setattr(images_mod, "preprocess_file", counting)
    splits = load(root, limit=2, cache=False, val_fraction=0.0, test_fraction=0.0)
    assert len(splits.train) == 2 and len(calls) < 20


def test_missing_folder_falls_back_to_toon(tmp_path: Path, caplog: pytest.LogCaptureFixture
                                           ) -> None:
    if "toon" not in DATASETS:
        pytest.skip("the toon dataset is not registered in this checkout")
    with caplog.at_level(logging.INFO):
        splits = load(tmp_path / "nowhere", fallback="toon", limit=4, size=36)
    # exactly one line, and only in the notes: a logged copy as well would reach the console
    # beside the note `pixelzoo run` prints, so the user would read it twice
    logged = [r.getMessage() for r in caplog.records if "not found at" in r.getMessage()]
    lines = [n for n in splits.notes if "not found at" in n]
    assert logged == [] and len(lines) == 1 and "\n" not in lines[0]
    assert "nowhere" in lines[0] and "toon" in lines[0]
    assert splits.notes[0] == lines[0]
    assert splits.train.images.shape == (4, 3, 36, 36)


def test_fallback_passes_options_through_the_registry(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from pixelzoo.data.base import DataSplits, Dataset, DatasetConfig, ImageSet

    seen: dict[str, object] = {}

    class FakeToon(Dataset):
        class Config(DatasetConfig):
            size: int = 36
            crop: int | None = 300

        def load(self) -> DataSplits:
            seen.update(self.config.model_dump())
            def part() -> ImageSet:
                return ImageSet(np.zeros((2, 3, self.config.size, self.config.size), np.uint8))

            return DataSplits(part(), part(), part())

    monkeypatch.setattr(DATASETS, "get", lambda name: FakeToon if name == "toon" else None)
    splits = load(tmp_path / "nowhere", fallback="toon", size=12, crop=200, limit=2, seed=5,
                  channels=1)
    assert seen == {"size": 12, "crop": 200, "limit": 2, "seed": 5}
    assert splits.train.images.shape == (2, 1, 12, 12)
    assert "not found at" in splits.notes[0]


def test_config_checks() -> None:
    with pytest.raises(ValueError, match="below 1"):
        CartoonSetDataset.Config(val_fraction=0.6, test_fraction=0.5)
    with pytest.raises(ValueError):
        CartoonSetDataset.Config(fallback="nope")
    assert issubclass(DataError, PixelzooError)
