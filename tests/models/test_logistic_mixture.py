"""The discretized logistic mixture decoders against brute force, the kit and the fast path.

The brute force is plain Python: each bin's mass from the logistic CDF with `math.exp`, value by
value, from the head's raw outputs split in the documented layout (K weights, K means, K log
scales, then c*K mean-shift coefficients for channel c of the conditional form).
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from pixelzoo.models.decoders.logistic_mixture import (
    IMPOSSIBLE,
    LOG_SCALE_MAX,
    LOG_SCALE_MIN,
    MixtureParams,
    mixture_log_prob,
    mixture_log_probs,
    mixture_mean,
)
from pixelzoo.models.scan import select
from pixelzoo.recipe import build_part
from pixelzoo.testing import check_decoder
from pixelzoo.tokens import HOLE, PIXELS, VOCAB, add_start_tokens

FORMS = ["logistic_mixture", "conditional_logistic_mixture"]


# ------------------------------------------------------------------------------ brute force
def _cdf(x: float, mean: float, scale: float) -> float:
    t = (x - mean) / scale
    return 1.0 / (1.0 + math.exp(-t)) if t >= 0 else math.exp(t) / (1.0 + math.exp(t))


def brute_probs(weights: list[float], means: list[float], log_scales: list[float]
                ) -> list[float]:
    """P(v) for v = 0..255 by a loop over values and components: F(v + 0.5) - F(v - 0.5) on the
    0..255 scale (mapped to [-1, 1]), with the tails in bins 0 and 255."""
    top = max(weights)
    w = [math.exp(a - top) for a in weights]
    w = [a / sum(w) for a in w]
    probs = []
    for v in range(256):
        hi, lo = (v + 0.5) / 127.5 - 1.0, (v - 0.5) / 127.5 - 1.0
        total = 0.0
        for wk, mk, lk in zip(w, means, log_scales, strict=True):
            s = math.exp(min(max(lk, LOG_SCALE_MIN), LOG_SCALE_MAX))
            # the tails: F(-inf) = 0 below bin 0, F(inf) = 1 above bin 255
            f_lo = 0.0 if v == 0 else _cdf(lo, mk, s)
            f_hi = 1.0 if v == 255 else _cdf(hi, mk, s)
            if (hi + lo) / 2 > mk:  # upper half: a difference of survivals, no cancellation
                s_lo = 1.0 if v == 0 else _cdf(-lo, -mk, s)  # 1 - F(lo), by symmetry
                s_hi = 0.0 if v == 255 else _cdf(-hi, -mk, s)
                total += wk * (s_lo - s_hi)
            else:
                total += wk * (f_hi - f_lo)
        probs.append(total)
    return probs


def brute_params(dec: torch.nn.Module, h: torch.Tensor, c: int, prev: list[int]
                 ) -> tuple[list[float], list[float], list[float]]:
    """The head's raw outputs for one sub-pixel (h: (D,)), split by the documented layout."""
    raw = (dec.heads[c].weight.double() @ h.double() + dec.heads[c].bias.double()).tolist()
    k = dec.mixtures
    weights, means, log_scales = raw[:k], raw[k:2 * k], raw[2 * k:3 * k]
    if dec.conditional:
        for j, value in enumerate(prev):
            for m in range(k):
                means[m] += math.tanh(raw[3 * k + j * k + m]) * (value / 127.5 - 1.0)
    return weights, means, log_scales


def random_params(n: int, k: int, seed: int, dtype: torch.dtype = torch.float64) -> MixtureParams:
    """Random parameters, extreme ones included: spikes and flats (log scales past both bounds),
    means off the axis, near-one-hot weights."""
    g = torch.Generator().manual_seed(seed)
    log_scales = torch.rand(n, k, generator=g, dtype=dtype) * 24 - 12
    log_scales[:4] = torch.tensor([-12.0, -7.0, 7.0, 12.0], dtype=dtype)[:, None]
    means = torch.randn(n, k, generator=g, dtype=dtype) * 1.5
    means[4:8] = torch.tensor([-1.0, 1.0, -5.0, 5.0], dtype=dtype)[:, None]
    weights = torch.randn(n, k, generator=g, dtype=dtype) * 8
    return MixtureParams(weights, means, log_scales)


