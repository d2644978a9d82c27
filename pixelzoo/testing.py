"""The conformance kit: the checks pixelzoo applies to its own parts, for plugin authors' tests.

Call the function for your kind of part from your own test suite, with the registered name (or
the class itself, which is then registered for the duration of the check) and, if your `Config`
needs them, the parameters to build it with::

    from pixelzoo.testing import check_combiner

    def test_my_combiner_conforms():
        check_combiner("my_combiner", {"k": 3})

Each `check_*` function runs, where they apply to its kind: the interface (base class, class
attributes, a `Config` that forbids unknown keys), `Config` validation, shapes, gradient flow,
causality (combiners and decoders), determinism given a seed, and building from a recipe
(`pixelzoo.recipe.recipe_from_dict`). It returns nothing and raises `AssertionError` naming the
part, the check and what went wrong. pixelzoo's own tests run every registered part through the
same functions, so an installed plugin is checked there too. The models are tiny and run on the
CPU in double precision, so a check takes a second or two.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, ValidationError
from torch import nn

from pixelzoo.errors import PixelzooError, RecipeError
from pixelzoo.recipe import build_part, recipe_from_dict
from pixelzoo.registry import Registry, registry_for
from pixelzoo.tokens import HOLE, VOCAB, add_start_tokens

__all__ = ["check_combiner", "check_dataset", "check_decoder", "check_mask", "check_model"]

#: A parameter name no Config defines; every Config must refuse it.
UNKNOWN_KEY = "pixelzoo_kit_no_such_option"
SEED = 1234


# ------------------------------------------------------------------------------ plumbing
@dataclass
class _Part:
    kind: str  # registry kind, e.g. "combiners"
    name: str
    cls: Any
    params: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{registry_for(self.kind).singular} '{self.name}'"

    def fail(self, check: str, message: str) -> AssertionError:
        return AssertionError(f"{self.label} failed the {check} check: {message}")

    def expect(self, ok: Any, check: str, message: str) -> None:
        if not ok:
            raise self.fail(check, message)

    def spec(self, **extra: Any) -> dict[str, Any]:
        return {"type": self.name, **self.params, **extra}

    def build(self, **core: Any) -> Any:
        return build_part(self.kind, self.spec(), **core)

    @contextlib.contextmanager
    def stage(self, check: str, passthrough: tuple[type[BaseException], ...] = ()
              ) -> Iterator[None]:
        """Run one check; an exception raised by the part is reported as that check failing."""
        try:
            yield
        except (AssertionError, *passthrough):
            raise
        except Exception as exc:  # noqa: BLE001 - the part's own error, reported as such
            raise self.fail(check, f"raised {type(exc).__name__}: {exc}") from exc


def _registered_name(reg: Registry[Any], cls: type) -> str | None:
    for info in reg.infos():
        if info.loaded and info.obj is cls:
            return info.name
    for info in reg.infos():  # not imported yet: compare the entry point's target
        if info.target == f"{cls.__module__}:{cls.__qualname__}":
            try:
                if reg.get(info.name) is cls:
                    return info.name
            except Exception:  # noqa: BLE001 - another plugin's failure is not this check's
                continue
    return None


@contextlib.contextmanager
def _resolve(kind: str, part: str | type, params: dict[str, Any] | None) -> Iterator[_Part]:
    """The part's registered name and class; a bare class is registered for the check."""
    reg = registry_for(kind)
    if isinstance(part, str):
        try:
            cls = reg.get(part)
        except Exception as exc:  # noqa: BLE001 - reported as a failed check
            raise AssertionError(f"{reg.singular} '{part}' failed the interface check: it cannot "
                                 f"be loaded from the registry: {exc}") from exc
        yield _Part(kind, part, cls, dict(params or {}))
        return
    if not isinstance(part, type):
        raise TypeError(f"expected a registered name or a class, got {part!r}")
    name = _registered_name(reg, part)
    if name is not None:
        yield _Part(kind, name, part, dict(params or {}))
        return
    name = f"kit_{part.__name__.lower()}"
    reg.register(name, part, dist="pixelzoo.testing")
    try:
        yield _Part(kind, name, part, dict(params or {}))
    finally:
        reg.unregister(name)


