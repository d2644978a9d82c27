"""Sequential sampling of hole pixels in the model's scan order (the slow, obviously right way).

Holes are visited pixel by pixel in raster order; at each pixel the model's logits are computed
from the current grid (holes still HOLE, earlier holes already filled), channels are chosen in
order (a conditional decoder conditions on the earlier channels' choices), and the chosen values
are written into the grid so that they condition everything after. This module recomputes a
full forward per hole pixel: it is the oracle that the incremental sampler
(`pixelzoo.models.incremental`) must match draw for draw. Both samplers are written as
generators of pixel steps (`iter_holes_slow`: each pixel's values as soon as they are chosen,
what `pixelzoo serve`'s watch mode streams); `sample_holes_slow` applies every step.

Randomness protocol (shared with the incremental sampler so both give identical samples): for
every pixel position that is a hole in *any* image of the batch, and for every channel in order,
exactly one `torch.rand(B, generator=g)` vector is drawn; a sub-pixel's value is the inverse CDF
of softmax(logits[:256] / T) at that uniform, or the argmax when T == 0. T for an image comes from
the schedule applied to k, the number of that image's hole pixels already visited.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

from pixelzoo.tokens import HOLE, PIXELS, strip_start_tokens


@dataclass(frozen=True)
class TemperatureSchedule:
    """The seed's schedule: the first `steps` hole pixels are sampled at a temperature falling
    from `start` by a factor `decay` per pixel down to `min`; the rest are greedy (T = 0)."""

    start: float = 1.0
    decay: float = 0.95
    min: float = 0.1
    steps: int = 20

    def __call__(self, k: int) -> float:
        if k >= self.steps:
            return 0.0
        return max(self.min, self.start * self.decay**k)


Schedule = Callable[[int], float]


def as_schedule(temperature: float | Schedule) -> Schedule:
    if callable(temperature):
        return temperature
    t = float(temperature)
    return lambda k: t


def pick_tokens(logits: torch.Tensor, temps: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Per-row choice: inverse CDF at `u` of softmax(logits/T), or argmax where T == 0.

    logits (B, V), temps (B,), u (B,) -> (B,) tokens in 0..255.
    """
    pix = logits[:, :PIXELS].float()
    greedy = pix.argmax(-1)
    safe_t = torch.where(temps > 0, temps, torch.ones_like(temps)).to(pix.dtype)
    probs = torch.softmax(pix / safe_t[:, None], -1)
    cdf = probs.cumsum(-1)
    sampled = torch.searchsorted(cdf, (u.to(cdf.dtype) * cdf[:, -1])[:, None]).squeeze(-1)
    sampled = sampled.clamp_(max=PIXELS - 1)
    return torch.where(temps > 0, sampled, greedy)


def hole_positions(tokens: torch.Tensor) -> list[tuple[int, int]]:
    """Raster-order (r, w) real-pixel positions that are a hole in any channel of any image."""
    holes = (strip_start_tokens(tokens) == HOLE).any(1).any(0)
    return [(int(r), int(w)) for r, w in torch.nonzero(holes).tolist()]


def choose_pixel(decoder: torch.nn.Module, h: torch.Tensor, current: torch.Tensor,
                 temps: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Decode one pixel for a batch: h (B, C, D), current tokens (B, C) with HOLE -> (B, C)."""
    chosen: list[torch.Tensor] = []
    for c in range(current.shape[1]):
        logits = decoder.channel_logits(h[:, c], c, chosen)
        u = torch.rand(current.shape[0], generator=generator, device=generator.device
                       if generator is not None else h.device)
        value = pick_tokens(logits, temps, u.to(h.device))
        chosen.append(torch.where(current[:, c] == HOLE, value, current[:, c]))
    return torch.stack(chosen, 1)


PixelSteps = Iterator[tuple[int, int, torch.Tensor]]


@torch.no_grad()
def iter_holes_slow(model: torch.nn.Module, tokens: torch.Tensor,
                    temperature: float | Schedule = 1.0,
                    generator: torch.Generator | None = None) -> PixelSteps:
    """`sample_holes_slow` one pixel at a time, for showing a fill as it happens.

    Yields (r, w, values) for each hole pixel in scan order as soon as it is chosen: (r, w) in
    real-pixel coordinates, values the (B, C) tokens now at that pixel (known sub-pixels keep
    their values). The draws are the non-streamed sampler's, so the yielded values, written
    into the image, give exactly `sample_holes_slow`'s result for the same generator.
    """
    schedule = as_schedule(temperature)
    grid = tokens.clone()
    b = grid.shape[0]
    visited = torch.zeros(b, dtype=torch.long)
    for r, w in hole_positions(grid):
        current = grid[:, :, r + 1, w + 1]
        is_hole = (current == HOLE).any(1).cpu()
        temps = torch.tensor([schedule(int(k)) for k in visited], device=grid.device)
        h = model.features(grid)[:, :, r, w]
        grid[:, :, r + 1, w + 1] = choose_pixel(model.decoder, h, current, temps, generator)
        visited += is_hole.long()
        yield r, w, grid[:, :, r + 1, w + 1].clone()


def apply_steps(tokens: torch.Tensor, steps: PixelSteps) -> torch.Tensor:
    """Write every (r, w, values) of `steps` into a copy of (B, C, H+1, W+1) `tokens`
    -> the filled (B, C, H, W) tokens."""
    grid = tokens.clone()
    for r, w, values in steps:
        grid[:, :, r + 1, w + 1] = values
    return strip_start_tokens(grid)


def sample_holes_slow(model: torch.nn.Module, tokens: torch.Tensor,
                      temperature: float | Schedule = 1.0,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """Fill every HOLE of (B, C, H+1, W+1) tokens; returns the filled (B, C, H, W) tokens."""
    return apply_steps(tokens, iter_holes_slow(model, tokens, temperature, generator))