def decoder(name: str, features: int = 5, channels: int = 3, mixtures: int = 3,
            seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    dec = build_part("decoders", {"type": name, "mixtures": mixtures}, features=features,
                     channels=channels).double()
    with torch.no_grad():  # larger than the init's weights, so h moves every parameter
        for p in dec.parameters():
            p.copy_(torch.randn_like(p))
    return dec


# ------------------------------------------------------------------------------ the maths
@pytest.mark.parametrize("k", [1, 5])
def test_probabilities_sum_to_one(k: int) -> None:
    p = random_params(400, k, seed=k)
    logp = mixture_log_probs(p)
    assert logp.shape == (400, 256) and logp.dtype == torch.float64
    assert torch.isfinite(logp).all()
    assert (logp.exp().sum(-1) - 1).abs().max() < 1e-12
    logp32 = mixture_log_probs(MixtureParams(*(t.float() for t in p)))
    assert torch.isfinite(logp32).all() and (logp32.exp().sum(-1) - 1).abs().max() < 1e-5


def test_a_spike_is_one_bin_and_a_far_tail_is_finite() -> None:
    # the narrowest component on value 100 and a spike far off the axis, to the left
    p = MixtureParams(torch.zeros(2, 1, dtype=torch.float64),
                      torch.tensor([[100 / 127.5 - 1], [-3.0]], dtype=torch.float64),
                      torch.full((2, 1), LOG_SCALE_MIN, dtype=torch.float64))
    logp = mixture_log_probs(p)
    assert logp[0].argmax() == 100
    half = (1 / 255) / math.exp(LOG_SCALE_MIN)  # the bin's half-width in scales
    assert logp[0, 100].exp().item() == pytest.approx(math.tanh(half / 2), rel=1e-12)  # 0.973
    assert logp[1, 0].exp() == pytest.approx(1.0)  # the tail lands in the edge bin
    assert torch.isfinite(logp).all() and logp.min() < -1000  # underflows as a mass, not as a log


@pytest.mark.parametrize("seed", [0, 1])
def test_log_probs_match_the_cdf_loop(seed: int) -> None:
    p = random_params(12, 3, seed=seed)
    p = p._replace(log_scales=p.log_scales.clamp(-5, 5))  # math.exp's range in the loop
    logp = mixture_log_probs(p)
    for i in range(12):
        want = torch.tensor(brute_probs(*(t[i].tolist() for t in p)), dtype=torch.float64)
        keep = want > 1e-280  # the loop's masses underflow to 0 where the log stays finite
        torch.testing.assert_close(logp[i][keep], want[keep].log(), rtol=1e-9, atol=1e-9)


def test_one_value_and_chunked_paths_agree_with_the_full_distribution(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import pixelzoo.models.decoders.logistic_mixture as lm

    p = random_params(64, 4, seed=5)
    full = mixture_log_probs(p)
    values = torch.randint(0, 256, (64,), generator=torch.Generator().manual_seed(6))
    values[:3] = torch.tensor([0, 255, 1])  # both edge bins and a neighbour
    one = mixture_log_prob(p, values)
    torch.testing.assert_close(one, full.gather(-1, values[:, None])[:, 0], rtol=1e-12,
                               atol=1e-12)
    monkeypatch.setattr(lm, "CHUNK_ELEMENTS", 5 * 4 * PIXELS)  # five rows per chunk
    chunked = mixture_log_probs(MixtureParams(*(t.view(8, 8, 4) for t in p)))
    assert torch.equal(chunked.reshape(64, PIXELS), full)


def test_mean_equals_the_brute_force_expectation() -> None:
    p = random_params(300, 4, seed=3)
    values = torch.arange(256, dtype=torch.float64)
    by_sum = (mixture_log_probs(p).exp() * values).sum(-1)
    torch.testing.assert_close(mixture_mean(p), by_sum, rtol=0, atol=1e-9)
    q = p._replace(log_scales=p.log_scales.clamp(-5, 5))
    for i in range(10):
        want = sum(v * pv for v, pv in enumerate(brute_probs(*(t[i].tolist() for t in q))))
        assert mixture_mean(q)[i].item() == pytest.approx(want, rel=1e-10, abs=1e-9)


# ------------------------------------------------------------------------------ the decoders
@pytest.mark.parametrize("name", FORMS)
def test_decoder_logits_are_log_probs_with_start_and_hole_impossible(name: str) -> None:
    dec = decoder(name)
    g = torch.Generator().manual_seed(1)
    h = torch.randn(2, 3, 2, 3, 5, generator=g, dtype=torch.float64) * 3
    teacher = torch.randint(0, 256, (2, 3, 2, 3), generator=g)
    logits = dec(h, teacher)
    assert logits.shape == (2, 3, 2, 3, VOCAB)
    assert (logits[..., :PIXELS].exp().sum(-1) - 1).abs().max() < 1e-12
    assert (logits[..., PIXELS:] == IMPOSSIBLE).all()
    assert (torch.softmax(logits, -1)[..., PIXELS:] == 0).all()


@pytest.mark.parametrize("name", FORMS)
def test_nll_matches_the_brute_force_sum(name: str) -> None:
    dec = decoder(name)
    g = torch.Generator().manual_seed(2)
    h = torch.randn(2, 3, 2, 2, 5, generator=g, dtype=torch.float64) * 0.7
    teacher = torch.randint(0, 256, (2, 3, 2, 2), generator=g)
    logits = dec(h, teacher)
    nll = F.cross_entropy(logits.reshape(-1, VOCAB), teacher.reshape(-1), reduction="sum")
    brute = 0.0
    for b in range(2):
        for r in range(2):
            for w in range(2):
                for c in range(3):
                    prev = teacher[b, :c, r, w].tolist()
                    probs = brute_probs(*brute_params(dec, h[b, c, r, w], c, prev))
                    brute -= math.log(probs[teacher[b, c, r, w]])
    assert nll.item() == pytest.approx(brute, rel=1e-10)


@pytest.mark.parametrize("name", FORMS)
def test_log_prob_is_the_cross_entropy_and_its_gradient(name: str) -> None:
    dec = decoder(name)
    g = torch.Generator().manual_seed(3)
    h = torch.randn(2, 3, 3, 2, 5, generator=g, dtype=torch.float64, requires_grad=True)
    teacher = torch.randint(0, 256, (2, 3, 3, 2), generator=g)
    teacher[0, :, 0, 0] = torch.tensor([0, 255, 0])
    ce = F.cross_entropy(dec(h, teacher).reshape(-1, VOCAB), teacher.reshape(-1))
    nll = -dec.log_prob(h, teacher).mean()
    assert nll.item() == pytest.approx(ce.item(), rel=1e-12)
    params = [h, *dec.parameters()]
    for a, b in zip(torch.autograd.grad(nll, params), torch.autograd.grad(ce, params),
                    strict=True):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)


def test_conditional_shifts_the_means_by_the_earlier_values_only() -> None:
    dec = decoder("conditional_logistic_mixture", channels=3, mixtures=2)
    h = torch.randn(4, 5, dtype=torch.float64)
    dark, light = torch.zeros(4, dtype=torch.long), torch.full((4,), 255)
    red_dark = dec.mixture_params(h, 1, [dark])
    red_light = dec.mixture_params(h, 1, [light])
    coeff = torch.tanh(dec.heads[1](h)[:, 6:8])  # green's shift per unit of red
    torch.testing.assert_close(red_light.means - red_dark.means, 2 * coeff)
    torch.testing.assert_close(red_light.log_scales, red_dark.log_scales)
    torch.testing.assert_close(red_light.logit_weights, red_dark.logit_weights)
    indep = decoder("logistic_mixture", channels=3, mixtures=2)
    assert torch.equal(indep.mixture_params(h, 1, [dark]).means,
                       indep.mixture_params(h, 1, [light]).means)


@pytest.mark.parametrize("name", FORMS)
def test_expected_value_is_the_mean_of_decodes_distribution(name: str) -> None:
    dec = decoder(name)
    g = torch.Generator().manual_seed(4)
    h = torch.randn(2, 3, 3, 3, 5, generator=g, dtype=torch.float64)
    truth = torch.randint(0, 256, (2, 3, 3, 3), generator=g)
    holes = torch.rand(truth.shape, generator=g) < 0.5
    holes[0, :, 0, 0] = True
    known = torch.where(holes, torch.full_like(truth, HOLE), truth)
    filled, logits = dec.decode(h, known)
    mean = dec.expected_value(h, known)
    values = torch.arange(256, dtype=torch.float64)
    torch.testing.assert_close(mean, (logits[..., :PIXELS].softmax(-1) * values).sum(-1),
                               rtol=0, atol=1e-9)
    # brute force at every sub-pixel, the earlier channels being what decode chose or knew
    for b, c, r, w in [(0, 0, 0, 0), (0, 1, 0, 0), (0, 2, 0, 0), (1, 2, 1, 2), (1, 1, 2, 0)]:
        prev = filled[b, :c, r, w].tolist()
        probs = brute_probs(*brute_params(dec, h[b, c, r, w], c, prev))
        want = sum(v * pv for v, pv in enumerate(probs))
        assert mean[b, c, r, w].item() == pytest.approx(want, rel=1e-10)
    # the truth under a hole does not move it
    other = torch.where(holes, (truth + 77) % 256, truth)
    known_other = torch.where(holes, torch.full_like(other, HOLE), other)
    assert torch.equal(dec.expected_value(h, known_other), mean)


def test_bf16_autocast_keeps_float32_log_probs() -> None:
    dec = build_part("decoders", {"type": "conditional_logistic_mixture"}, features=6,
                     channels=3)
    h = torch.randn(2, 3, 2, 2, 6)
    teacher = torch.randint(0, 256, (2, 3, 2, 2))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = dec(h, teacher)
    assert logits.dtype == torch.float32
    assert (logits[..., :PIXELS].exp().sum(-1) - 1).abs().max() < 1e-4


def test_config_is_checked() -> None:
    from pixelzoo.errors import RecipeError

    with pytest.raises(RecipeError, match="mixtures"):
        build_part("decoders", {"type": "logistic_mixture", "mixtures": 0}, features=4,
                   channels=3)


# ------------------------------------------------------------------------------ kit
@pytest.mark.parametrize("params", [{}, {"mixtures": 1}, {"mixtures": 3}])
@pytest.mark.parametrize("name", FORMS)
def test_conformance_kit(name: str, params: dict) -> None:
    check_decoder(name, params)


# ------------------------------------------------------------------------------ fast path
@pytest.mark.parametrize("directions", [1, 4])
@pytest.mark.parametrize("name", FORMS)
def test_wavefront_matches_the_reference(name: str, directions: int) -> None:
    torch.manual_seed(0)
    model = build_part("models", {"type": "rowrnn", "embed": 5, "hidden": 6, "layers": 2,
                                  "directions": directions, "decoder": {"type": name}},
                       channels=3, height=4, width=5)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.5)
    g = torch.Generator().manual_seed(1)
    img = torch.randint(0, 256, (2, 3, 4, 5), generator=g)
    tok = add_start_tokens(img)
    tok[:, :, 2, 2:4] = HOLE
    runs = {}
    for impl in ("reference", "wavefront"):
        assert select(model, impl).name == impl  # "wavefront" raises if it cannot run it
        model.zero_grad(set_to_none=True)
        logp = model(tok, img)[..., :PIXELS]  # the fill is constant: compare the real part
        weight = torch.randn(logp.shape, generator=torch.Generator().manual_seed(7))
        (logp * weight).sum().backward()
        runs[impl] = (logp.detach(), {n: q.grad.clone() for n, q in model.named_parameters()})
    (ref, ref_grads), (fast, grads) = runs["reference"], runs["wavefront"]
    assert (fast - ref).abs().max() <= 1e-5 * ref.abs().max()
    assert len(ref_grads) == sum(1 for _ in model.parameters())
    for n, g_ref in ref_grads.items():
        err = (grads[n] - g_ref).abs().max()
        assert err <= 1e-5 * max(g_ref.abs().max().item(), 1e-12), n


# ------------------------------------------------------------------------------ samplers
@pytest.mark.parametrize("name", FORMS)
def test_the_incremental_sampler_matches_the_slow_one(name: str) -> None:
    from pixelzoo.models.incremental import sample_holes
    from pixelzoo.models.sampling import sample_holes_slow

    torch.manual_seed(0)
    model = build_part("models", {"type": "rowrnn", "embed": 6, "hidden": 8, "layers": 2,
                                  "decoder": {"type": name}},
                       channels=3, height=5, width=6).eval()
    g = torch.Generator().manual_seed(3)
    tok = add_start_tokens(torch.randint(0, 256, (2, 3, 5, 6), generator=g))
    tok[0, :, 2:4, 1:4] = HOLE
    tok[1, 2, 3, 2:5] = HOLE  # blue only
    fast = sample_holes(model, tok, 1.0, torch.Generator().manual_seed(9))
    slow = sample_holes_slow(model, tok, 1.0, torch.Generator().manual_seed(9))
    assert torch.equal(fast, slow)
    holes = tok[:, :, 1:, 1:] == HOLE
    assert ((fast[holes] >= 0) & (fast[holes] < 256)).all()
    assert torch.equal(fast[~holes], tok[:, :, 1:, 1:][~holes])
