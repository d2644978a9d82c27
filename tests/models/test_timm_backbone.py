"""The `timm` model plugin: token grids in, class logits out; names, pretrained and sizes checked.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pixelzoo.cli import main, model_summary
from pixelzoo.errors import PixelzooError, RecipeError
from pixelzoo.recipe import build_part, load_recipe, recipe_from_dict
from pixelzoo.tokens import add_start_tokens

RECIPES = Path(__file__).resolve().parents[2] / "recipes" / "classify"


def build(channels: int = 1, side: int = 8, **params: object) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_part("models", {"type": "timm", **params}, channels=channels, height=side,
                      width=side, num_classes=10)


def test_tokens_become_normalised_upsampled_images() -> None:
    model = build(mean=0.5, std=0.25)
    tokens = add_start_tokens(torch.full((2, 1, 8, 8), 255, dtype=torch.uint8))
    images = model.images(tokens)
    assert images.shape == (2, 1, 32, 32) and images.dtype == torch.float32
    torch.testing.assert_close(images, torch.full_like(images, 2.0))  # (1 - 0.5) / 0.25
    black = model.images(add_start_tokens(torch.zeros(1, 1, 8, 8, dtype=torch.uint8)))
    torch.testing.assert_close(black, torch.full_like(black, -2.0))  # START border stripped


@pytest.mark.parametrize("channels, side, min_size, expect", [
    (1, 8, 32, (32, 32)), (3, 36, 32, (36, 36)), (1, 28, None, (28, 28)), (1, 8, 20, (20, 20))])
def test_input_size_and_logits(channels: int, side: int, min_size: int | None,
                               expect: tuple[int, int]) -> None:
    model = build(channels, side, min_size=min_size, name="resnet10t")
    assert model.input_size == expect and model.describe()["input"] == f"{expect[0]}x{expect[1]}"
    tokens = add_start_tokens(torch.randint(0, 256, (2, channels, side, side)))
    assert model(tokens).shape == (2, 10)


def test_small_stem_drops_the_max_pool_and_keeps_resolution() -> None:
    plain, small = build().eval(), build(small_stem=True).eval()
    assert isinstance(small.net.maxpool, torch.nn.Identity)
    assert not isinstance(plain.net.maxpool, torch.nn.Identity)
    x = plain.images(add_start_tokens(torch.randint(0, 256, (1, 1, 8, 8))))
    assert small.net.forward_features(x).shape[-1] == 2 * plain.net.forward_features(x).shape[-1]
    with pytest.raises(PixelzooError, match="no stem max-pool"):
        build(name="mobilenetv3_small_050", small_stem=True)


def test_in_chans_and_num_classes_come_from_the_core() -> None:
    model = build(channels=3)
    assert model.net.conv1.in_channels == 3 and model.net.num_classes == 10
    assert (model.channels, model.height, model.width, model.num_classes) == (3, 8, 8, 10)


def test_unknown_name_suggests_close_matches() -> None:
    data = {"dataset": {"type": "digits"}, "model": {"type": "timm", "name": "resnet81"},
            "task": {"type": "classification"}}
    with pytest.raises(RecipeError, match=r"model\.name: .*unknown timm model 'resnet81'; "
                                          r"did you mean .*'resnet18'"):
        recipe_from_dict(data)


def test_pretrained_is_refused_with_a_reason() -> None:
    data = {"dataset": {"type": "digits"},
            "model": {"type": "timm", "name": "resnet18", "pretrained": True},
            "task": {"type": "classification"}}
    with pytest.raises(RecipeError, match=r"model\.pretrained: .*never downloads weights"):
        recipe_from_dict(data)


def test_pixel_tasks_are_refused() -> None:
    with pytest.raises(PixelzooError, match="classifier"):
        build_part("models", {"type": "timm"}, channels=3, height=8, width=8, num_classes=None)


def test_recipes_validate_and_show_reports_size(capsys: pytest.CaptureFixture[str]) -> None:
    recipe = load_recipe(RECIPES / "digits_resnet.yaml")
    info = model_summary(recipe)
    assert info["describe"]["name"] == "resnet18" and info["describe"]["small_stem"] is True
    assert 11_000_000 < info["parameters"] < 11_300_000  # resnet18 with a 1-channel stem
    for name in ("mnist_resnet.yaml", "mnist_rowrnn.yaml", "digits_rowrnn.yaml"):
        assert main(["validate", str(RECIPES / name)]) == 0
    assert main(["validate", str(RECIPES / "digits_resnet.yaml"),
                 "--set", "model.name=resnet_18"]) == 2
    assert "did you mean" in capsys.readouterr().err


@pytest.mark.slow
def test_resnet18_learns_digits(tmp_path: Path) -> None:
    import json

    out = tmp_path / "runs"
    assert main(["run", str(RECIPES / "digits_resnet.yaml"), "--set", "train.epochs=3",
                 "--out", str(out), "-q"]) == 0
    summary = json.loads(next(out.rglob("summary.json")).read_text())
    assert summary["final_metrics"]["accuracy"] > 0.9
