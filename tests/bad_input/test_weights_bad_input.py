"""Weights that hold NaN or Inf are refused on load, with the file named: in `infill`, in
`run --resume` and in the Python API alike (they share one weights reader)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from bad_input_helpers import GOOD, assert_clean
from safetensors import safe_open
from safetensors.torch import save_file
from run_folders import untrained_run



def poison(path: Path, value: float, *, only_one: bool = False) -> None:
    """Rewrite a safetensors file with `value` in its float tensors, keeping its metadata."""
    with safe_open(str(path), framework="pt") as fh:
        meta = fh.metadata()
        state = {k: fh.get_tensor(k) for k in fh.keys()}
    for i, k in enumerate(sorted(state)):
        if state[k].is_floating_point() and (not only_one or i == 0):
            state[k] = torch.full_like(state[k], value)
            if only_one:
                state[k].view(-1)[1:] = 0.5
    save_file(state, str(path), metadata=meta)


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return untrained_run(tmp_path / "runs", seed=None)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_infill_refuses_non_finite_weights(cli, run_dir, tmp_path, value):
    weights = run_dir / "checkpoints" / "best.safetensors"
    poison(weights, value)
    image = tmp_path / "face.png"
    cv2.imwrite(str(image), np.full((36, 36, 3), 128, np.uint8))
    out = tmp_path / "out.png"
    code, _, err = cli("infill", run_dir, "--image", image, "--mask", "box:10,10,4,4", "-o", out)
    assert_clean(code, err, "best.safetensors", "non-finite")
    assert not out.exists()


def test_one_poisoned_value_is_enough_to_refuse(run_dir):
    from pixelzoo.engine.checkpoint import read_weights
    from pixelzoo.errors import PixelzooError

    poison(run_dir / "checkpoints" / "best.safetensors", float("nan"), only_one=True)
    with pytest.raises(PixelzooError, match="non-finite"):
        read_weights(run_dir / "checkpoints" / "best.safetensors")


def test_the_python_api_refuses_non_finite_weights(run_dir):
    import pixelzoo
    from pixelzoo.errors import PixelzooError

    poison(run_dir / "checkpoints" / "best.safetensors", float("nan"))
    with pytest.raises(PixelzooError, match="non-finite"):
        pixelzoo.create_model(weights=str(run_dir))


def test_resume_refuses_non_finite_weights(cli, tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(GOOD)
    out = tmp_path / "runs"
    code, _, err = cli("run", recipe, "--out", out, "-q")
    assert code == 0, err
    (run,) = (out / "r").iterdir()
    weights = run / "checkpoints" / "last.safetensors"
    poison(weights, float("nan"))
    # keep the pair consistent, so only the values are wrong: the state records the hash
    state_path = run / "checkpoints" / "last.state.pt"
    state = torch.load(state_path, weights_only=True)
    state["weights_sha256"] = hashlib.sha256(weights.read_bytes()).hexdigest()
    torch.save(state, state_path)
    code, _, err = cli("run", recipe, "--out", out, "-q", "--resume", weights)
    assert_clean(code, err, "last.safetensors", "non-finite")
