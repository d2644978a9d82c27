"""The pixel token vocabulary, and the one place start tokens are added.

A pixel value is a token 0..255. `START` (256) fills an extra first row and first column of every
image, marking the start of each row and column; `HOLE` (257) marks a sub-pixel to fill. Datasets
yield plain uint8 (C, H, W) images; `add_start_tokens` turns them into the (C, H+1, W+1) token
grids the models read.
"""

from __future__ import annotations

from typing import Any

import numpy as np

PIXELS = 256
START = 256
HOLE = 257
VOCAB = 258


def add_start_tokens(images: Any) -> Any:
    """(..., C, H, W) uint8 images -> (..., C, H+1, W+1) int64 tokens with START borders.

    Accepts numpy arrays or torch tensors and returns the same kind.
    """
    if isinstance(images, np.ndarray):
        out = np.full((*images.shape[:-2], images.shape[-2] + 1, images.shape[-1] + 1),
                      START, dtype=np.int64)
        strip_start_tokens(out)[...] = images
        return out
    import torch

    out = torch.full((*images.shape[:-2], images.shape[-2] + 1, images.shape[-1] + 1),
                     START, dtype=torch.long, device=images.device)
    strip_start_tokens(out)[...] = images.long()
    return out


def strip_start_tokens(tokens: Any) -> Any:
    """Inverse of `add_start_tokens`: (..., C, H+1, W+1) tokens -> the (..., C, H, W) pixels.

    A view (numpy or torch), so writing into it writes the tokens. For token grids only: a
    feature tensor with a trailing feature axis, (B, C, H+1, W+1, D), is sliced on its own axes.
    """
    return tokens[..., 1:, 1:]


def pad_mask(mask: Any) -> Any:
    """(..., C, H, W) hole map -> (..., C, H+1, W+1), with start tokens never holes."""
    if isinstance(mask, np.ndarray):
        out = np.zeros((*mask.shape[:-2], mask.shape[-2] + 1, mask.shape[-1] + 1), dtype=bool)
        strip_start_tokens(out)[...] = mask
        return out
    import torch

    out = torch.zeros((*mask.shape[:-2], mask.shape[-2] + 1, mask.shape[-1] + 1),
                      dtype=torch.bool, device=mask.device)
    strip_start_tokens(out)[...] = mask.bool()
    return out