@contextlib.contextmanager
def _quiet_torch(seed: int = SEED) -> Iterator[None]:
    """One CPU thread (the tensors are tiny) and a forked RNG, restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            yield
    finally:
        torch.set_num_threads(threads)


def _check_config_class(p: _Part) -> None:
    cfg_cls = getattr(p.cls, "Config", None)
    p.expect(isinstance(cfg_cls, type) and issubclass(cfg_cls, BaseModel), "interface",
             "the class needs a nested pydantic `Config` (subclass pixelzoo.config.PartConfig)")
    p.expect(cfg_cls.model_config.get("extra") == "forbid", "interface",
             f"{cfg_cls.__qualname__} must forbid unknown keys (model_config extra='forbid'; "
             "subclassing pixelzoo.config.PartConfig does this) so that recipe typos are caught")
    try:
        cfg_cls.model_validate(p.params)
    except ValidationError as exc:
        raise p.fail("Config validation",
                     f"its Config refuses the parameters {p.params!r}: {exc}") from exc
    try:
        cfg_cls.model_validate({**p.params, UNKNOWN_KEY: 1})
    except ValidationError:
        pass
    else:
        raise p.fail("Config validation", f"its Config accepted an unknown key '{UNKNOWN_KEY}'")
    try:
        build_part(p.kind, p.spec(**{UNKNOWN_KEY: 1}), **_dummy_core(p.kind))
    except RecipeError as exc:
        p.expect(UNKNOWN_KEY in str(exc), "Config validation",
                 f"the error for an unknown key does not name it: {exc}")
    except Exception as exc:  # noqa: BLE001
        raise p.fail("Config validation", f"an unknown key raised {type(exc).__name__} instead "
                                          f"of a RecipeError: {exc}") from exc
    else:
        raise p.fail("Config validation", f"build_part accepted an unknown key '{UNKNOWN_KEY}'")


def _dummy_core(kind: str) -> dict[str, Any]:
    # Only reached when the Config is (wrongly) accepted, so the sizes just need to be plausible.
    return {"combiners": {"input_size": 4, "hidden": 4},
            "decoders": {"features": 4, "channels": 1},
            "masks": {"channels": 1, "height": 4, "width": 4},
            "models": {"channels": 1, "height": 4, "width": 4, "num_classes": 2}}.get(kind, {})


def _check_grads(p: _Part, module: nn.Module, check: str, *, each_nonzero: bool) -> None:
    missing, bad, zero = [], [], []
    for pname, param in module.named_parameters():
        if not param.requires_grad:
            continue
        if param.grad is None:
            missing.append(pname)
        elif not torch.isfinite(param.grad).all():
            bad.append(pname)
        elif not param.grad.any():
            zero.append(pname)
    p.expect(not missing, check, f"no gradient reaches {', '.join(missing)}")
    p.expect(not bad, check, f"non-finite gradients in {', '.join(bad)}")
    if each_nonzero:
        p.expect(not zero, check, f"the gradient is exactly zero for {', '.join(zero)}")


def _random_tokens(batch: int, channels: int, height: int, width: int,
                   gen: torch.Generator) -> torch.Tensor:
    return add_start_tokens(torch.randint(0, 256, (batch, channels, height, width),
                                          generator=gen))


def _tiny_rowrnn(combiner: dict[str, Any] | None = None, decoder: dict[str, Any] | None = None,
                 *, channels: int, height: int, width: int, layers: int = 2,
                 directions: int = 1, num_classes: int | None = None) -> nn.Module:
    spec: dict[str, Any] = {"type": "rowrnn", "embed": 6, "hidden": 7, "layers": layers,
                            "directions": directions}
    if combiner is not None:
        spec["combiner"] = combiner
    if decoder is not None:
        spec["decoder"] = decoder
    return build_part("models", spec, channels=channels, height=height, width=width,
                      num_classes=num_classes)


def _same_state(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _recipe(section: str, spec: dict[str, Any]) -> dict[str, Any]:
    """A small valid recipe with `spec` in place at `section` (dotted)."""
    data: dict[str, Any] = {
        "dataset": {"type": "digits"},
        "model": {"type": "rowrnn", "embed": 6, "hidden": 7, "layers": 1},
        "task": {"type": "classification"},
    }
    node = data
    *parents, last = section.split(".")
    for key in parents:
        node = node[key]
    node[last] = spec
    return data


def _check_recipe(p: _Part, section: str) -> dict[str, Any]:
    """The part validates inside a recipe at `section`; a typo there is reported with its path."""
    try:
        resolved = recipe_from_dict(_recipe(section, p.spec()), name="kit").data
    except RecipeError as exc:
        raise p.fail("recipe", f"a recipe with {section}: {p.spec()} does not validate: "
                               f"{exc}") from exc
    node: Any = resolved
    for key in section.split("."):
        node = node[key]
    p.expect(isinstance(node, dict) and node.get("type") == p.name, "recipe",
             f"the resolved recipe holds {node!r} at {section}")
    try:
        recipe_from_dict(_recipe(section, p.spec(**{UNKNOWN_KEY: 1})), name="kit")
    except RecipeError as exc:
        p.expect(f"{section}.{UNKNOWN_KEY}" in str(exc), "recipe",
                 f"a typo at {section}.{UNKNOWN_KEY} is reported without its path: {exc}")
    else:
        raise p.fail("recipe", f"a recipe with an unknown key at {section} validated")
    return node


# ------------------------------------------------------------------------------ combiners
def check_combiner(combiner: str | type, params: dict[str, Any] | None = None, *,
                   input_size: int = 5, hidden: int = 7) -> None:
    """Check a row-context combiner (see `pixelzoo.models.combiners.base`).

    Interface and Config; `combine`/`cell` shapes (any leading dims for `pointwise` ones, which
    the wavefront fast path gathers from many rows); `pointwise` honoured; a cell combiner's
    `scan_row` agreeing with its `cell`; gradients reaching every parameter through a tiny RowRNN;
    raster-order causality with `directions: 1` (perturbing one pixel moves no state at an
    earlier position or in an earlier channel) and the row above reaching later rows;
    determinism given a seed; and building from a recipe.
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


