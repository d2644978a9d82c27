"""Discretized logistic mixture decoders: PixelCNN++'s output layer, in the 258-way interface.

Each sub-pixel's value is modelled as a mixture of K logistics on a continuous intensity axis,
discretized into the 256 bins [v - 0.5, v + 0.5] (the edge bins 0 and 255 take the tails). It
shares strength between neighbouring intensities: one component covers a whole run of similar
values with three numbers, where the categorical decoders learn 256 separate logits. The
decoders return the *exact log-probabilities* of the 256 values as the first 256 "logits" and a
large negative number (`IMPOSSIBLE`) for START and HOLE, so cross-entropy on them is exactly the
mixture's NLL and every sampler, `pick`, metric and `mean` decoding that reads 258-way logits
works unchanged. Two forms are declared, like the categorical `independent` / `conditional` pair:
`logistic_mixture` (each channel on its own) and `conditional_logistic_mixture` (R, then G | R,
then B | R, G). Beside the interface each offers `log_prob` (the truth's log-probability
alone, O(K) per sub-pixel, for a training loss) and `expected_value` (the analytic mean, for
the `mean` decoding); the maths is in plain functions (`mixture_log_probs`, `mixture_log_prob`,
`mixture_mean`). It is not a continuous-output model: intensities stay the 0..255 tokens
everywhere else in pixelzoo.

Layout: the maths (parameters -> log-probabilities, mean), then the shared decoder body, then
the two registered decoders (entry points `logistic_mixture`, `conditional_logistic_mixture`
in pixelzoo's pyproject).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from pixelzoo.models.decoders.base import ChannelDecoder, DecoderConfig, Pick, argmax_pick
from pixelzoo.tokens import HOLE, PIXELS, VOCAB

#: The logit given to START and HOLE: exp() of it is exactly 0 in float32 and float64, so the
#: 256 pixel probabilities (which sum to 1) keep all the mass and cross-entropy over the 258
#: logits is exactly the mixture's NLL. A finite number, unlike -inf, keeps differences and
#: products with zero weights (entropies, comparisons of two logit tensors) free of NaNs.
IMPOSSIBLE = -1.0e4
#: Bounds on the log scale, on the [-1, 1] axis where value v sits at 2v/255 - 1 (PixelCNN++'s
#: lower bound -7: a component can still put 97% of its mass in one bin, but not become a spike
#: whose gradients explode; the upper one keeps 1/scale from underflowing).
LOG_SCALE_MIN, LOG_SCALE_MAX = -7.0, 7.0
BIN = 2.0 / (PIXELS - 1)  # one intensity step on the [-1, 1] axis


# ------------------------------------------------------------------------------ the maths
class MixtureParams(NamedTuple):
    """Per-sub-pixel mixture parameters, each (..., K), on the [-1, 1] intensity axis."""

    logit_weights: torch.Tensor  # unnormalised log mixture weights
    means: torch.Tensor
    log_scales: torch.Tensor  # clamped to [LOG_SCALE_MIN, LOG_SCALE_MAX] where used


def _inner_edges(like: torch.Tensor) -> torch.Tensor:
    """The 255 bin boundaries between values v-1 and v (v = 1..255) on the [-1, 1] axis."""
    v = torch.arange(1, PIXELS, device=like.device, dtype=like.dtype)
    return (v - 0.5) * BIN - 1.0


#: Elements of a (rows, K, 256) intermediate above which `mixture_log_probs` works in row chunks
#: (64 MB in float32), so an evaluation batch does not hold K copies of its 256-way logits.
CHUNK_ELEMENTS = 1 << 24


def mixture_log_probs(p: MixtureParams) -> torch.Tensor:
    """(..., K) parameters -> (..., 256) log P(v), normalised over v = 0..255.

    A middle bin's mass F(r) - F(l), with z = (edge - mean) / scale, is computed from the identity
    sigmoid(z_r) - sigmoid(z_l) = sigmoid(z_r) * sigmoid(-z_l) * (1 - exp(-(z_r - z_l))), so its
    log is logsigmoid(z_r) + logsigmoid(-z_l) + log(-expm1(-BIN / scale)): two log-sigmoids and a
    term that does not depend on v, none of which cancels catastrophically. This is exact where
    PixelCNN++ subtracts CDFs and falls back to the density at the bin's middle when the
    difference underflows; here a bin far in a tail just gets a very negative, still accurate,
    log-mass, so no fallback is needed. Bin 0 is log F(r), bin 255 is log(1 - F(l)). Each of
    the 255 inner edges serves the bins on both sides of it (logsigmoid(-z) = logsigmoid(z) - z),
    so one log-sigmoid per edge and component is all the transcendental work.
    """
    lead = p.means.shape[:-1]
    k = p.means.shape[-1]
    flat = MixtureParams(*(t.reshape(-1, k) for t in p))
    rows = max(1, CHUNK_ELEMENTS // (k * PIXELS))
    if flat.means.shape[0] <= rows:
        return _log_probs_rows(flat).reshape(*lead, PIXELS)
    parts = [_log_probs_rows(MixtureParams(*(t[i:i + rows] for t in flat)))
             for i in range(0, flat.means.shape[0], rows)]
    return torch.cat(parts).reshape(*lead, PIXELS)


def _log_probs_rows(p: MixtureParams) -> torch.Tensor:
    """`mixture_log_probs` on (N, K) parameters -> (N, 256)."""
    log_w = torch.log_softmax(p.logit_weights, dim=-1)[..., None]  # (N, K, 1)
    inv_s = torch.exp(-p.log_scales.clamp(LOG_SCALE_MIN, LOG_SCALE_MAX))[..., None]
    z = (_inner_edges(p.means) - p.means[..., None]) * inv_s  # (N, K, 255)
    ls = F.logsigmoid(z)
    first = log_w + ls[..., :1]  # bin 0: log F(its right edge)
    middle = (log_w + torch.log(-torch.expm1(-BIN * inv_s))) + ls[..., 1:] + (ls - z)[..., :-1]
    last = log_w + (ls - z)[..., -1:]  # bin 255: log(1 - F(its left edge))
    return torch.logsumexp(torch.cat([first, middle, last], -1), dim=-2)


def mixture_log_prob(p: MixtureParams, values: torch.Tensor) -> torch.Tensor:
    """(..., K) parameters and (...) values in 0..255 -> (...) log P(value).

    The same bin masses as `mixture_log_probs` at one value each: O(K) work per sub-pixel rather
    than O(256 K), which is what a training loss needs.
    """
    log_w = torch.log_softmax(p.logit_weights, dim=-1)
    inv_s = torch.exp(-p.log_scales.clamp(LOG_SCALE_MIN, LOG_SCALE_MAX))
    v = values.to(p.means.dtype)[..., None]
    z_right = ((v + 0.5) * BIN - 1.0 - p.means) * inv_s
    z_left = ((v - 0.5) * BIN - 1.0 - p.means) * inv_s
    zero = torch.zeros_like(z_right)
    has_left, has_right = v > 0, v < PIXELS - 1  # the edge bins take the tails
    term = (log_w + torch.where(has_right, F.logsigmoid(z_right), zero)
            + torch.where(has_left, F.logsigmoid(-z_left), zero)
            + torch.where(has_left & has_right, torch.log(-torch.expm1(-BIN * inv_s)), zero))
    return torch.logsumexp(term, dim=-1)


def mixture_mean(p: MixtureParams) -> torch.Tensor:
    """(..., K) parameters -> (...) the exact expected value, on the 0..255 scale.

    For a variable on 0..255, E[V] = sum_{v=1}^{255} P(V >= v), and P(V >= v) is the mixture's
    survival function at the bin edge v - 0.5: sum_k w_k sigmoid(-(edge - mean_k) / scale_k).
    255 sigmoids per component, no logs; it equals sum_v v P(v) over `mixture_log_probs`.
    """
    w = torch.softmax(p.logit_weights, dim=-1)
    inv_s = torch.exp(-p.log_scales.clamp(LOG_SCALE_MIN, LOG_SCALE_MAX))
    edges = _inner_edges(p.means)
    total = torch.zeros_like(p.means[..., 0])
    for k in range(p.means.shape[-1]):  # one component at a time, as in mixture_log_probs
        z = (edges - p.means[..., k, None]) * inv_s[..., k, None]  # (..., 255)
        total = total + w[..., k] * torch.sigmoid(-z).sum(-1)
    return total


def as_logits(log_probs: torch.Tensor) -> torch.Tensor:
    """(..., 256) log-probabilities -> (..., 258) logits, START and HOLE at `IMPOSSIBLE`."""
    rest = log_probs.new_full((*log_probs.shape[:-1], VOCAB - PIXELS), IMPOSSIBLE)
    return torch.cat([log_probs, rest], -1)


def value_axis(tokens: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Tokens -> their position on the [-1, 1] axis (START/HOLE clamped to 255: never passed by
    pixelzoo's callers, and a clamp keeps a stray one from shifting a mean far off the axis)."""
    return tokens.clamp(0, PIXELS - 1).to(dtype) * BIN - 1.0


