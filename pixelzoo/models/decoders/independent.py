"""`independent` decoder: one linear head per channel, channels predicted independently."""

from __future__ import annotations

import torch
from torch import nn

from pixelzoo.models.decoders.base import ChannelDecoder, DecoderConfig
from pixelzoo.tokens import VOCAB


class IndependentDecoder(ChannelDecoder):
    """logits_c = Linear_c(h_c)."""

    Config = DecoderConfig

    def __init__(self, config: DecoderConfig, *, features: int, channels: int, vocab: int = VOCAB):
        super().__init__(config, features=features, channels=channels, vocab=vocab)
        self.heads = nn.ModuleList(nn.Linear(features, vocab) for _ in range(channels))

    def channel_logits(self, h: torch.Tensor, c: int, previous: list[torch.Tensor]) -> torch.Tensor:
        return self.heads[c](h)

    def forward(self, h: torch.Tensor, teacher: torch.Tensor | None = None) -> torch.Tensor:
        return torch.stack([self.heads[c](h[:, c]) for c in range(self.channels)], dim=1)
