"""The seed's architecture builds from a recipe, and `pixelzoo show` reports its size.

The seed: linear_add, conditional, embed 64, hidden 96, 5 layers, 3 channels, 36x36 images
(37x37 token grids). The parameter count is checked against a formula written from the design.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from pixelzoo.cli import main, model_summary
from pixelzoo.recipe import build_part, recipe_from_dict
from pixelzoo.registry import TASKS
from pixelzoo.tasks.base import Task
from pixelzoo.tokens import VOCAB, add_start_tokens

EMBED, HIDDEN, LAYERS, CHANNELS, VALUE_EMBED = 64, 96, 5, 3, 16


def seed_parameters() -> int:
    def gru_layer(i: int) -> int:
        return 3 * HIDDEN * (i + HIDDEN) + 6 * HIDDEN

    embeddings = CHANNELS * (VOCAB * EMBED + EMBED)  # token tables + row-position vectors
    stack = (HIDDEN * EMBED + EMBED) + gru_layer(EMBED) + (LAYERS - 1) * gru_layer(HIDDEN)
    adapters = (CHANNELS - 1) * (HIDDEN * EMBED + EMBED)
    heads = sum((HIDDEN + c * VALUE_EMBED) * VOCAB + VOCAB for c in range(CHANNELS))
    tables = (CHANNELS - 1) * VOCAB * VALUE_EMBED
    return embeddings + CHANNELS * stack + adapters + heads + tables


class _PixelTask(Task):
    """Stand-in pixel task for when the infill task is not installed: only its name is used."""


@pytest.fixture()
def pixel_task() -> Any:
    # The seed is an infill model; without the infill plugin a stand-in pixel task keeps the
    # model check independent of it.
    if "infill" in TASKS:
        yield "infill"
        return
    TASKS.register("seed_test_pixels", _PixelTask, dist="tests")
    yield "seed_test_pixels"
    TASKS.unregister("seed_test_pixels")


def seed_recipe(task: str) -> dict[str, Any]:
    return {
        "seed": 0,
        "dataset": {"type": "cartoonset", "root": "no-such-folder", "size": 36,
                    "fallback": "toon"},
        "model": {"type": "rowrnn", "embed": EMBED, "hidden": HIDDEN, "layers": LAYERS,
                  "directions": 1, "combiner": {"type": "linear_add"},
                  "decoder": {"type": "conditional"}},
        "task": {"type": task},
        "train": {"epochs": 20, "batch_size": 32, "optimizer": {"type": "adam", "lr": 1e-3},
                  "clip_grad": 1.0},
    }


def test_seed_builds_and_show_reports_its_size(pixel_task: str) -> None:
    recipe = recipe_from_dict(seed_recipe(pixel_task), name="seed")
    summary = model_summary(recipe)
    assert summary["parameters"] == seed_parameters()
    assert summary["describe"] == {"model": "rowrnn", "combiner": "linear_add",
                                   "decoder": "conditional", "directions": 1, "layers": LAYERS,
                                   "hidden": HIDDEN}
    torch.manual_seed(0)
    model = build_part("models", recipe.data["model"], channels=3, height=36, width=36)
    tokens = add_start_tokens(torch.randint(0, 256, (1, 3, 36, 36)))
    assert tokens.shape == (1, 3, 37, 37)
    feats = model.features(tokens)
    assert feats.shape == (1, 3, 36, 36, HIDDEN)
    logits = model.decoder(feats, tokens[:, :, 1:, 1:])
    assert logits.shape == (1, 3, 36, 36, VOCAB)


def test_pixelzoo_show_prints_the_count(pixel_task: str, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    import yaml

    path = tmp_path / "seed.yaml"
    path.write_text(yaml.safe_dump(seed_recipe(pixel_task)))
    assert main(["show", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"# parameters: {seed_parameters():,}" in out