# ------------------------------------------------------------------------------ shared body
class LogisticMixtureConfig(DecoderConfig):
    mixtures: int = Field(5, ge=1, le=64, description="logistic components per sub-pixel (K)")


class _LogisticMixture(ChannelDecoder):
    """What both forms share: one small head per channel, Linear(h_c) -> K x (weight, mean,
    log scale) plus the form's extra outputs, and the decoding of those into 258-way logits."""

    Config = LogisticMixtureConfig

    def __init__(self, config: LogisticMixtureConfig, *, features: int, channels: int,
                 vocab: int = VOCAB):
        if vocab != VOCAB:
            raise ValueError(f"a logistic mixture decodes pixel values: vocab must be {VOCAB}, "
                             f"got {vocab}")
        super().__init__(config, features=features, channels=channels, vocab=vocab)
        k = self.mixtures = config.mixtures
        self.heads = nn.ModuleList(nn.Linear(features, k * (3 + self._extra(c)))
                                   for c in range(channels))
        with torch.no_grad():  # start the components spread over the axis, each fairly broad
            for head in self.heads:
                head.bias[k:2 * k].copy_(torch.linspace(-0.75, 0.75, k) if k > 1
                                         else torch.zeros(1))
                head.bias[2 * k:3 * k].fill_(-1.5)

    def _extra(self, c: int) -> int:
        """How many extra outputs per component channel c's head has."""
        return 0

    def _split(self, h: torch.Tensor, c: int) -> tuple[MixtureParams, torch.Tensor]:
        # float32 at least: the log-probabilities are summed over hundreds of pixels and 256
        # bins, which bf16 (autocast) cannot carry
        dtype = torch.promote_types(h.dtype, torch.float32)
        out = self.heads[c](h).to(dtype)
        k = self.mixtures
        params = MixtureParams(out[..., :k], out[..., k:2 * k], out[..., 2 * k:3 * k])
        return params, out[..., 3 * k:]

    def mixture_params(self, h: torch.Tensor, c: int, previous: list[torch.Tensor]
                       ) -> MixtureParams:
        """Channel c's mixture parameters (..., K) from its hidden (..., D) and the tokens of
        channels < c (ignored by the independent form)."""
        raise NotImplementedError

    def channel_logits(self, h: torch.Tensor, c: int, previous: list[torch.Tensor]) -> torch.Tensor:
        """(..., D) hidden and earlier channels' tokens -> (..., 258): exact log P(v), then
        `IMPOSSIBLE` for START and HOLE."""
        return as_logits(mixture_log_probs(self.mixture_params(h, c, previous)))

    def forward(self, h: torch.Tensor, teacher: torch.Tensor | None = None) -> torch.Tensor:
        """(B, C, H, W, D) hidden, (B, C, H, W) true tokens -> (B, C, H, W, 258) logits."""
        if self.conditional and self.channels > 1 and teacher is None:
            raise ValueError("the conditional logistic mixture needs the true tokens (`teacher`) "
                             "in training; use decode() at inference")
        previous = [] if teacher is None else [teacher[:, k] for k in range(self.channels)]
        return torch.stack([self.channel_logits(h[:, c], c, previous[:c])
                            for c in range(self.channels)], dim=1)

    def log_prob(self, h: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        """Training: (B, C, H, W) log P(true token) from (B, C, H, W, D) hidden and the tokens.

        Equal to `forward`'s logits gathered at the truth (so -log_prob is the cross-entropy),
        in O(K) per sub-pixel instead of O(256 K): a loss that only needs the truth's
        probability, as the infill hole loss does, can call this instead of `forward`.
        """
        previous = [teacher[:, k] for k in range(self.channels)]
        return torch.stack([mixture_log_prob(self.mixture_params(h[:, c], c, previous[:c]),
                                             teacher[:, c].clamp(0, PIXELS - 1))
                            for c in range(self.channels)], dim=1)

    @torch.no_grad()
    def expected_value(self, h: torch.Tensor, known: torch.Tensor, pick: Pick = argmax_pick
                       ) -> torch.Tensor:
        """Inference: (B, C, H, W) expected intensities on the 0..255 scale, analytically.

        The same conditioning as `decode` (and as the `mean` decoding from its logits): channel
        c's distribution is conditioned on the known values of earlier channels and on `pick`'s
        choice (argmax by default) where they are holes; never on the truth under a hole. The
        result equals sum_v v * softmax(logits)[v] over `decode`'s logits, from the survival
        function (`mixture_mean`), without forming the last channel's log-probabilities at all.
        Known sub-pixels get the model's expectation too; callers keep their known values.
        """
        chosen: list[torch.Tensor] = []
        means = []
        for c in range(self.channels):
            params = self.mixture_params(h[:, c], c, chosen)
            means.append(mixture_mean(params))
            if self.conditional and c < self.channels - 1:
                k = known[:, c]
                logits = as_logits(mixture_log_probs(params))
                chosen.append(torch.where(k == HOLE, pick(logits, c), k))
        return torch.stack(means, 1)


# ------------------------------------------------------------------------------ the decoders
class LogisticMixtureDecoder(_LogisticMixture):
    """Each channel a discretized mixture of K logistics, from its own hidden state alone.

    PixelCNN++'s output layer with the channels independent: p(R) p(G) p(B) per pixel.
    """

    conditional = False

    def mixture_params(self, h: torch.Tensor, c: int, previous: list[torch.Tensor]
                       ) -> MixtureParams:
        return self._split(h, c)[0]


class ConditionalLogisticMixtureDecoder(_LogisticMixture):
    """R, then G | R, then B | R, G: the logistics' means shift linearly with earlier values.

    Weights and scales come from h_c alone, as in PixelCNN++.

    mean_{c,k} = m_{c,k}(h_c) + sum_{j<c} tanh(a_{c,j,k}(h_c)) * x_j, with x_j channel j's value
    on the [-1, 1] axis; m and a are outputs of channel c's head, so the coupling strength is
    predicted per pixel and bounded. This is PixelCNN++'s linear mean shift rather than the
    categorical `conditional`'s value embeddings, because it keeps the ordinal structure that is
    this family's point: a red of 200 and one of 201 shift green's means by nearly the same
    amount, with c*K extra outputs per channel instead of a 258-row table per earlier channel,
    whose rows a small model would have to learn one value at a time. Unlike PixelCNN++, each
    channel has its own mixture weights (its own hidden state chooses them): the interface
    factorises p(R) p(G|R) p(B|R,G) channel by channel. In training the earlier values are the
    true ones (teacher forcing); at inference `decode` passes its own choices at holes.
    """

    conditional = True

    def _extra(self, c: int) -> int:
        return c

    def mixture_params(self, h: torch.Tensor, c: int, previous: list[torch.Tensor]
                       ) -> MixtureParams:
        if len(previous) < c:
            raise ValueError(f"channel {c} of a conditional decoder needs the values of the "
                             f"{c} channel(s) before it, got {len(previous)}")
        params, extra = self._split(h, c)
        if c == 0:
            return params
        coeff = torch.tanh(extra.unflatten(-1, (c, self.mixtures)))  # (..., c, K)
        x = torch.stack([value_axis(previous[j], coeff.dtype) for j in range(c)], -1)
        shift = (coeff * x[..., None]).sum(-2)
        return params._replace(means=params.means + shift)


__all__ = ["IMPOSSIBLE", "ConditionalLogisticMixtureDecoder", "LogisticMixtureConfig",
           "LogisticMixtureDecoder", "MixtureParams", "as_logits", "mixture_log_prob",
           "mixture_log_probs", "mixture_mean"]
