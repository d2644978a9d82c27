"""Every registered part, built-in or installed plugin, through the conformance kit.

The lists come from the registries, so a newly installed plugin is checked here automatically.
Datasets need data: the built-ins get tiny fixtures (written CSVs and PNGs, a small toon set);
a dataset plugin whose defaults find no data is skipped with the reason, and so is a plugin
whose Config has required parameters this file cannot guess (its own tests pass them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from pixelzoo.errors import PixelzooError
from pixelzoo.registry import COMBINERS, DATASETS, DECODERS, MASKS, MODELS, TASKS, Registry
from pixelzoo.testing import (
    check_combiner,
    check_dataset,
    check_decoder,
    check_mask,
    check_model,
    check_task,
)


#: Parameters for parts that need some (or run faster with a smaller setting).
PARAMS: dict[str, dict[str, dict[str, Any]]] = {
    # A small architecture keeps the check quick; the defaults are built from the recipe too.
    "models": {"rowrnn": {"embed": 6, "hidden": 7}, "timm": {"name": "resnet10t"}},
    "masks": {"mixture": {"masks": [{"type": "boxes"}, {"type": "center"}]}},
    # holes that fit the kit's 8x8 images, every decoding, one picture
    "tasks": {"infill": {"eval": {"masks": ["center", {"type": "boxes", "count": [1, 1]}],
                                  "decodings": ["greedy", "mean", "sample", "schedule"],
                                  "baselines": ["telea"], "samples": 1},
                         "refine_chunks": 2}},
}


def params_for(registry: Registry[Any], name: str) -> dict[str, Any]:
    """The table's parameters, else the defaults; a plugin whose Config needs more is skipped."""
    if name in PARAMS.get(registry.kind, {}):
        return PARAMS[registry.kind][name]
    try:
        registry.get(name).Config()
    except ValidationError as exc:
        pytest.skip(f"{registry.singular} '{name}' needs parameters to build; call the kit "
                    f"from its own tests with them ({exc.errors()[0]['loc']})")
    except Exception:  # noqa: BLE001 - a broken plugin is the kit's to report, below
        pass
    return {}


@pytest.mark.parametrize("name", COMBINERS.names())
def test_combiner_conforms(name: str) -> None:
    check_combiner(name, params_for(COMBINERS, name))


@pytest.mark.parametrize("name", DECODERS.names())
def test_decoder_conforms(name: str) -> None:
    check_decoder(name, params_for(DECODERS, name))


@pytest.mark.parametrize("name", MODELS.names())
def test_model_conforms(name: str) -> None:
    check_model(name, params_for(MODELS, name), pixels=name == "rowrnn")


@pytest.mark.parametrize("name", MASKS.names())
def test_mask_conforms(name: str) -> None:
    check_mask(name, params_for(MASKS, name))


@pytest.mark.parametrize("name", TASKS.names())
def test_task_conforms(name: str) -> None:
    check_task(name, params_for(TASKS, name))


def _mnist_csv(root: Path) -> dict[str, Any]:
    from pixelzoo.data.mnist_csv import HEADER

    rng = np.random.default_rng(0)
    root.mkdir()
    for name, n in [("mnist_train.csv", 20), ("mnist_test.csv", 6)]:
        rows = np.concatenate([rng.integers(0, 10, (n, 1)), rng.integers(0, 256, (n, 784))], 1)
        lines = [",".join(HEADER)] + [",".join(map(str, r)) for r in rows.tolist()]
        (root / name).write_text("\n".join(lines) + "\n")
    return {"root": str(root)}


def _image_folder(root: Path) -> dict[str, Any]:
    import cv2

    rng = np.random.default_rng(0)
    for cls in ("cats", "dogs"):
        (root / cls).mkdir(parents=True)
        for i in range(6):
            cv2.imwrite(str(root / cls / f"{i}.png"), rng.integers(0, 256, (10, 12, 3),
                                                                   dtype=np.uint8))
    return {"root": str(root), "size": 8, "cache": False}


DATASET_PARAMS = {
    "digits": lambda tmp: {},
    "toon": lambda tmp: {"count": 12, "size": 12, "cache": False},
    "cartoonset": lambda tmp: {"root": str(tmp / "absent"), "fallback": "toon", "size": 12,
                               "limit": 4, "cache": False},
    "mnist_csv": lambda tmp: _mnist_csv(tmp / "mnist"),
    "image_folder": lambda tmp: _image_folder(tmp / "images"),
    "lineart": lambda tmp: {"count": 12, "size": 12, "cache": False},
    "toon_transformed": lambda tmp: {"count": 12, "size": 12, "cache": False},
    "skimage_photos": lambda tmp: {"count": 12, "size": 12, "cache": False},
    "mixture": lambda tmp: {"datasets": [{"type": "toon", "count": 12, "size": 12,
                                          "cache": False}, {"type": "lineart", "count": 12,
                                                            "size": 12, "cache": False}]},
}


@pytest.mark.parametrize("name", DATASETS.names())
def test_dataset_conforms(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIXELZOO_CACHE", str(tmp_path / "cache"))
    if name not in DATASET_PARAMS:
        try:
            check_dataset(name, params_for(DATASETS, name))
        except PixelzooError as exc:
            pytest.skip(f"dataset plugin '{name}' found no data with its defaults: {exc}")
        return
    check_dataset(name, DATASET_PARAMS[name](tmp_path))