def _built_twice_agree(p: _Part, build: Callable[[], Any], tokens: torch.Tensor) -> None:
    """Two builds under one seed have equal weights, and their forward passes agree."""
    outs, nets = [], []
    for _ in range(2):
        torch.manual_seed(SEED)
        net = build()
        torch.manual_seed(SEED + 1)
        outs.append(net(tokens))
        nets.append(net)
    p.expect(_same_state(*nets), "determinism", "two builds under one seed differ")
    p.expect(torch.equal(outs[0], outs[1]), "determinism",
             "two forward passes under one seed differ")


def _combiner_determinism(p: _Part) -> None:
    tokens = _random_tokens(2, 1, 3, 4, torch.Generator().manual_seed(3))
    _built_twice_agree(p, lambda: _tiny_rowrnn(p.spec(), channels=1, height=3, width=4), tokens)


# ------------------------------------------------------------------------------ decoders
def check_decoder(decoder: str | type, params: dict[str, Any] | None = None, *,
                  features: int = 6) -> None:
    """Check a channel decoder (see `pixelzoo.models.decoders.base`).

    Interface and Config; shapes of `forward`, `channel_logits` (any leading dims: the sampler
    calls it per pixel) and `decode` for 1 and 3 channels; gradients to every parameter and to
    the hidden states; channel causality (channel c's logits never depend on the tokens of
    channels >= c, nor on other pixels' tokens; a `conditional` decoder really conditions and an
    unconditional one ignores the teacher); `decode` keeps known values, fills holes with pixel
    values, gives the same logits as teacher forcing on its own choices and does not depend on an
    earlier training call; determinism given a seed; and building from a recipe.
    """
    from pixelzoo.models.decoders.base import ChannelDecoder

    with _resolve("decoders", decoder, params) as p, _quiet_torch():
        p.expect(isinstance(p.cls, type) and issubclass(p.cls, ChannelDecoder), "interface",
                 "it must subclass pixelzoo.models.decoders.base.ChannelDecoder")
        p.expect(isinstance(getattr(p.cls, "conditional", None), bool), "interface",
                 "the class attribute `conditional` must be a bool")
        for method in ("forward", "channel_logits"):
            p.expect(getattr(p.cls, method) is not getattr(ChannelDecoder, method), "interface",
                     f"a decoder must implement `{method}`")
        _check_config_class(p)
        with p.stage("determinism"):  # first: every later check compares two runs
            _decoder_determinism(p, features)
        for channels in (1, 3):
            with p.stage("interface"):
                dec = p.build(features=features, channels=channels).double()
            p.expect(isinstance(dec, p.cls), "interface", "build_part did not return an instance")
            with p.stage("shape"):
                _decoder_shapes(p, dec, channels, features)
            with p.stage("causality"):
                _decoder_causality(p, dec, channels, features)
            with p.stage("no leakage"):
                _decoder_inference(p, dec, channels, features)
        with p.stage("gradient flow"):
            _decoder_gradients(p, features)
        with p.stage("recipe"):
            model = _check_recipe(p, "model.decoder")
            built = build_part("models", _recipe("model.decoder", model)["model"],
                               channels=3, height=3, width=3, num_classes=None)
            p.expect(isinstance(built.decoder, p.cls), "recipe",
                     "the model built from the recipe does not use this decoder")
            gen = torch.Generator().manual_seed(4)
            tokens = _random_tokens(2, 3, 3, 3, gen)
            tokens[:, :, 2, 2] = HOLE
            filled, logits = built.decode(tokens)
        p.expect(tuple(filled.shape) == (2, 3, 3, 3) and logits.shape[-1] == VOCAB, "recipe",
                 f"decode on the built model returned {tuple(filled.shape)}, "
                 f"{tuple(logits.shape)}")


