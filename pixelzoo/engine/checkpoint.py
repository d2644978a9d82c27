"""Checkpoints: weights in safetensors, training state in a `weights_only`-loadable file.

A checkpoint named `last` is a pair of files in `<run>/checkpoints/`:

- `last.safetensors`: the model's weights (fp32, CPU) with the architecture, epoch, step and the
  tracked metric as metadata, so loading them into a different architecture fails with a clear
  expected-vs-found message instead of a shape error deep in torch;
- `last.state.pt`: everything else needed to continue exactly (optimizer, LR scheduler, AMP
  scaler, epoch and step, best metric, per-rank RNG states, the data order's position, partial
  epoch sums, each callback's state, and the model's training weights when a callback such as
  the EMA exports others into the weights file), holding only tensors and primitives. It is
  always read with `torch.load(weights_only=True)`, so a checkpoint from a stranger can never
  run code.

The state records the SHA-256 of the weights file it was written with: a pair mixed by a crash
between the two renames, or a damaged weights file, is refused on load rather than trusted. Both
files are serialised in memory and written with `atomic_write_many`.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from pixelzoo.engine.atomic import atomic_write_bytes, atomic_write_many
from pixelzoo.errors import CheckpointError

STATE_FORMAT = "pixelzoo.train_state"
STATE_VERSION = 1
WEIGHTS_SUFFIX = ".safetensors"
STATE_SUFFIX = ".state.pt"
REQUIRED_STATE_KEYS = ("epoch", "step_in_epoch", "global_step", "best", "optimizer", "scheduler",
                       "rng")


class ArchitectureMismatch(CheckpointError):
    """The checkpoint is readable but was made for a different model."""


# ------------------------------------------------------------------------------ weights
def _normalise(obj: Any) -> Any:
    """The JSON view of an architecture, so tuples and lists compare equal."""
    return json.loads(json.dumps(obj, sort_keys=True, default=str))


def weights_bytes(model: nn.Module | Mapping[str, torch.Tensor], architecture: dict[str, Any],
                  extra: dict[str, str] | None = None) -> bytes:
    """The weights of `model` (a module or a state dict) on CPU as safetensors bytes, the
    architecture in the metadata."""
    from safetensors.torch import save

    tensors = model.state_dict() if isinstance(model, nn.Module) else model
    state = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    meta = {"format": "pt", "pixelzoo.architecture": json.dumps(architecture, sort_keys=True,
                                                                 default=str)}
    meta.update(extra or {})
    return save(state, metadata=meta)


def save_weights(path: str | Path, model: nn.Module, architecture: dict[str, Any]) -> None:
    """Write the model's weights atomically with the architecture in the metadata."""
    atomic_write_bytes(path, weights_bytes(model, architecture))


def read_metadata(path: str | Path) -> dict[str, str]:
    """The safetensors header's metadata, reading only the header (cheap for big files)."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
            if len(head) != 8:
                raise ValueError("file shorter than a safetensors header")
            (n,) = struct.unpack("<Q", head)
            if n > 100_000_000:
                raise ValueError("header size is implausible")
            header = json.loads(fh.read(n))
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint not found: {path}") from None
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: not a readable safetensors checkpoint (corrupt or "
                              f"truncated?): {exc}") from None
    meta = header.get("__metadata__") or {}
    return {str(k): str(v) for k, v in meta.items()}


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
    check_finite(path, state)
    arch = meta.get("pixelzoo.architecture")
    try:
        return state, (json.loads(arch) if arch else None)
    except json.JSONDecodeError:
        raise CheckpointError(f"{path}: the architecture in its metadata is not valid JSON "
                              "(damaged file?)") from None


def check_finite(path: str | Path, state: Mapping[str, torch.Tensor]) -> None:
    """Refuse weights holding NaN or Inf: a model built from them fills every hole with garbage
    (black, with exit status 0) instead of failing. Every reader of weights passes here."""
    bad = [k for k, t in state.items() if t.is_floating_point() and not bool(t.isfinite().all())]
    if bad:
        shown = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        raise CheckpointError(f"{path}: the weights hold non-finite values (NaN or Inf) in "
                              f"{len(bad)} of {len(state)} tensors ({shown}); the training "
                              "that wrote them diverged or the file was damaged. Use an earlier "
                              "checkpoint")


def check_architecture(path: str | Path, expected: dict[str, Any] | None,
                       found: dict[str, Any] | None) -> None:
    """Raise `ArchitectureMismatch` listing every differing key, expected vs found."""
    if expected is None or found is None:
        return
    exp, fnd = _normalise(expected), _normalise(found)
    if exp == fnd:
        return
    lines = [f"  {k}: expected {e!r}, found {f!r}" for k, e, f in _diff(exp, fnd)]
    raise ArchitectureMismatch(f"{path}: checkpoint is for a different architecture:\n"
                               + "\n".join(lines))


def apply_weights(path: str | Path, model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Load a state dict into `model`, explaining missing, unexpected or misshapen tensors."""
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
        raise ArchitectureMismatch(f"{path}: weights do not fit this model:\n"
                                   + "\n".join(lines))
    model.load_state_dict(state)


def load_weights(path: str | Path, model: nn.Module,
                 architecture: dict[str, Any] | None = None) -> None:
    """Load weights into `model`, refusing a different architecture with a clear message."""
    state, found = read_weights(path)
    check_architecture(path, architecture, found)
    apply_weights(path, model, state)


