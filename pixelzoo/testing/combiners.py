"""Conformance checks for row-context combiners: interface, shapes, agreement of `combine`/`cell`
with `scan_row`, the declared fast-path maps, gradients, causality and determinism.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from pixelzoo.recipe import build_part
from pixelzoo.testing._kit import (_built_twice_agree, _check_config_class, _check_grads,
                                   _check_recipe, _Part, _quiet_torch, _random_tokens, _recipe,
                                   _resolve, _tiny_rowrnn)
from pixelzoo.tokens import add_start_tokens


def check_combiner(combiner: str | type, params: dict[str, Any] | None = None, *,
                   input_size: int = 5, hidden: int = 7) -> None:
    """Check a row-context combiner (see `pixelzoo.models.combiners.base`).

    Interface and Config; `combine`/`cell` shapes (any leading dims for `pointwise` ones, which
    the wavefront fast path gathers from many rows); `pointwise` honoured; a cell combiner's
    `scan_row` agreeing with its `cell`; gradients reaching every parameter through a tiny RowRNN;
    raster-order causality with `directions: 1` (perturbing one pixel moves no state at an
    earlier position or in an earlier channel) and the row above reaching later rows;
    determinism given a seed; the fast path (a declared `affine_maps` / `gated_cell_maps`
    describing `combine` / `cell`, and the wavefront scan that `select` picks matching the
    reference loop in forward and gradients); and building from a recipe.
    """
    from pixelzoo.models.combiners.base import RowContextCombiner

    with _resolve("combiners", combiner, params) as p, _quiet_torch():
        p.expect(isinstance(p.cls, type) and issubclass(p.cls, RowContextCombiner), "interface",
                 "it must subclass pixelzoo.models.combiners.base.RowContextCombiner")
        for attr in ("is_cell", "pointwise"):
            p.expect(isinstance(getattr(p.cls, attr, None), bool), "interface",
                     f"the class attribute `{attr}` must be a bool")
        method = "cell" if p.cls.is_cell else "combine"
        p.expect(getattr(p.cls, method) is not getattr(RowContextCombiner, method), "interface",
                 f"{'a cell' if p.cls.is_cell else 'an input'} combiner must implement "
                 f"`{method}`")
        _check_config_class(p)
        with p.stage("interface"):
            comb = p.build(input_size=input_size, hidden=hidden)
        p.expect(isinstance(comb, p.cls), "interface", "build_part did not return an instance")
        comb = comb.double()
        with p.stage("shape"):
            _combiner_shapes(p, comb, input_size, hidden)
        with p.stage("determinism"):  # before the checks that compare two runs
            _combiner_determinism(p)
        with p.stage("shape"):
            _combiner_agreement(p, comb, input_size, hidden)
        with p.stage("gradient flow"):
            _combiner_gradients(p)
        with p.stage("causality"):
            _combiner_causality(p)
        with p.stage("fast path"):
            _combiner_declaration(p, comb, input_size, hidden)
            _combiner_fast_path(p)
        with p.stage("recipe"):
            model = _check_recipe(p, "model.combiner")
            built = build_part("models", {**_recipe("model.combiner", model)["model"]},
                               channels=1, height=4, width=4, num_classes=3)
        p.expect(isinstance(built.stacks[0][0].combiner, p.cls), "recipe",
                 "the model built from the recipe does not use this combiner")


def _float64_normals(seed: int) -> Callable[..., torch.Tensor]:
    """rand(*shape): float64 standard normals from one seeded generator, call after call."""
    g = torch.Generator().manual_seed(seed)
    return lambda *shape: torch.randn(*shape, generator=g, dtype=torch.float64)


def _combiner_shapes(p: _Part, comb: Any, n_in: int, hid: int) -> None:
    rand = _float64_normals(0)
    b, w = 2, 5
    if p.cls.is_cell:
        leading = [(3,), (2, 3)] if p.cls.pointwise else [(3,)]
        for lead in leading:
            out = comb.cell(rand(*lead, n_in), rand(*lead, hid), rand(*lead, hid))
            p.expect(tuple(out.shape) == (*lead, hid), "shape",
                     f"cell(x {(*lead, n_in)}, h_left {(*lead, hid)}, h_above {(*lead, hid)}) "
                     f"returned {tuple(out.shape)}, expected {(*lead, hid)}")
        row = comb.scan_row(rand(b, w, n_in), rand(b, w, hid))
        p.expect(tuple(row.shape) == (b, w, hid), "shape",
                 f"scan_row returned {tuple(row.shape)}, expected {(b, w, hid)}")
        return
    size = comb.gru_input_size
    p.expect(isinstance(size, int) and size >= 1, "shape",
             f"gru_input_size must be a positive int, got {size!r}")
    leading = [(b, w), (w,), (2, 3, w)] if p.cls.pointwise else [(b, w)]
    for lead in leading:
        out = comb.combine(rand(*lead, n_in), rand(*lead, hid))
        p.expect(tuple(out.shape) == (*lead, size), "shape",
                 f"combine(x {(*lead, n_in)}, h_above {(*lead, hid)}) returned "
                 f"{tuple(out.shape)}, expected {(*lead, size)}")


def _combiner_agreement(p: _Part, comb: Any, n_in: int, hid: int) -> None:
    """What the fast path relies on: `scan_row` == `cell` left to right; `pointwise` honoured."""
    rand = _float64_normals(0)
    b, w = 2, 5
    if p.cls.is_cell:
        x, above = rand(b, w, n_in), rand(b, w, hid)
        row = comb.scan_row(x, above)
        # The reference loop calls scan_row, the wavefront fast path calls cell: they must agree.
        h = x.new_zeros(b, hid)
        for col in range(w):
            h = comb.cell(x[:, col], h, above[:, col])
            p.expect(torch.allclose(row[:, col], h, atol=1e-10), "shape",
                     f"scan_row disagrees with cell() applied left to right at column {col}")
    elif p.cls.pointwise:
        x, above = rand(b, w, n_in), rand(b, w, hid)
        base = comb.combine(x, above)
        x2, above2 = x.clone(), above.clone()
        x2[:, 1] += 1.0  # off-centre, so that a mirrored row cannot map it onto itself
        above2[:, 1] += 1.0
        moved = (comb.combine(x2, above2) - base).abs().amax(dim=(0, 2)) > 0
        p.expect(moved.tolist() == [c == 1 for c in range(w)], "shape",
                 "`pointwise = True` promises that output column w reads only column w, but "
                 f"changing column 1 moved columns {torch.nonzero(moved).flatten().tolist()}; "
                 "set pointwise = False if the combiner mixes columns")


def _combiner_declaration(p: _Part, comb: Any, n_in: int, hid: int) -> None:
    """A fast-path declaration must describe the combiner's own `combine` / `cell` exactly."""
    maps = comb.fast_path_maps()
    if maps is None:
        return
    rand = _float64_normals(3)
    if p.cls.is_cell:
        args, method = (rand(4, n_in), rand(4, hid), rand(4, hid)), "gated_cell_maps"
        want = comb.cell(*args)
    else:
        args, method = (rand(2, 5, n_in), rand(2, 5, hid)), "affine_maps"
        want = comb.combine(*args)
    got = maps.apply(*args)
    p.expect(got.shape == want.shape and torch.allclose(got, want, rtol=1e-9, atol=1e-9),
             "fast path", f"{method}() does not describe {'cell' if p.cls.is_cell else 'combine'}"
             f"(): the declared maps give {tuple(got.shape)}, max difference "
             f"{(got - want).abs().max().item() if got.shape == want.shape else 'n/a'}; the "
             "wavefront would compute another function")


