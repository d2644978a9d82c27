"""The wavefront scan against the reference loop: forward and every parameter's gradient.

Every registered combiner x decoder, 1 and 4 directions, 1 and 3 channels, on random weights
and inputs: in float64 to 1e-10 relative to the tensor's largest entry (the two compute the same
function, so only rounding may differ), and for the decoders that are linear in the features
also in float32 with the issue's criterion (1e-5). A nonlinear output layer such as the logistic
mixture's magnifies float32 rounding past 1e-5 without any difference in the function.
Combiners the fast path cannot run must say so through `supports`, and the trainer's `auto`
mode must then print its one-line notice and stay on the reference loop.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import typing
from types import SimpleNamespace

import pytest
import torch
from torch import nn

import pixelzoo.models.wavefront as wf
from pixelzoo.config import spec
from pixelzoo.errors import PixelzooError
from pixelzoo.kernels.gru_gates import gru_gates, gru_gates_reference
from pixelzoo.models.combiners.base import RowContextCombiner
from pixelzoo.models.rowrnn import RowRNN, RowRNNConfig
from pixelzoo.models.scan import select
from pixelzoo.registry import registry_for
from pixelzoo.tokens import HOLE, VOCAB, add_start_tokens

RTOL = 1e-5
RTOL64 = 1e-10
#: Decoders whose logits are linear in the features: float32 rounding stays at its own level.
LINEAR_DECODERS = ("independent", "conditional")


def build(combiner: str | RowContextCombiner, decoder: str = "independent", directions: int = 1,
          channels: int = 3, layers: int = 3, seed: int = 0, dtype=torch.float32,
          height: int = 4, width: int = 5) -> RowRNN:
    torch.manual_seed(seed)
    comb = combiner if isinstance(combiner, str) else "linear_add"
    cfg = RowRNNConfig(embed=5, hidden=6, layers=layers, directions=directions,
                       combiner=spec(comb), decoder=spec(decoder))
    model = RowRNN(cfg, channels=channels, height=height, width=width)
    if not isinstance(combiner, str):  # a test-only combiner class, swapped in
        for stacks in model.stacks:
            for stack in stacks:
                stack.combiner = combiner(stack.combiner.config, input_size=5, hidden=6)
                if combiner.is_cell:  # its first layer replaces the GRU's
                    stack.gru = nn.GRU(6, 6, layers - 1, batch_first=True) if layers > 1 else None
                elif stack.combiner.gru_input_size != 5:  # the GRU reads what it combines
                    stack.gru = nn.GRU(stack.combiner.gru_input_size, 6, layers, batch_first=True)
    # random everything, including biases and the row vectors, at a scale that keeps the
    # gates away from saturation so the comparison is informative
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.5)
    return model.to(dtype)


def tokens(channels: int, batch: int = 2, height: int = 4, width: int = 5, seed: int = 1,
           holes: bool = True) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    img = torch.randint(0, 256, (batch, channels, height, width), generator=g)
    tok = add_start_tokens(img)
    if holes:
        tok[:, :, 2, 2:4] = HOLE
    return tok


def run(model: RowRNN, impl: str, tok: torch.Tensor) -> tuple[torch.Tensor, dict]:
    assert select(model, impl).name == impl
    model.zero_grad(set_to_none=True)
    teacher = tok[:, :, 1:, 1:].clamp(max=255)
    out = model(tok, teacher)
    weight = torch.randn(out.shape, generator=torch.Generator().manual_seed(7), dtype=out.dtype)
    (out * weight).sum().backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}
    return out.detach(), grads


def assert_close(a: torch.Tensor, b: torch.Tensor, what: str, rtol: float = RTOL) -> None:
    scale = b.abs().max().item()
    err = (a - b).abs().max().item()
    assert err <= rtol * max(scale, 1e-12), f"{what}: max error {err:.3g} vs scale {scale:.3g}"


def compare(model: RowRNN, tok: torch.Tensor, rtol: float = RTOL) -> None:
    ref_out, ref_grads = run(model, "reference", tok)
    out, grads = run(model, "wavefront", tok)
    assert_close(out, ref_out, "forward", rtol)
    assert set(grads) == set(ref_grads), set(grads) ^ set(ref_grads)
    n_params = sum(1 for _ in model.parameters())
    assert len(ref_grads) == n_params  # every parameter is reached, so every one is compared
    for name, g in ref_grads.items():
        assert_close(grads[name], g, f"grad {name}", rtol)


COMBINERS = registry_for("combiners").names()
DECODERS = registry_for("decoders").names()


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("directions", [1, 4])
@pytest.mark.parametrize("decoder", DECODERS)
@pytest.mark.parametrize("combiner", COMBINERS)
def test_matches_reference(combiner: str, decoder: str, directions: int, channels: int) -> None:
    model = build(combiner, decoder, directions, channels)
    ok, why = wf.supports(model)
    if not ok:
        assert why, "supports() must say why, for the trainer's notice"
        notice = select_impl_notice(model)
        assert "fast path unavailable" in notice and why in notice
        assert model.impl.name == "reference"
        return
    compare(build(combiner, decoder, directions, channels, dtype=torch.float64),
            tokens(channels), RTOL64)
    if decoder in LINEAR_DECODERS:
        compare(model, tokens(channels))


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("combiner", ["linear_add", "concat", "gated"])
def test_layer_counts(combiner: str, layers: int) -> None:
    """One layer (no upper GRU at all) and two, on a non-square image."""
    model = build(combiner, "independent", 1, 3, layers=layers, height=3, width=6)
    compare(model, tokens(3, height=3, width=6))


@pytest.mark.parametrize("autograd_loop", [False, True])
@pytest.mark.parametrize("fold", [False, True])
@pytest.mark.parametrize("combiner", ["linear_add", "concat"])
def test_both_layer0_forms_and_the_autograd_loop(combiner: str, fold: bool, autograd_loop: bool,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Layer 0 folded (the CUDA default) and projected (the CPU default), each through the
    hand-written backward and through the per-step autograd loop that plugins use."""
    monkeypatch.setattr(wf, "_FOLD", fold)
    monkeypatch.setattr(wf, "_FORCE_AUTOGRAD", autograd_loop)
    compare(build(combiner, "conditional", 1, 3), tokens(3))


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("fold", [False, True])
@pytest.mark.parametrize("combiner", ["linear_add", "concat"])
def test_four_directions_sharing_one_scan(combiner: str, fold: bool, channels: int,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The four scans of a 4-direction model as lanes of one wavefront (the CUDA default):
    each lane keeps its own weights and its channel neighbours within its own direction."""
    monkeypatch.setattr(wf, "_FOLD", fold)
    monkeypatch.setattr(wf, "_SHARE_DIRECTIONS", True)
    calls = []
    real = wf._affine_scan
    monkeypatch.setattr(wf, "_affine_scan",
                        lambda m, st, xs: calls.append(len(xs)) or real(m, st, xs))
    compare(build(combiner, "conditional", 4, channels, layers=2), tokens(channels))
    assert calls == [4]  # one shared scan, not four


def test_shared_plan_keeps_directions_apart() -> None:
    """Lanes k = d * C + c of a shared plan: the same steps as one scan, and a layer-0 cell's
    channel neighbour is the top layer of lane k - 1 (same direction), none for c = 0."""
    channels, layers, lanes = 3, 2, 12
    steps, final, _ = wf._plan_arrays(channels, layers, 5, 6, 4)
    one, _, _ = wf._plan_arrays(channels, layers, 5, 6)
    assert [m for m, _, _ in steps] == [m for m, _, _ in one]  # no extra sequential step
    assert len(set(final.tolist())) == len(final) == lanes * 5 * 6
    prev_m, checked = None, 0
    for m, gather, _ in steps:
        groups = lanes * layers
        chan = gather[2 * groups * m:].reshape(lanes, m)
        if prev_m is not None:
            zero = groups * prev_m  # the "no neighbour" row after the previous step's states
            for k in range(lanes):
                real = chan[k][chan[k] != zero]
                if k % channels == 0:
                    assert real.size == 0, (k, real)
                else:
                    assert (real // prev_m == (layers - 1) * lanes + k - 1).all(), (k, real)
                    checked += real.size
        prev_m = m
    assert checked > 0


class PointwiseMix(RowContextCombiner):
    """A plugin-style input combiner the fast path knows nothing about: x * tanh(W h)."""

    def __init__(self, config, *, input_size, hidden):  # noqa: ANN001
        super().__init__(config, input_size=input_size, hidden=hidden)
        self.proj = nn.Linear(hidden, input_size)

    def combine(self, x: torch.Tensor, h_above: torch.Tensor) -> torch.Tensor:
        return x * torch.tanh(self.proj(h_above)) + x


class MinimalCell(RowContextCombiner):
    """A plugin-style cell combiner: h = tanh(W x + U h_left + V h_above)."""

    is_cell = True

    def __init__(self, config, *, input_size, hidden):  # noqa: ANN001
        super().__init__(config, input_size=input_size, hidden=hidden)
        self.w = nn.Linear(input_size, hidden)
        self.u = nn.Linear(hidden, hidden, bias=False)
        self.v = nn.Linear(hidden, hidden, bias=False)

    def cell(self, x: torch.Tensor, h_left: torch.Tensor, h_above: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.w(x) + self.u(h_left) + self.v(h_above))


class RowConv(PointwiseMix):
    """Mixes neighbouring columns of the row above: not pointwise."""

    pointwise = False

    def combine(self, x: torch.Tensor, h_above: torch.Tensor) -> torch.Tensor:
        return x + self.proj(torch.roll(h_above, 1, dims=1))


@pytest.mark.parametrize("directions", [1, 4])
@pytest.mark.parametrize("combiner", [PointwiseMix, MinimalCell])
def test_generic_plugin_paths(combiner: type, directions: int) -> None:
    model = build(combiner, "conditional", directions, 3)
    assert wf.supports(model) == (True, "")
    assert wf.layer0_form(model) == "generic"  # they declare nothing but `pointwise`
    compare(model, tokens(3))


def select_impl_notice(model: RowRNN) -> str:
    """What the trainer's `fast_path: auto` selection prints for `model`."""
    from rich.console import Console

    from pixelzoo.engine.trainer import Trainer

    console = Console(record=True, width=200)
    trainer = Trainer.__new__(Trainer)  # just the selection step, not a whole run
    trainer.cfg = SimpleNamespace(fast_path="auto")
    trainer.model, trainer.quiet, trainer.console = model, False, console
    trainer.dist = SimpleNamespace(is_main=True)
    trainer._select_impl()
    return console.export_text()


def test_non_pointwise_plugin_falls_back_with_notice() -> None:
    model = build(RowConv, "independent", 1, 3)
    ok, why = wf.supports(model)
    assert not ok and "not pointwise" in why
    notice = select_impl_notice(model)
    assert notice.count("\n") == 1 and "RowConv" in notice and "reference" in notice
    assert model.impl.name == "reference"
    # forced: refuse rather than compute something else, at the choice and at every call
    with pytest.raises(PixelzooError, match="not pointwise"):
        select(model, "wavefront")
    model.impl = wf.WAVEFRONT  # past select, by hand
    with pytest.raises(PixelzooError, match="not pointwise"):
        model(tokens(3))


def test_auto_selects_wavefront_for_builtins() -> None:
    model = build("linear_add", "conditional", 1, 3)
    assert select_impl_notice(model).strip() == ""
    assert model.impl.name == "wavefront"


def test_gradients_reach_the_module_parameters() -> None:
    """The fast path uses the nn.GRU's own tensors: an optimizer step changes its output."""
    model = build("linear_add", "independent", 1, 3)
    select(model, "wavefront")
    tok = tokens(3)
    before = model(tok).detach()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    model(tok).square().mean().backward()
    assert model.stacks[0][1].gru.weight_hh_l0.grad.abs().sum() > 0
    assert model.stacks[0][1].combiner.proj.weight.grad.abs().sum() > 0
    assert model.stacks[0][1].adapter.weight.grad.abs().sum() > 0
    opt.step()
    assert not torch.allclose(model(tok).detach(), before)


def test_no_grad_forward_matches() -> None:
    model = build("linear_add", "conditional", 1, 3)
    tok = tokens(3)
    with torch.no_grad():
        select(model, "reference")
        a = model.features(tok)
        select(model, "wavefront")
        b = model.features(tok)
    assert_close(b, a, "no-grad features")


@pytest.mark.parametrize("impl", ["reference", "wavefront"])
@pytest.mark.parametrize("directions", [1, 4])
def test_features_at_is_features_at_those_pixels(impl: str, directions: int) -> None:
    """`features_at(tokens, pixel)` is `features(tokens)` indexed at the pixels, in value and in
    every parameter's gradient, with either scan (the wavefront's output is read as rows of its
    own buffer, the reference's by indexing)."""
    model = build("linear_add", "independent", directions, 3, dtype=torch.float64)
    select(model, impl)
    tok = tokens(3)
    pixel = torch.zeros(2, 4, 5, dtype=torch.bool)
    pixel[0, 1, 2] = pixel[0, 3, 0] = pixel[1, 0, 4] = pixel[1, 2, 1] = True
    weight = torch.randn(4, 3, 6 * directions, dtype=torch.float64,
                         generator=torch.Generator().manual_seed(3))

    def with_grads(f: typing.Callable[[], torch.Tensor]) -> tuple[torch.Tensor, dict]:
        model.zero_grad(set_to_none=True)
        out = f()
        (out * weight).sum().backward()
        return out.detach(), {n: p.grad.clone() for n, p in model.named_parameters()
                              if p.grad is not None}

    want, want_grads = with_grads(lambda: model.features(tok).permute(0, 2, 3, 1, 4)[pixel])
    got, got_grads = with_grads(lambda: model.features_at(tok, pixel))
    assert got.shape == (4, 3, 6 * directions)
    assert_close(got, want, "features_at", RTOL64)
    assert set(got_grads) == set(want_grads) and "embeddings.0.weight" in got_grads
    for name, g in want_grads.items():
        assert_close(got_grads[name], g, f"grad {name}", RTOL64)


@pytest.mark.parametrize("impl", ["reference", "wavefront"])
@pytest.mark.parametrize("directions", [1, 4])
@pytest.mark.parametrize("combiner", ["linear_add", "concat", "gated", "not-pointwise"])
def test_features_at_a_few_pixels_scans_less_and_changes_nothing(impl: str, directions: int,
                                                                 combiner: str) -> None:
    """Pixels asked for in one corner of a 7x8 grid: the scans stop past the farthest one
    (`_extent`), with the same values and gradients as the whole scan; a combiner that mixes
    columns is scanned whole."""
    model = build("linear_add" if combiner == "not-pointwise" else combiner, "independent",
                  directions, 3, layers=2, dtype=torch.float64, height=7, width=8)
    if combiner == "not-pointwise":
        for direction in model.stacks:
            for stack in direction:
                stack.combiner.pointwise = False
    if impl == "wavefront" and combiner == "not-pointwise":
        pytest.skip("the wavefront refuses a combiner that mixes columns")
    select(model, impl)
    tok = tokens(3, batch=2, height=7, width=8)
    pixel = torch.zeros(2, 7, 8, dtype=torch.bool)
    pixel[0, 2, 3] = pixel[1, 3, 2] = pixel[1, 2, 4] = True
    ri, wi = pixel.nonzero(as_tuple=True)[1:]
    rows, cols = model._extent(ri, wi, 7, 8)
    if combiner == "not-pointwise":
        assert (rows, cols) == (8, 9)
    else:  # direction 0 needs rows 0..3 and columns 0..4; the mirrored ones more
        assert (rows, cols) == ((5, 6) if directions == 1 else (6, 7))
    weight = torch.randn(3, 3, 6 * directions, dtype=torch.float64,
                         generator=torch.Generator().manual_seed(3))
    results = []
    for f in (lambda: model.features(tok).permute(0, 2, 3, 1, 4)[pixel],
              lambda: model.features_at(tok, pixel)):
        model.zero_grad(set_to_none=True)
        out = f()
        (out * weight).sum().backward()
        results.append((out.detach(), {n: p.grad.clone() for n, p in model.named_parameters()
                                       if p.grad is not None}))
    (want, want_grads), (got, got_grads) = results
    assert_close(got, want, "features_at", RTOL64)
    assert set(got_grads) == set(want_grads)
    for name, g in want_grads.items():
        assert_close(got_grads[name], g, f"grad {name}", RTOL64)


def test_tokens_out_of_range_are_refused() -> None:
    """The channels' embeddings are one stacked table: a token past the vocabulary would read
    the next channel's rows, so it is refused."""
    model = build("linear_add")
    tok = tokens(3)
    tok[0, 1, 1, 1] = VOCAB
    with pytest.raises(ValueError, match="tokens must lie in"):
        model.features(tok)


def test_bf16_autocast_runs_close() -> None:
    model = build("linear_add", "conditional", 1, 3)
    select(model, "wavefront")
    tok = tokens(3)
    with torch.no_grad():
        full = model.features(tok)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        half = model.features(tok)
    assert torch.isfinite(half.float()).all()
    assert (half.float() - full).abs().max() < 0.1
    half.float().square().sum().backward()
    grad = model.stacks[0][2].gru.weight_hh_l1.grad
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0


def test_bf16_trains_close_to_float32() -> None:
    """`train.precision: bf16` on the CPU (autocast: the scan's products and the decoder run in
    bf16, the scan sums its weight gradients in float32) trains the shipped architecture: the
    hole loss stays finite and falls as float32's does, the first step's gradient points the
    same way, and the losses stay close. float32 remains the reference."""

    def train(bf16: bool) -> tuple[list[float], torch.Tensor]:
        torch.manual_seed(0)
        cfg = RowRNNConfig(embed=16, hidden=32, layers=1, directions=4,
                           combiner=spec("linear_add"), decoder=spec("independent"))
        model = RowRNN(cfg, channels=3, height=10, width=10)
        select(model, "wavefront")
        opt = torch.optim.Adam(model.parameters(), lr=3e-3)
        g = torch.Generator().manual_seed(0)
        # two flat colours per image, split at a random column: learnable from the context
        colours = torch.randint(0, 256, (8, 2, 3, 1, 1), generator=g)
        split = torch.randint(3, 8, (8, 1, 1, 1), generator=g)
        img = torch.where(torch.arange(10).view(1, 1, 1, 10) < split, colours[:, 0], colours[:, 1])
        img = img.expand(8, 3, 10, 10).clone()
        holes = torch.zeros(8, 3, 10, 10, dtype=torch.bool)
        holes[:, :, 4:7, 3:7] = True
        tok = add_start_tokens(img)
        tok[:, :, 1:, 1:][holes] = HOLE
        losses, first = [], None
        for _ in range(25):
            opt.zero_grad()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                logits = model(tok, img)
            loss = nn.functional.cross_entropy(logits[holes].float(), img[holes])
            loss.backward()
            if first is None:
                first = torch.cat([p.grad.flatten() for p in model.parameters()])
            opt.step()
            losses.append(loss.item())
        return losses, first

    full, g_full = train(False)
    half, g_half = train(True)
    for losses in (full, half):
        assert all(torch.isfinite(torch.tensor(losses)))
        assert sum(losses[-5:]) / 5 < 0.7 * losses[0]
    assert torch.nn.functional.cosine_similarity(g_half, g_full, dim=0) > 0.99
    assert abs(half[0] - full[0]) < 0.01 * full[0]
    assert abs(sum(half[-5:]) - sum(full[-5:])) < 0.1 * sum(full[-5:])


def test_plan_covers_every_cell_once() -> None:
    steps, final, final_abs = wf._plan_arrays(3, 5, 37, 37)
    assert len(steps) == (37 + 3 - 2) * 5 + 37 + 5 - 1 == 231
    for f in (final, final_abs):
        assert len(set(f.tolist())) == len(f) == 3 * 37 * 37
    # the backward's seed: every cell's top state once, every other row of the buffer (lower
    # layers, padding slots, zero rows) the zero row
    state_src = wf._plan(3, 5, 37, 37, torch.device("cpu")).state_src
    real = state_src[state_src < 3 * 37 * 37]
    assert sorted(real.tolist()) == list(range(3 * 37 * 37))
    assert (state_src[torch.from_numpy(final_abs)] == torch.arange(3 * 37 * 37)).all()


def test_fused_gates_match_autograd() -> None:
    g = torch.Generator().manual_seed(0)
    gi, gh = (torch.randn(3, 4, 18, generator=g, dtype=torch.float64, requires_grad=True)
              for _ in range(2))
    hp = torch.randn(3, 4, 6, generator=g, dtype=torch.float64, requires_grad=True)
    out = gru_gates(gi, gh, hp, pad=2)
    assert out.shape == (3 * 4 + 2, 6) and (out[-2:] == 0).all()
    ref = gru_gates_reference(gi, gh, hp)
    assert torch.allclose(out[:-2].view(3, 4, 6), ref)
    assert torch.autograd.gradcheck(lambda a, b, c: gru_gates(a, b, c, 1), (gi, gh, hp))


TRITON_CHECK = textwrap.dedent("""
    import os, torch
    from pixelzoo.kernels import gru_gates as gg
    assert gg.triton_usable(torch.zeros(1))
    g = torch.Generator().manual_seed(0)
    G, R, H = 3, 5, 6
    gi, gh = torch.randn(G, R, 3 * H, generator=g), torch.randn(G, R, 3 * H, generator=g)
    hp = torch.randn(G, R, H, generator=g)
    bi, bhn = torch.randn(G, 1, 3 * H, generator=g), torch.randn(G, 1, H, generator=g)
    dh = torch.randn(G, R, H, generator=g)
    results = []
    for flag in ("0", "1"):
        os.environ["PIXELZOO_NO_TRITON"] = flag
        h, rz, n, ghn = (torch.empty(G, R, k * H) for k in (1, 2, 1, 1))
        gg.gates_forward(gi, gh, hp, h, rz, n, ghn, bi, bhn)
        # strided group-major views, as the wavefront's backward passes them
        dgi_buf, dgh_buf = torch.zeros(G, 2 * R, 3 * H), torch.zeros(G, 3 * R, 3 * H)
        hp_buf = torch.zeros(G, 2 * R, H)
        hp_buf[:, R:] = hp
        dhp = torch.empty(G, R, H)
        gg.gates_backward(dh, rz, n, ghn, hp_buf[:, R:], dgi_buf[:, :R], dgh_buf[:, R:2 * R], dhp)
        results.append([h, rz, n, ghn, dgi_buf, dgh_buf, dhp])
    for a, b in zip(*results):
        assert (a - b).abs().max() < 1e-5, (a - b).abs().max()
    os.environ["PIXELZOO_NO_TRITON"] = "0"
    print("kernels ok")
    if os.environ.get("CHECK_SCAN") != "1":
        raise SystemExit(0)
    # and the whole scan through the Triton kernels, against the reference loop
    from pixelzoo.config import spec
    from pixelzoo.models.rowrnn import RowRNN, RowRNNConfig
    from pixelzoo.models.scan import select
    from pixelzoo.tokens import add_start_tokens
    torch.manual_seed(0)
    m = RowRNN(RowRNNConfig(embed=5, hidden=6, layers=2, combiner=spec("linear_add")),
               channels=3, height=3, width=4)
    tok = add_start_tokens(torch.randint(0, 256, (2, 3, 3, 4)))
    outs = []
    for impl in ("reference", "wavefront"):
        select(m, impl)
        m.zero_grad()
        y = m(tok)
        y.square().sum().backward()
        outs.append((y.detach(), [p.grad.clone() for p in m.parameters()]))
    (ya, ga), (yb, gb) = outs
    assert (ya - yb).abs().max() <= 1e-5 * ya.abs().max()
    for a, b in zip(ga, gb):
        assert (a - b).abs().max() <= 1e-5 * a.abs().max(), (a - b).abs().max()
    print("triton ok")
""")


def run_triton_check(scan: bool) -> str:
    pytest.importorskip("triton")
    env = {**os.environ, "TRITON_INTERPRET": "1", "PIXELZOO_NO_TRITON": "0",
           "CHECK_SCAN": "1" if scan else "0"}
    proc = subprocess.run([sys.executable, "-c", TRITON_CHECK], env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_triton_kernels_in_interpreter() -> None:
    """The CUDA kernels' code, run by Triton's CPU interpreter (no GPU needed)."""
    assert "kernels ok" in run_triton_check(scan=False)


@pytest.mark.slow
def test_triton_scan_in_interpreter() -> None:
    """The whole wavefront scan through the Triton kernels, against the reference loop."""
    assert "triton ok" in run_triton_check(scan=True)


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@pytest.fixture
def no_tf32():  # noqa: ANN201
    """True float32 on CUDA for the duration of a test (cuDNN allows TF32 by default)."""
    old = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


@needs_cuda
@pytest.mark.parametrize("directions", [1, 4])
@pytest.mark.parametrize("combiner", ["linear_add", "concat", "gated"])
def test_cuda_matches_reference(combiner: str, directions: int, no_tf32: None) -> None:
    """On CUDA: the folded layer 0 and the Triton gate kernels, against cuDNN's GRU."""
    model = build(combiner, "conditional", directions, 3).cuda()
    compare(model, tokens(3).cuda())


@needs_cuda
def test_cuda_graph_step_matches_eager(no_tf32: None) -> None:
    """A captured training step does what the eager step does, replay after replay."""
    from pixelzoo.engine.cuda_graphs import GraphedForward, GraphedTrainStep

    def loss_fn(model: RowRNN, tok: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        return model(tok, teacher).float().logsumexp(-1).mean()

    models = [build("linear_add", "conditional", 1, 3).cuda() for _ in range(2)]
    for m in models:
        select(m, "wavefront")
    opts = [torch.optim.Adam(m.parameters(), lr=1e-2, capturable=True) for m in models]
    batches = [tokens(3, seed=s).cuda() for s in range(3)]
    teach = [b[:, :, 1:, 1:].clamp(max=255) for b in batches]
    step = GraphedTrainStep(models[1], opts[1], loss_fn, (batches[0], teach[0]), clip_grad=1.0)
    for tok, t in zip(batches, teach):
        opts[0].zero_grad()
        eager = loss_fn(models[0], tok, t)
        eager.backward()
        torch.nn.utils.clip_grad_norm_(models[0].parameters(), 1.0)
        opts[0].step()
        graphed = step(tok, t)
        assert torch.allclose(graphed, eager.detach(), rtol=1e-4, atol=1e-5)
    for a, b in zip(models[0].parameters(), models[1].parameters()):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-5)
    fwd = GraphedForward(lambda tok, t: models[1](tok, t), (batches[0], teach[0]))
    with torch.no_grad():
        want = models[1](batches[2], teach[2])
    assert torch.allclose(fwd(batches[2], teach[2]), want, rtol=1e-4, atol=1e-5)
