"""Run folders as `pixelzoo run` leaves them, with an untrained tiny model's weights.

For the tests of what reads a run folder (`pixelzoo infill`, batch infill, `serve`, the weights
reader): they need the folder's layout, config and weights, not a trained model, so making one
takes milliseconds. Not for tests of training itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
TINY = ("model.hidden=8", "model.embed=4", "model.directions=1")  # one direction: quick to sample


def untrained_run(root: Path, recipe: str = "cartoon_infill.yaml",
                  overrides: Sequence[str] = TINY, *, sharpen: float | None = None,
                  seed: int | None = 0) -> Path:
    """`root/<recipe name>/20250101-000000` with config.yaml and checkpoints/best.safetensors.

    `recipe` is a file in recipes/, shrunk by `overrides`; `sharpen` multiplies every weight
    (sharper distributions than the init, so samples depend on the seed); `seed` seeds the
    init (None: torch's current state).
    """
    from pixelzoo.engine.build import architecture
    from pixelzoo.engine.checkpoint import save_weights
    from pixelzoo.recipe import build_part, load_recipe

    loaded = load_recipe(ROOT / "recipes" / recipe, list(overrides))
    folder = root / Path(recipe).stem / "20250101-000000"
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "config.yaml").write_text(loaded.to_yaml())
    if seed is not None:
        torch.manual_seed(seed)
    model = build_part("models", loaded.data["model"], channels=3, height=36, width=36,
                       num_classes=None)
    if sharpen is not None:
        with torch.no_grad():
            for p in model.parameters():
                p.mul_(sharpen)
    save_weights(folder / "checkpoints" / "best.safetensors", model, architecture(loaded, model))
    return folder