def _combiner_fast_path(p: _Part) -> None:
    """Where `select` puts a tiny model on the wavefront, it must match the reference loop."""
    from pixelzoo.models.scan import select

    model = _tiny_rowrnn(p.spec(), channels=3, height=3, width=4).double()
    gen = torch.Generator().manual_seed(4)
    tokens = _random_tokens(2, 3, 3, 4, gen)
    runs, form = {}, ""
    for mode in ("auto", "reference"):
        choice = select(model, mode)
        if mode == "auto":
            if choice.name != "wavefront":
                return  # the reference loop only: nothing to compare
            form = choice.form
        model.zero_grad(set_to_none=True)
        out = model(tokens)
        weight = torch.randn(out.shape, generator=torch.Generator().manual_seed(5),
                             dtype=out.dtype)
        (out * weight).sum().backward()
        runs[mode] = (out.detach(), {n: q.grad for n, q in model.named_parameters()})
    (fast, fast_grads), (ref, ref_grads) = runs["auto"], runs["reference"]
    scale = ref.abs().max().item()
    p.expect((fast - ref).abs().max().item() <= 1e-9 * max(scale, 1.0), "fast path",
             f"the wavefront scan ({form} layer 0) and the reference loop disagree in the "
             f"forward pass by {(fast - ref).abs().max().item():.3g}")
    for name, g in ref_grads.items():
        f = fast_grads[name]
        ok = (f is None) == (g is None) and (g is None or (f - g).abs().max().item()
                                             <= 1e-9 * max(g.abs().max().item(), 1.0))
        p.expect(ok, "fast path", f"the wavefront scan and the reference loop disagree in the "
                 f"gradient of '{name}'")


