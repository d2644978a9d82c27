"""The scan as a strategy: `select` holds the policy, and combiners declare the fast path.

Combiners defined only here (no built-in, no entry point) that declare `affine_maps` or
`gated_cell_maps` run on the wavefront's fast layer-0 forms and match the reference loop in
forward and gradients; a subclass that changes a declaring combiner without declaring again
falls back to the generic form; a wrong declaration is refused with a reason. An unknown mode
is refused, and a typo'd scan name cannot silently run the reference loop.
"""

from __future__ import annotations

import copy
import typing

import pytest
import torch
from test_wavefront import build, compare, tokens
from torch import nn

import pixelzoo.models.wavefront as wf
from pixelzoo.errors import PixelzooError
from pixelzoo.models.combiners.base import AffineMaps, GatedCellMaps, RowContextCombiner
from pixelzoo.models.combiners.linear_add import LinearAddCombiner
from pixelzoo.models.reference import REFERENCE, ScanError
from pixelzoo.models.scan import MODES, select
from pixelzoo.testing import check_combiner


class MixedAffine(RowContextCombiner):
    """[X x + P h + p ; h]: every part of `AffineMaps` at once, with K = 4 != input_size."""

    def __init__(self, config, *, input_size, hidden):  # noqa: ANN001
        super().__init__(config, input_size=input_size, hidden=hidden)
        self.x_lin = nn.Linear(input_size, 4)
        self.h_lin = nn.Linear(hidden, 4, bias=False)

    @property
    def gru_input_size(self) -> int:
        return 4 + self.hidden

    def combine(self, x: torch.Tensor, h_above: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.x_lin(x) + self.h_lin(h_above), h_above], -1)

    def affine_maps(self) -> AffineMaps:
        return AffineMaps(x_map=self.x_lin.weight, above=self.h_lin.weight,
                          bias=self.x_lin.bias, append_above=True)


class ScaledAdd(RowContextCombiner):
    """x + s ⊙ (W h): the declared map is computed from two parameters, not one of them."""

    def __init__(self, config, *, input_size, hidden):  # noqa: ANN001
        super().__init__(config, input_size=input_size, hidden=hidden)
        self.w = nn.Parameter(torch.randn(input_size, hidden))
        self.s = nn.Parameter(torch.ones(input_size))

    def combine(self, x: torch.Tensor, h_above: torch.Tensor) -> torch.Tensor:
        return x + self.s * (h_above @ self.w.T)

    def affine_maps(self) -> AffineMaps:
        return AffineMaps(above=self.s[:, None] * self.w)


class SplitGated(RowContextCombiner):
    """The 2-D GRU cell of `GatedCellMaps`, written out with its own per-gate parameters."""

    is_cell = True

    def __init__(self, config, *, input_size, hidden):  # noqa: ANN001
        super().__init__(config, input_size=input_size, hidden=hidden)
        self.wx = nn.ModuleList(nn.Linear(input_size, hidden) for _ in range(6))
        self.wl = nn.ParameterList(torch.randn(hidden, hidden) for _ in range(5))
        self.wa = nn.ParameterList(torch.randn(hidden, hidden) for _ in range(5))
        self.wn = nn.Parameter(torch.randn(hidden, 2 * hidden))

    def cell(self, x: torch.Tensor, h_left: torch.Tensor, h_above: torch.Tensor) -> torch.Tensor:
        r_l, r_a, s_n, s_l, s_a = (self.wx[k](x) + h_left @ self.wl[k].T + h_above @ self.wa[k].T
                                   for k in range(5))
        reset = torch.cat([torch.sigmoid(r_l) * h_left, torch.sigmoid(r_a) * h_above], -1)
        n = torch.tanh(self.wx[5](x) + reset @ self.wn.T)
        z = torch.softmax(torch.stack([s_n, s_l, s_a]), 0)
        return z[0] * n + z[1] * h_left + z[2] * h_above

    def gated_cell_maps(self) -> GatedCellMaps:
        return GatedCellMaps(torch.cat([k.weight for k in self.wx]),
                             torch.cat([k.bias for k in self.wx]), torch.cat(list(self.wl)),
                             torch.cat(list(self.wa)), self.wn)


@pytest.mark.parametrize("fold", [False, True])
@pytest.mark.parametrize("directions", [1, 4])
@pytest.mark.parametrize("combiner, form", [(MixedAffine, "affine"), (ScaledAdd, "affine"),
                                            (SplitGated, "gated")])