def _decoder_inputs(channels: int, features: int, seed: int
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Generator]:
    gen = torch.Generator().manual_seed(seed)
    h = torch.randn(2, channels, 3, 4, features, generator=gen, dtype=torch.float64)
    teacher = torch.randint(0, 256, (2, channels, 3, 4), generator=gen)
    return h, teacher, gen


def _decoder_shapes(p: _Part, dec: Any, channels: int, features: int) -> None:
    h, teacher, gen = _decoder_inputs(channels, features, 5)
    out = dec(h, teacher)
    want = (2, channels, 3, 4, VOCAB)
    p.expect(tuple(out.shape) == want, "shape",
             f"forward(h {tuple(h.shape)}, teacher {tuple(teacher.shape)}) returned "
             f"{tuple(out.shape)}, expected {want}")
    for lead in [(3,), (2, 3, 4)]:
        hv = torch.randn(*lead, features, generator=gen, dtype=torch.float64)
        prev: list[torch.Tensor] = []
        for c in range(channels):
            logits = dec.channel_logits(hv, c, prev)
            p.expect(tuple(logits.shape) == (*lead, VOCAB), "shape",
                     f"channel_logits(h {(*lead, features)}, {c}, ...) returned "
                     f"{tuple(logits.shape)}, expected {(*lead, VOCAB)}")
            prev.append(torch.randint(0, 256, lead, generator=gen))


def _decoder_causality(p: _Part, dec: Any, channels: int, features: int) -> None:
    h, teacher, _ = _decoder_inputs(channels, features, 6)
    with torch.no_grad():
        base = dec(h, teacher)
        for k in range(channels):
            other = teacher.clone()
            other[:, k, 1, 2] = (teacher[:, k, 1, 2] + 101) % 256
            moved = (dec(h, other) - base).abs().amax(dim=(0, -1)) > 0  # (C, H, W)
            p.expect(not moved[: k + 1].any(), "causality",
                     f"changing channel {k}'s true token changed the logits of channel(s) "
                     f"{sorted(set(torch.nonzero(moved[:k + 1])[:, 0].tolist()))}: channel c may "
                     "only condition on channels before it")
            elsewhere = moved.clone()
            elsewhere[:, 1, 2] = False
            p.expect(not elsewhere.any(), "causality",
                     "changing a token at one pixel changed the logits at other pixels")
            if not p.cls.conditional:
                p.expect(not moved.any(), "causality",
                         "an unconditional decoder (conditional = False) changed its logits "
                         "when the teacher tokens changed")
            elif k < channels - 1:
                p.expect(bool(moved[k + 1:, 1, 2].any()), "causality",
                         f"a conditional decoder's later channels ignore channel {k}'s value")