def _combiner_gradients(p: _Part) -> None:
    model = _tiny_rowrnn(p.spec(), channels=3, height=4, width=5).double()
    gen = torch.Generator().manual_seed(1)
    tokens = _random_tokens(2, 3, 4, 5, gen)
    logits = model(tokens)
    weights = torch.randn(logits.shape, generator=gen, dtype=logits.dtype)
    (logits * weights).sum().backward()
    _check_grads(p, model, "gradient flow", each_nonzero=False)
    for d, stacks in enumerate(model.stacks):
        for c, stack in enumerate(stacks):
            for pname, param in stack.combiner.named_parameters():
                p.expect(param.grad is not None and bool(param.grad.any()), "gradient flow",
                         f"parameter '{pname}' (channel {c}) gets no gradient in a RowRNN")


def _combiner_causality(p: _Part) -> None:
    c_all, hh, ww = 3, 4, 5
    model = _tiny_rowrnn(p.spec(), channels=c_all, height=hh, width=ww).double().eval()
    gen = torch.Generator().manual_seed(2)
    images = torch.randint(0, 256, (1, c_all, hh, ww), generator=gen)
    with torch.no_grad():
        base = model.features(add_start_tokens(images))[0]
    raster = torch.arange(hh * ww).view(hh, ww)
    for c, r, w in [(0, 0, 0), (0, 1, 2), (1, 2, 0), (2, 0, ww - 1), (0, hh - 1, ww - 1)]:
        other = images.clone()
        other[0, c, r, w] = (images[0, c, r, w] + 97) % 256
        with torch.no_grad():
            moved = (model.features(add_start_tokens(other))[0] - base).abs().amax(-1) > 0
        earlier = raster < r * ww + w
        leaks = torch.nonzero(moved[:, earlier]).tolist()
        p.expect(not moved[:, earlier].any(), "causality",
                 f"with directions: 1, changing pixel (channel {c}, row {r}, col {w}) changed "
                 f"the state at {len(leaks)} earlier raster position(s); a combiner must only "
                 "read the row above and the current row up to the current pixel")
        p.expect(not moved[:c].any(), "causality",
                 f"changing channel {c} at (row {r}, col {w}) changed an earlier channel")
        p.expect(bool(moved[c, r, w]), "causality",
                 f"changing pixel (channel {c}, row {r}, col {w}) did not change its own state")
        if r < hh - 1:
            p.expect(bool(moved[c, r + 1:].any()), "causality",
                     f"changing pixel (channel {c}, row {r}, col {w}) reached no later row: the "
                     "combiner does not pass the row above on")



def _combiner_determinism(p: _Part) -> None:
    tokens = _random_tokens(2, 1, 3, 4, torch.Generator().manual_seed(3))
    _built_twice_agree(p, lambda: _tiny_rowrnn(p.spec(), channels=1, height=3, width=4), tokens)
