"""Shipped weights: listed, resolvable by name, small, documented, and usable by `infill`."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
import yaml

from pixelzoo import weights
from pixelzoo.cli import main
from pixelzoo.errors import PixelzooError


@pytest.fixture(autouse=True)
def _restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_toon_infill_is_listed_and_complete() -> None:
    listed = {w["name"]: w for w in weights.list_weights()}
    assert "toon_infill" in listed
    w = listed["toon_infill"]
    assert (w["task"], w["dataset"]) == ("infill", "mixture")  # toon's two styles
    assert w["description"]
    folder = weights.resolve("toon_infill")
    for name in weights.FILES:
        assert (folder / name).is_file(), name
    assert (folder / "model.safetensors").stat().st_size <= 20 * 2**20
    card = (folder / "card.md").read_text()
    for must in ("recipes/toon_infill.yaml", "CPU", "minutes", "TELEA"):
        assert must in card
    config = yaml.safe_load((folder / "config.yaml").read_text())
    assert config["task"]["type"] == "infill" and config["model"]["directions"] == 4


def test_unknown_name_suggests_the_nearest() -> None:
    with pytest.raises(PixelzooError, match="did you mean 'toon_infill'"):
        weights.resolve("toon_infil")


def test_list_weights_command(capsys) -> None:
    assert main(["list", "weights"]) == 0
    assert "toon_infill" in capsys.readouterr().out


def test_infill_with_the_shipped_weights(tmp_path) -> None:
    from pixelzoo.data.toon import generate

    face = generate(1, seed=3, split="test")[0][0]  # a (3, 36, 36) face no weights have seen
    path = tmp_path / "face.png"
    cv2.imwrite(str(path), np.ascontiguousarray(face.transpose(1, 2, 0)[:, :, ::-1]))
    out = tmp_path / "out.png"
    assert main(["infill", "toon_infill", "--image", str(path), "--mask", "box:15,15,5,10",
                 "-o", str(out), "--decoding", "mean"]) == 0
    filled = cv2.imread(str(out))[:, :, ::-1].transpose(2, 0, 1)
    hole = np.zeros((36, 36), bool)
    hole[15:20, 15:25] = True
    assert (filled[:, ~hole] == face[:, ~hole]).all()
    assert not (filled[:, hole] == 0).all()


def test_infill_defaults_to_the_weights_own_decoding(tmp_path, capsys) -> None:
    """Without --decoding, the shipped weights fill with the decoding their config names
    (`fused`, the one that beats every classic method), and give the same pixels as asking
    for it."""
    from pixelzoo.data.toon import generate

    face = generate(1, seed=5, split="test")[0][0]
    path = tmp_path / "face.png"
    cv2.imwrite(str(path), np.ascontiguousarray(face.transpose(1, 2, 0)[:, :, ::-1]))
    outs = {}
    for name, extra in (("default", []), ("fused", ["--decoding", "fused"]),
                        ("mean", ["--decoding", "mean"])):
        outs[name] = tmp_path / f"{name}.png"
        assert main(["infill", "toon_infill", "--image", str(path), "--mask", "box:12,10,8,12",
                     "-o", str(outs[name]), *extra]) == 0
    assert "(fused)" in capsys.readouterr().out.splitlines()[0]
    px = {k: cv2.imread(str(v)) for k, v in outs.items()}
    assert (px["default"] == px["fused"]).all()
    assert (px["default"] != px["mean"]).any()


@pytest.mark.parametrize("dataset", [
    {"type": "toon", "count": 6000, "limit": 64, "cache": False},
    {"type": "lineart", "limit": 32, "cache": False},
    {"type": "skimage_photos", "limit": 32, "cache": False}], ids=lambda d: d["type"])
def test_shipped_weights_beat_every_classic_method(dataset: dict) -> None:
    """The quality bar, on test images the weights never saw, in and out of distribution:
    their fill decoding (`fused`) beats TELEA, NS and biharmonic on hole PSNR and SSIM for the
    demo hole and 1-3 boxes of side 3-10 (the card's full table has 200-256 images per set)."""
    from pixelzoo.baselines import inpaint
    from pixelzoo.engine.build import build_data, build_task
    from pixelzoo.infill_source import load_infill
    from pixelzoo.metrics import hole_metrics
    from pixelzoo.recipe import recipe_from_dict

    torch.set_num_threads(1)
    loaded = load_infill("toon_infill")
    assert loaded.model.pixelzoo.fill_decoding == "fused"
    masks = ["demo_hole", {"type": "boxes", "count": [1, 3], "size": [0.083, 0.28]}]
    task_section = {**loaded.recipe["task"],
                    "eval": {**loaded.recipe["task"]["eval"], "masks": masks}}
    recipe = recipe_from_dict({**loaded.recipe, "dataset": dataset, "augment": [],
                               "task": task_section})
    data = build_data(recipe)
    task = build_task(recipe, data)
    for name, (images, holes) in task.eval_sets(data.test).items():
        model = hole_metrics(images, task.fill(loaded.model, images, holes, "cpu", "fused"),
                             holes)
        for method in ("telea", "ns", "biharmonic"):
            classic = hole_metrics(images, inpaint(images, holes, method), holes)
            assert model["psnr"] > classic["psnr"], (name, method, model, classic)
            assert model["ssim"] > classic["ssim"], (name, method, model, classic)
