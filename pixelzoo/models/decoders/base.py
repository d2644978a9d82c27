"""The channel decoder interface.

A decoder turns the RowRNN's per-pixel hidden states, shape (B, C, H, W, D), into 258-way logits
per sub-pixel, shape (B, C, H, W, 258). In training (`forward`) it may use the true tokens
(teacher forcing). At inference (`decode`) it never sees the truth under a hole: it receives the
known tokens, with `HOLE` where a value is missing, and a `pick` function that chooses a token
from logits (argmax, or a sample); a conditional decoder conditions later channels on those picks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import torch
from torch import nn

from pixelzoo.config import PartConfig
from pixelzoo.tokens import HOLE, PIXELS, VOCAB

Pick = Callable[[torch.Tensor, int], torch.Tensor]


def argmax_pick(logits: torch.Tensor, channel: int) -> torch.Tensor:
    """Greedy choice among pixel values (never a START/HOLE token)."""
    return logits[..., :PIXELS].argmax(-1)


class DecoderConfig(PartConfig):
    """Options every decoder accepts (none yet)."""


class ChannelDecoder(nn.Module):
    """Base class for decoder plugins."""

    Config: ClassVar[type[PartConfig]] = DecoderConfig
    #: True if channel c's logits at a pixel depend on the values of channels < c there.
    conditional: ClassVar[bool] = False

    def __init__(self, config: PartConfig, *, features: int, channels: int, vocab: int = VOCAB):
        super().__init__()
        self.config = config
        self.features, self.channels, self.vocab = features, channels, vocab

    def forward(self, h: torch.Tensor, teacher: torch.Tensor | None = None) -> torch.Tensor:
        """(B, C, H, W, D) hidden, (B, C, H, W) true tokens -> (B, C, H, W, V) logits."""
        raise NotImplementedError

    def channel_logits(self, h: torch.Tensor, c: int, previous: list[torch.Tensor]) -> torch.Tensor:
        """Logits for channel c from its hidden (..., D) and chosen tokens of channels < c."""
        raise NotImplementedError

    def decode(self, h: torch.Tensor, known: torch.Tensor, pick: Pick = argmax_pick
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Inference: (tokens, logits). Known sub-pixels are kept; holes get `pick`ed values.

        Channels are decoded in order so a conditional decoder sees its own choices for earlier
        channels at holes and the known values elsewhere, never the hidden truth.
        """
        chosen: list[torch.Tensor] = []
        all_logits = []
        for c in range(self.channels):
            logits = self.channel_logits(h[:, c], c, chosen)
            k = known[:, c]
            value = torch.where(k == HOLE, pick(logits, c), k)
            chosen.append(value)
            all_logits.append(logits)
        return torch.stack(chosen, 1), torch.stack(all_logits, 1)