def _decoder_inference(p: _Part, dec: Any, channels: int, features: int) -> None:
    h, teacher, gen = _decoder_inputs(channels, features, 7)
    holes = torch.rand(teacher.shape, generator=gen) < 0.5
    holes[0, :, 0, 0] = True  # a whole pixel missing
    holes[1, 0, 0, 0], holes[1, -1, 0, 0] = False, True  # later channels only, where C > 1
    known = torch.where(holes, torch.full_like(teacher, HOLE), teacher)
    with torch.no_grad():
        filled, logits = dec.decode(h, known)
        p.expect(tuple(filled.shape) == tuple(known.shape) and
                 tuple(logits.shape) == (*known.shape, VOCAB), "shape",
                 f"decode returned {tuple(filled.shape)}, {tuple(logits.shape)}")
        p.expect(torch.equal(filled[~holes], known[~holes]), "no leakage",
                 "decode changed known (non-hole) values")
        p.expect(bool(((filled[holes] >= 0) & (filled[holes] < 256)).all()), "no leakage",
                 "decode filled a hole with a token that is not a pixel value (0..255)")
        forced = dec(h, filled)
        p.expect(torch.allclose(forced, logits, atol=1e-9), "no leakage",
                 "decode's logits differ from forward() teacher-forced on decode's own choices: "
                 "training and inference would disagree")
        # Any state kept from a training call would carry the truth into inference.
        dec(h, teacher)
        again = dec.decode(h, known)
        dec(h, (teacher + 1) % 256)
        third = dec.decode(h, known)
        p.expect(torch.equal(again[0], third[0]) and torch.equal(again[1], third[1]),
                 "no leakage", "decode's result depends on the teacher tokens of an earlier "
                               "forward() call")


def _decoder_gradients(p: _Part, features: int) -> None:
    dec = p.build(features=features, channels=3).double()
    h, teacher, gen = _decoder_inputs(3, features, 8)
    h.requires_grad_(True)
    out = dec(h, teacher)
    (out * torch.randn(out.shape, generator=gen, dtype=out.dtype)).sum().backward()
    _check_grads(p, dec, "gradient flow", each_nonzero=True)
    assert h.grad is not None
    for c in range(3):
        p.expect(bool(h.grad[:, c].any()), "gradient flow",
                 f"no gradient reaches channel {c}'s hidden states")


def _decoder_determinism(p: _Part, features: int) -> None:
    h, teacher, _ = _decoder_inputs(3, features, 9)
    outs, decs = [], []
    for _ in range(2):
        torch.manual_seed(SEED)
        dec = p.build(features=features, channels=3)
        torch.manual_seed(SEED + 1)
        outs.append(dec(h.float(), teacher))
        decs.append(dec)
    p.expect(_same_state(*decs), "determinism", "two builds under one seed differ")
    p.expect(torch.equal(outs[0], outs[1]), "determinism",
             "two forward passes under one seed differ")