def test_a_test_only_combiner_that_declares_runs_the_fast_form(
        combiner: type, form: str, directions: int, fold: bool,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wf, "_FOLD", fold)
    monkeypatch.setattr(wf, "_SHARE_DIRECTIONS", True)  # 4 directions as lanes of one scan
    calls = []
    real = wf._AffineScan.apply
    monkeypatch.setattr(wf._AffineScan, "apply", lambda *a: calls.append(1) or real(*a))
    model = build(combiner, "conditional", directions, 3)
    choice = select(model, "auto")
    assert (choice.name, choice.reason, choice.notice, choice.form) == ("wavefront", "", "", form)
    assert model.impl.name == "wavefront"
    compare(model, tokens(3))  # reference loop vs wavefront, forward and every gradient
    assert bool(calls) == (form == "affine")  # the hand-written scan ran for affine ones only


@pytest.mark.parametrize("combiner", [MixedAffine, ScaledAdd, SplitGated])
def test_the_kit_passes_a_truthful_declaration(combiner: type) -> None:
    check_combiner(combiner)  # includes its fast-path check: declaration and wavefront


class OverridesCombine(LinearAddCombiner):
    """Changes `combine` but inherits `linear_add`'s declaration, which no longer describes it."""

    def combine(self, x: torch.Tensor, h_above: torch.Tensor) -> torch.Tensor:
        return x + torch.tanh(self.proj(h_above))


def test_an_inherited_declaration_is_not_trusted_after_an_override() -> None:
    model = build(OverridesCombine, "independent", 1, 3)
    assert model.stacks[0][0].combiner.fast_path_maps() is None
    assert select(model, "auto").form == "generic"  # still the wavefront, the generic way
    compare(model, tokens(3))

    class OnlyRenamed(LinearAddCombiner):
        """A subclass that defines no methods keeps the declaration it inherits."""

    model = build(OnlyRenamed, "independent", 1, 3)
    assert select(model, "auto").form == "affine"


class WrongShape(ScaledAdd):
    def affine_maps(self) -> AffineMaps:
        return AffineMaps(above=self.w.T)  # (hidden, input_size): transposed


def test_a_malformed_declaration_is_refused_with_its_reason() -> None:
    model = build(WrongShape, "independent", 1, 3)
    choice = select(model, "auto")
    assert choice.name == "reference" and model.impl is REFERENCE
    assert ("WrongShape declares affine_maps().above of shape (6, 5), expected (5, 6)"
            in choice.reason)
    assert choice.notice == f"fast path unavailable ({choice.reason}); using the reference loop"
    with pytest.raises(ScanError, match=r"train.fast_path: 'wavefront' cannot run .*WrongShape"):
        select(model, "wavefront", key="train.fast_path")


def test_an_unknown_mode_is_refused_naming_the_known_ones() -> None:
    model = build("linear_add", "independent", 1, 1)
    with pytest.raises(PixelzooError) as err:
        select(model, "fastest", key="train.fast_path")
    assert str(err.value) == ("train.fast_path: unknown scan mode 'fastest'; known modes: auto, "
                              "reference, wavefront")
    assert model.impl is REFERENCE  # nothing was set


@pytest.mark.parametrize("name", ["wavefrnt", "wavefront", "reference", None])
def test_a_scan_name_cannot_be_assigned_so_a_typo_cannot_run_the_reference(name: object) -> None:
    model = build("linear_add", "independent", 1, 1)
    select(model, "wavefront")
    with pytest.raises(ScanError, match="select"):
        model.impl = name
    assert model.impl.name == "wavefront"  # untouched
    assert copy.deepcopy(model).impl is model.impl  # a copy (an EMA, say) keeps the scan


def test_reference_mode_and_models_without_a_scan() -> None:
    model = build("linear_add", "independent", 1, 3)
    select(model, "wavefront")
    choice = select(model, "reference")
    assert (choice.name, choice.notice) == ("reference", "") and model.impl is REFERENCE
    plain = nn.Linear(2, 2)  # not a RowRNN: left alone, no notice
    assert select(plain, "auto") == select(plain, "reference")
    assert select(plain, "auto").notice == "" and "Linear has no row scan" in select(plain).reason
    with pytest.raises(ScanError, match="Linear has no row scan"):
        select(plain, "wavefront")


def test_the_recipe_key_offers_exactly_the_modes() -> None:
    from pixelzoo.schema import TrainConfig

    assert typing.get_args(TrainConfig.model_fields["fast_path"].annotation) == MODES
