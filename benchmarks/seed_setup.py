"""The seed architecture and its training step, shared by the RowRNN speed benchmarks.

embed 64, hidden 96, 5 layers, `linear_add` row context, `conditional` decoder, 3 channels,
36x36 images (37x37 with the start row and column), one scan direction. The training step is the
infill task's: inputs with holes, logits with teacher forcing, cross-entropy on the hole
sub-pixels, backward, gradient clipping at 1.0 and an Adam step (the seed's optimizer). Inputs
are random: the cost of a step does not depend on the pixel values.
"""

from __future__ import annotations

import os
from typing import Any

import torch

from pixelzoo.config import spec
from pixelzoo.models.rowrnn import RowRNN, RowRNNConfig
from pixelzoo.models.scan import select
from pixelzoo.tokens import HOLE, add_start_tokens

SIZE = 36
CHANNELS = 3
#: (group, name, seconds per call) of every speed benchmark that ran, for the ratio summary
#: that benchmarks/conftest.py prints at the end of the session
RESULTS: list[tuple[str, str, float]] = []


def seed_model(impl: str, size: int = SIZE, **overrides: Any) -> RowRNN:
    cfg = dict(embed=64, hidden=96, layers=5, directions=1, combiner=spec("linear_add"),
               decoder=spec("conditional"))
    cfg.update(overrides)
    torch.manual_seed(0)
    model = RowRNN(RowRNNConfig(**cfg), channels=CHANNELS, height=size, width=size)
    select(model, impl)
    return model


def seed_batch(batch: int, size: int = SIZE, device: str | torch.device = "cpu",
               seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(tokens with holes, true tokens, hole mask): a 10x10 block hole in every image."""
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (batch, CHANNELS, size, size), generator=g)
    holes = torch.zeros(batch, CHANNELS, size, size, dtype=torch.bool)
    lo = size // 3
    holes[:, :, lo:lo + size // 4, lo:lo + size // 4] = True
    tokens = add_start_tokens(images)
    tokens[:, :, 1:, 1:][holes] = HOLE
    return tokens.to(device), images.to(device), holes.to(device)


def infill_loss(model: torch.nn.Module, tokens: torch.Tensor, images: torch.Tensor,
                holes: torch.Tensor) -> torch.Tensor:
    """Cross-entropy on the hole sub-pixels, device work only (CUDA-graph safe)."""
    logits = model(tokens, images)
    per_pixel = torch.nn.functional.cross_entropy(
        logits.flatten(0, -2).float(), images.flatten(), reduction="none")
    weights = holes.flatten().to(per_pixel.dtype)
    return (per_pixel * weights).sum() / weights.sum()


def train_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer,
               batch: tuple[torch.Tensor, ...], autocast: torch.dtype | None = None) -> float:
    optimizer.zero_grad(set_to_none=True)
    device = batch[0].device.type
    with torch.autocast(device, dtype=autocast or torch.float32, enabled=autocast is not None):
        loss = infill_loss(model, *batch)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    return loss.detach()


def set_threads() -> int:
    """Apply PIXELZOO_BENCH_THREADS (if set) and return the thread count in use."""
    n = os.environ.get("PIXELZOO_BENCH_THREADS")
    if n:
        torch.set_num_threads(int(n))
    return torch.get_num_threads()


def env_list(name: str, default: str) -> list[int]:
    return [int(v) for v in os.environ.get(name, default).replace(",", " ").split()]