def _diff(expected: Any, found: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    if isinstance(expected, dict) and isinstance(found, dict):
        out = []
        for k in sorted(set(expected) | set(found), key=str):
            out += _diff(expected.get(k), found.get(k), f"{prefix}{k}.")
        return out
    return [] if expected == found else [(prefix.rstrip(".") or "(top level)", expected, found)]


# ------------------------------------------------------------------------------ RNG
def rng_state(device: torch.device | None = None) -> dict[str, Any]:
    """Python, numpy, torch and CUDA (this rank's device, or None) RNG states, as primitives."""
    py = random.getstate()
    np_state = np.random.get_state()
    cuda = None
    if device is not None and device.type == "cuda":
        cuda = torch.cuda.get_rng_state(device)
    elif device is None and torch.cuda.is_available() and torch.cuda.is_initialized():
        cuda = torch.cuda.get_rng_state()
    return {
        "python": [py[0], list(py[1]), py[2]],
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), int(np_state[2]),
                  int(np_state[3]), float(np_state[4])],
        "torch": torch.get_rng_state(),
        "cuda": cuda,
    }


def set_rng_state(state: dict[str, Any], device: torch.device | None = None) -> None:
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = state["numpy"]
    np.random.set_state((n[0], n[1].numpy().astype(np.uint32), n[2], n[3], n[4]))
    torch.set_rng_state(state["torch"])
    cuda = state.get("cuda")
    if cuda is not None and torch.cuda.is_available():
        if isinstance(cuda, (list, tuple)):  # older files held every device's state
            torch.cuda.set_rng_state_all(cuda)
        else:
            torch.cuda.set_rng_state(cuda, device if device is not None and
                                     device.type == "cuda" else "cuda")


# ------------------------------------------------------------------------------ state files
def state_bytes(state: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


def load_state(path: str | Path) -> dict[str, Any]:
    """Read a training state with `weights_only=True`; anything else is a CheckpointError."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"training state not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises several types for bad files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise CheckpointError(f"{path}: unreadable training state (corrupt, truncated, not a "
                              f"pixelzoo checkpoint, or holding objects other than tensors and "
                              f"plain values): {type(exc).__name__}: {first}") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: not a pixelzoo training state (found a "
                              f"{type(state).__name__}, expected a mapping)")
    missing = [k for k in REQUIRED_STATE_KEYS if k not in state]
    if missing:
        raise CheckpointError(f"{path}: not a pixelzoo training state: missing "
                              f"{', '.join(missing)}")
    return state


# ------------------------------------------------------------------------------ pairs
def paths(stem: str | Path) -> tuple[Path, Path]:
    """(weights, state) paths of the checkpoint `stem` (e.g. `<run>/checkpoints/last`)."""
    stem = Path(stem)
    return stem.with_name(stem.name + WEIGHTS_SUFFIX), stem.with_name(stem.name + STATE_SUFFIX)


def stem_of(path: str | Path) -> Path:
    """The stem for a weights file, a state file, or a stem itself."""
    p = Path(path)
    name = p.name.removesuffix(WEIGHTS_SUFFIX).removesuffix(STATE_SUFFIX)
    return p.with_name(name)


def write_checkpoint(stem: str | Path, model: nn.Module | Mapping[str, torch.Tensor],
                     architecture: dict[str, Any], state: dict[str, Any],
                     metadata: dict[str, str] | None = None) -> None:
    """Write the pair for `stem` (weights of a module or a state dict); the state records the
    weights' hash."""
    w_path, s_path = paths(stem)
    w_bytes = weights_bytes(model, architecture, metadata)
    state = {**state, "format": STATE_FORMAT, "version": STATE_VERSION,
             "weights_sha256": hashlib.sha256(w_bytes).hexdigest()}
    atomic_write_many([(w_path, w_bytes), (s_path, state_bytes(state))])


@dataclass
class Checkpoint:
    """A checkpoint read and checked: weights, training state and where they came from."""

    stem: Path
    weights: dict[str, torch.Tensor]
    state: dict[str, Any]
    architecture: dict[str, Any] | None


def read_checkpoint(stem: str | Path, architecture: dict[str, Any] | None = None) -> Checkpoint:
    """Read and verify the pair for `stem` (existence, integrity, pairing, architecture)."""
    w_path, s_path = paths(stem_of(stem))
    for p in (w_path, s_path):
        if not p.exists():
            raise CheckpointError(f"checkpoint file not found: {p}")
    weights, found = read_weights(w_path)
    check_architecture(w_path, architecture, found)
    state = load_state(s_path)
    want = state.get("weights_sha256")
    if want is not None:
        got = hashlib.sha256(w_path.read_bytes()).hexdigest()
        if got != want:
            raise CheckpointError(
                f"{w_path}: these weights do not belong to {s_path.name} (hash mismatch): the "
                "weights file was damaged or replaced, or a crash hit between the two renames")
    return Checkpoint(stem_of(stem), weights, state, found)


def list_checkpoints(folder: str | Path) -> list[tuple[Path, dict[str, str] | None]]:
    """(stem, metadata or None if unreadable) for every weights file in `folder`."""
    folder = Path(folder)
    out = []
    if not folder.is_dir():
        return out
    for w in sorted(folder.glob("*" + WEIGHTS_SUFFIX)):
        if w.name.startswith("."):
            continue
        try:
            meta: dict[str, str] | None = read_metadata(w)
        except CheckpointError:
            meta = None
        out.append((stem_of(w), meta))
    return out