# ------------------------------------------------------------------------------ models
def check_model(model: str | type, params: dict[str, Any] | None = None, *,
                pixels: bool = False) -> None:
    """Check a model (see `pixelzoo.models.rowrnn.RowRNN` for the interface).

    Interface and Config; classifier logits (B, num_classes) from (B, C, H+1, W+1) token grids
    for 1 and 3 channels; with `pixels=True` also per-pixel logits (B, C, H, W, 258) when built
    with `num_classes=None`; gradients to every parameter; determinism given a seed; a
    `describe()` dict where present; and building from a recipe.
    """
    with _resolve("models", model, params) as p, _quiet_torch():
        p.expect(isinstance(p.cls, type) and issubclass(p.cls, nn.Module), "interface",
                 "a model must be a torch.nn.Module")
        _check_config_class(p)
        with p.stage("determinism"):  # first: every later check compares two runs
            _model_determinism(p)
        gen = torch.Generator().manual_seed(10)
        for channels in (1, 3):
            with p.stage("interface"):
                net = p.build(channels=channels, height=8, width=8, num_classes=4).double()
            p.expect(isinstance(net, p.cls), "interface", "build_part did not return an instance")
            if hasattr(net, "describe"):
                with p.stage("interface"):
                    p.expect(isinstance(net.describe(), dict), "interface",
                             "describe() must return a dict")
            tokens = _random_tokens(2, channels, 8, 8, gen)
            with p.stage("shape"):
                out = net(tokens)
            p.expect(tuple(out.shape) == (2, 4), "shape",
                     f"class logits for tokens {tuple(tokens.shape)} have shape "
                     f"{tuple(out.shape)}, expected (2, 4)")
            with p.stage("gradient flow"):
                (out * torch.randn(out.shape, generator=gen, dtype=out.dtype)).sum().backward()
            _check_grads(p, net, "gradient flow", each_nonzero=False)
            p.expect(any(bool(q.grad.any()) for q in net.parameters() if q.grad is not None),
                     "gradient flow", "every gradient is zero")
        if pixels:
            with p.stage("shape"):
                net = p.build(channels=3, height=4, width=5, num_classes=None).double()
                tokens = _random_tokens(2, 3, 4, 5, gen)
                out = net(tokens, tokens[:, :, 1:, 1:])
            p.expect(tuple(out.shape) == (2, 3, 4, 5, VOCAB), "shape",
                     f"pixel logits have shape {tuple(out.shape)}, expected (2, 3, 4, 5, {VOCAB})")
        with p.stage("recipe"):
            spec = _check_recipe(p, "model")
            built = build_part("models", spec, channels=1, height=8, width=8, num_classes=10)
        p.expect(isinstance(built, p.cls), "recipe", "the recipe built another model")


def _model_determinism(p: _Part) -> None:
    tokens = _random_tokens(2, 1, 8, 8, torch.Generator().manual_seed(11))
    _built_twice_agree(p, lambda: p.build(channels=1, height=8, width=8, num_classes=4), tokens)


# ------------------------------------------------------------------------------ masks
def check_mask(mask: str | type, params: dict[str, Any] | None = None, *,
               geometries: tuple[tuple[int, int, int], ...] = ((3, 36, 36), (1, 28, 28))
               ) -> None:
    """Check a hole-mask generator (see `pixelzoo.masks.base`).

    Interface and Config; boolean (n, C, H, W) hole maps for each (C, H, W) in `geometries`
    (by default the cartoon and MNIST shapes pixelzoo's recipes use); determinism
    given the numpy generator; the curriculum hooks (`set_epoch`, `final_level`); and building
    from a recipe, both as the training mask and as an evaluation mask.
    """
    from pixelzoo.masks.base import MaskGenerator

    with _resolve("masks", mask, params) as p:
        p.expect(isinstance(p.cls, type) and issubclass(p.cls, MaskGenerator), "interface",
                 "it must subclass pixelzoo.masks.base.MaskGenerator")
        _check_config_class(p)
        for channels, height, width in geometries:
            with p.stage("interface"):
                gen = p.build(channels=channels, height=height, width=width)
            p.expect(isinstance(gen, p.cls), "interface", "build_part did not return an instance")
            for epoch in (0, 5):
                with p.stage("shape"):
                    gen.set_epoch(epoch)
                    a = gen(4, np.random.default_rng(SEED))
                p.expect(isinstance(a, np.ndarray) and a.dtype == bool, "shape",
                         f"a mask must be a bool numpy array, got {type(a).__name__} "
                         f"{getattr(a, 'dtype', '')}")
                p.expect(a.shape == (4, channels, height, width), "shape",
                         f"4 masks for ({channels}, {height}, {width}) images have shape "
                         f"{a.shape}")
                with p.stage("determinism"):
                    b = gen(4, np.random.default_rng(SEED))
                p.expect(np.array_equal(a, b), "determinism",
                         "two calls with equally seeded generators differ")
            with p.stage("shape"):
                gen.final_level()
                a = gen(2, np.random.default_rng(SEED))
            p.expect(a.shape == (2, channels, height, width), "shape",
                     f"after final_level() masks have shape {a.shape}")
        with p.stage("recipe"):
            _check_recipe(p, "mask")
        data = _recipe("mask", p.spec())
        data["eval"] = {"masks": [p.spec()]}
        try:
            recipe_from_dict(data, name="kit")
        except RecipeError as exc:
            raise p.fail("recipe", f"the mask does not validate under eval.masks: {exc}") from exc


