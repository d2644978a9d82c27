"""`mixture`: datasets mixed with weights, deterministic, one geometry, clear errors."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from pixelzoo.data.mixture import MixtureDataset
from pixelzoo.errors import DataError, RecipeError
from pixelzoo.recipe import build_part, recipe_from_dict
from pixelzoo.testing import check_dataset

TOON = {"type": "toon", "count": 50, "cache": False}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Twelve 40x40 flat-colour PNGs: a user's own small folder."""
    root = tmp_path / "faces"
    root.mkdir()
    rng = np.random.default_rng(0)
    for i in range(12):
        img = np.empty((40, 40, 3), np.uint8)
        img[:] = rng.integers(0, 256, 3)
        cv2.imwrite(str(root / f"face{i:02d}.png"), img)
    return root


def mixture(*datasets: dict, **kw: object):
    return build_part("datasets", {"type": "mixture", "datasets": list(datasets), **kw}).load()


def test_passes_the_dataset_kit(folder: Path) -> None:
    check_dataset("mixture", {"datasets": [TOON, {"type": "image_folder", "root": str(folder),
                                                  "size": 36, "cache": False}]})


def test_weights_set_each_sources_share_of_training(folder: Path) -> None:
    own = {"type": "image_folder", "root": str(folder), "size": 36, "cache": False,
           "val_fraction": 0.0, "test_fraction": 0.0}
    mixed = mixture(own, TOON, weights=[0.25, 0.75], count=40)
    assert mixed.train.images.shape == (40, 3, 36, 36)
    source = Counter(name.split(":")[0] for name in mixed.train.names)
    assert source == {"0": 10, "1": 30}
    # The small folder (12 images) gives 10 distinct ones; the batch order mixes the sources.
    assert len({n for n in mixed.train.names if n.startswith("0:")}) == 10
    assert {n.split(":")[0] for n in mixed.train.names[:8]} == {"0", "1"}
    # Oversampling repeats every image evenly: 30 of the folder's 12 -> each 2 or 3 times.
    more = mixture(own, TOON, weights=[0.75, 0.25], count=40)
    counts = Counter(n for n in more.train.names if n.startswith("0:"))
    assert sum(counts.values()) == 30 and set(counts.values()) <= {2, 3} and len(counts) == 12
    # Held-out splits are the components' own, whole and once.
    toon = build_part("datasets", TOON).load()
    assert len(mixed.test) == len(toon.test) and np.array_equal(mixed.test.images,
                                                                 toon.test.images)


def test_deterministic_and_seeded(folder: Path) -> None:
    own = {"type": "image_folder", "root": str(folder), "size": 36, "cache": False}
    a = mixture(own, TOON, weights=[1, 1])
    b = mixture(own, TOON, weights=[1, 1])
    c = mixture(own, TOON, weights=[1, 1], seed=3)
    assert a.train.names == b.train.names and np.array_equal(a.train.images, b.train.images)
    assert a.train.names != c.train.names
    # Default weights: every training image of every component, once.
    plain = mixture(own, TOON)
    assert Counter(plain.train.names).most_common(1)[0][1] == 1
    assert len(plain.train) == len(build_part("datasets", own).load().train) + 40


def test_different_geometry_is_a_clear_error(folder: Path) -> None:
    own = {"type": "image_folder", "root": str(folder), "size": 28, "cache": False}
    with pytest.raises(DataError, match=r"datasets\[0\] \(image_folder\): 3x28x28.*"
                                        r"datasets\[1\] \(toon\): 3x36x36"):
        mixture(own, TOON)
    with pytest.raises(DataError, match="class labels"):
        mixture({"type": "digits"}, {"type": "image_folder", "root": str(folder), "size": 8,
                                     "channels": 1, "cache": False})


def test_recipe_validates_the_components() -> None:
    base = {"model": {"type": "rowrnn"}, "task": {"type": "classification"}}
    ok = recipe_from_dict({**base, "dataset": {"type": "mixture", "datasets": ["digits", "digits"]},
                           "augment": ["flip"]})
    assert ok.data["dataset"]["datasets"][1]["type"] == "digits"
    with pytest.raises(RecipeError, match=r"dataset.datasets\[1\].type.*did you mean 'toon'"):
        recipe_from_dict({**base, "dataset": {"type": "mixture", "datasets": ["digits", "tooon"]}})
    with pytest.raises(RecipeError, match="weights has 1 entries for 2 datasets"):
        recipe_from_dict({**base, "dataset": {"type": "mixture", "datasets": ["digits", "digits"],
                                              "weights": [1]}})
    assert MixtureDataset.Config(datasets=["digits"]).weights is None
