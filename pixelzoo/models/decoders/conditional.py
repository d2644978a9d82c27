"""`conditional` decoder: red, then green given red, then blue given red and green.

Each channel's logits come from its own hidden state plus embeddings of the values already
chosen for the earlier channels at the same pixel: red from h_R; green from [h_G ; emb(red)];
blue from [h_B ; emb(red) ; emb(green)]. That factorises p(R, G, B) = p(R) p(G|R) p(B|R,G) per
pixel, where `independent` assumes p(R) p(G) p(B). In training (`forward`) the earlier values
are the true ones (teacher forcing). At inference the base class's `decode` feeds the decoder its
own picks at holes and the known values elsewhere, so the truth under a hole is never seen.
"""

from __future__ import annotations

import torch
from pydantic import Field
from torch import nn

from pixelzoo.models.decoders.base import ChannelDecoder, DecoderConfig
from pixelzoo.tokens import VOCAB


class ConditionalConfig(DecoderConfig):
    value_embed: int = Field(
        16, ge=1, description="size of the embedding of an earlier channel's chosen value")


class ConditionalDecoder(ChannelDecoder):
    """logits_c = Linear_c([h_c ; emb_0(v_0) ; ... ; emb_{c-1}(v_{c-1})]).

    `emb_k` is one table per earlier channel k (258 rows: the 256 values plus START and HOLE,
    so any token can be looked up), shared by every later channel's head. With one channel
    this is a single linear head.
    """

    Config = ConditionalConfig
    conditional = True

    def __init__(self, config: ConditionalConfig, *, features: int, channels: int,
                 vocab: int = VOCAB):
        super().__init__(config, features=features, channels=channels, vocab=vocab)
        e = config.value_embed
        self.value_embeddings = nn.ModuleList(nn.Embedding(VOCAB, e) for _ in range(channels - 1))
        self.heads = nn.ModuleList(nn.Linear(features + c * e, vocab) for c in range(channels))

    def channel_logits(self, h: torch.Tensor, c: int, previous: list[torch.Tensor]) -> torch.Tensor:
        """h (..., D) and the chosen tokens (...) of channels 0..c-1 -> logits (..., vocab)."""
        if len(previous) < c:
            raise ValueError(f"channel {c} of a conditional decoder needs the values of the "
                             f"{c} channel(s) before it, got {len(previous)}")
        parts = [h] + [self.value_embeddings[k](previous[k]).to(h.dtype) for k in range(c)]
        return self.heads[c](torch.cat(parts, dim=-1))

    def forward(self, h: torch.Tensor, teacher: torch.Tensor | None = None) -> torch.Tensor:
        """(B, C, H, W, D) hidden, (B, C, H, W) true tokens -> (B, C, H, W, vocab) logits."""
        if teacher is None:
            if self.channels > 1:
                raise ValueError("the conditional decoder needs the true tokens (`teacher`) in "
                                 "training; use decode() at inference")
            return self.heads[0](h[:, 0]).unsqueeze(1)
        previous = [teacher[:, k] for k in range(self.channels - 1)]
        return torch.stack([self.channel_logits(h[:, c], c, previous[:c])
                            for c in range(self.channels)], dim=1)
