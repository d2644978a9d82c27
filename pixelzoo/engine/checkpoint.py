"""Checkpoints: weights in safetensors, training state in a `weights_only`-loadable file.

Weights (`<name>.safetensors`) carry the model's architecture as metadata, so loading them into a
different architecture fails with a clear expected-vs-found message instead of a shape error deep
in torch. The training state (`<name>.state.pt`) holds only tensors and primitives (optimizer,
scheduler, epoch and step, best metric, RNG states) and is always read with
`torch.load(weights_only=True)`: a checkpoint from a stranger can never run code. Every file is
written atomically.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from pixelzoo.engine.atomic import atomic_write
from pixelzoo.errors import CheckpointError


def save_weights(path: str | Path, model: nn.Module, architecture: dict[str, Any]) -> None:
    """Write the model's weights (fp32 on CPU) with the architecture in the metadata."""
    from safetensors.torch import save_file

    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    meta = {"format": "pt", "pixelzoo.architecture": json.dumps(architecture, sort_keys=True)}
    atomic_write(path, lambda tmp: save_file(state, tmp, metadata=meta))


def read_weights(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any] | None]:
    """(state dict, architecture or None); a corrupt or truncated file is a CheckpointError."""
    from safetensors import safe_open

    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as fh:
            meta = fh.metadata() or {}
            state = {k: fh.get_tensor(k) for k in fh.keys()}
    except Exception as exc:  # noqa: BLE001 - safetensors raises several types for bad files
        raise CheckpointError(f"{path}: not a readable safetensors checkpoint "
                              f"(corrupt or truncated?): {exc}") from None
    arch = meta.get("pixelzoo.architecture")
    return state, (json.loads(arch) if arch else None)


def load_weights(path: str | Path, model: nn.Module,
                 architecture: dict[str, Any] | None = None) -> None:
    """Load weights into `model`, refusing a different architecture with a clear message."""
    state, found = read_weights(path)
    if architecture is not None and found is not None and found != architecture:
        diffs = _diff(architecture, found)
        raise CheckpointError(f"{path}: checkpoint is for a different architecture:\n"
                              + "\n".join(f"  {k}: expected {e!r}, found {f!r}"
                                          for k, e, f in diffs))
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [(k, tuple(own[k].shape), tuple(state[k].shape)) for k in own
              if k in state and own[k].shape != state[k].shape]
    if missing or unexpected or shapes:
        lines = [f"  {k}: expected shape {e}, found {f}" for k, e, f in shapes[:5]]
        if missing:
            lines.append(f"  missing tensors: {', '.join(missing[:5])}"
                         + (" ..." if len(missing) > 5 else ""))
        if unexpected:
            lines.append(f"  unexpected tensors: {', '.join(unexpected[:5])}"
                         + (" ..." if len(unexpected) > 5 else ""))
        raise CheckpointError(f"{path}: weights do not fit this model:\n" + "\n".join(lines))
    model.load_state_dict(state)


def _diff(expected: Any, found: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    if isinstance(expected, dict) and isinstance(found, dict):
        out = []
        for k in sorted(set(expected) | set(found), key=str):
            out += _diff(expected.get(k), found.get(k), f"{prefix}{k}." if prefix or k else k)
        return [(k.rstrip("."), e, f) for k, e, f in out]
    return [] if expected == found else [(prefix, expected, found)]


def rng_state() -> dict[str, Any]:
    """Python, numpy, torch (and CUDA) RNG states as tensors and primitives only."""
    py = random.getstate()
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "python": [py[0], list(py[1]), py[2]],
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), int(np_state[2]),
                  int(np_state[3]), float(np_state[4])],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = state["numpy"]
    np.random.set_state((n[0], n[1].numpy().astype(np.uint32), n[2], n[3], n[4]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_state(path: str | Path, state: dict[str, Any]) -> None:
    atomic_write(path, lambda tmp: torch.save(state, tmp))


def load_state(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"training state not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001
        raise CheckpointError(f"{path}: unreadable training state (corrupt, truncated, or not "
                              f"a pixelzoo checkpoint): {type(exc).__name__}: {exc}") from None