# ------------------------------------------------------------------------------ datasets
def check_dataset(dataset: str | type, params: dict[str, Any] | None = None) -> None:
    """Check a dataset (see `pixelzoo.data.base`) by loading it with `params`.

    Interface and Config (derived from `DatasetConfig`, so `limit` and `seed` work); `load()`
    returning `DataSplits` of uint8 (N, C, H, W) images with one geometry across splits and, for
    labelled data, int64 labels in 0..num_classes-1; `geometry()` agreeing with the data;
    `limit` honoured; determinism (two loads are identical); and building from a recipe. A
    `PixelzooError` from `load()` (a missing file) is raised as it is, not as a failed check.
    """
    from pixelzoo.data.base import DataSplits, Dataset, DatasetConfig, ImageSet

    with _resolve("datasets", dataset, params) as p:
        p.expect(isinstance(p.cls, type) and issubclass(p.cls, Dataset), "interface",
                 "it must subclass pixelzoo.data.base.Dataset")
        p.expect(issubclass(getattr(p.cls, "Config", object), DatasetConfig), "interface",
                 "its Config must subclass pixelzoo.data.base.DatasetConfig (limit, seed)")
        _check_config_class(p)
        with p.stage("interface", passthrough=(PixelzooError,)):
            ds = p.build()
            splits = ds.load()
        p.expect(isinstance(splits, DataSplits), "shape",
                 f"load() must return DataSplits, got {type(splits).__name__}")
        shapes = {}
        for split in ("train", "val", "test"):
            part = getattr(splits, split)
            p.expect(isinstance(part, ImageSet), "shape", f"{split} is not an ImageSet")
            p.expect(part.images.dtype == np.uint8 and part.images.ndim == 4, "shape",
                     f"{split} images must be uint8 (N, C, H, W), got {part.images.dtype} "
                     f"{part.images.shape}")
            if len(part):
                shapes[split] = part.images.shape[1:]
            if splits.num_classes is not None and len(part):
                p.expect(part.labels is not None, "shape", f"{split} has no labels")
                assert part.labels is not None
                p.expect(part.labels.dtype == np.int64, "shape",
                         f"{split} labels must be int64, got {part.labels.dtype}")
                p.expect(bool(((part.labels >= 0) & (part.labels < splits.num_classes)).all()),
                         "shape", f"{split} has labels outside 0..{splits.num_classes - 1}")
        p.expect(len(splits.train) > 0, "shape", "the train split is empty")
        p.expect(len(set(shapes.values())) == 1, "shape",
                 f"the splits' image shapes differ: {shapes}")
        c, h, w = next(iter(shapes.values()))
        if splits.class_names is not None and splits.num_classes is not None:
            p.expect(len(splits.class_names) == splits.num_classes, "shape",
                     f"{len(splits.class_names)} class names for {splits.num_classes} classes")
        with p.stage("shape"):
            geo = ds.geometry()
        got = (geo.channels, geo.height, geo.width, geo.num_classes)
        p.expect(got == (c, h, w, splits.num_classes), "shape",
                 f"geometry() says {got}, the data is {(c, h, w, splits.num_classes)}")
        with p.stage("determinism"):
            again = p.build().load()
        for split in ("train", "val", "test"):
            a, b = getattr(splits, split), getattr(again, split)
            same = np.array_equal(a.images, b.images) and (
                (a.labels is None and b.labels is None)
                or (a.labels is not None and b.labels is not None
                    and np.array_equal(a.labels, b.labels)))
            p.expect(same, "determinism", f"two loads give different {split} splits")
        with p.stage("Config validation"):
            small = build_part("datasets", p.spec(limit=2)).load()
        for split in ("train", "val", "test"):
            p.expect(len(getattr(small, split)) <= 2, "Config validation",
                     f"limit: 2 left {len(getattr(small, split))} {split} images")
        with p.stage("recipe"):
            _check_recipe(p, "dataset")

