"""pixelzoo's conformance kit on this package's parts: the checks the core applies to built-ins.

`pixelzoo.testing` checks the interface, Config validation, shapes, gradient flow, causality,
determinism and building from a recipe. The last test makes sure the kit really looks: a copy of
row_conv that wrongly claims to be pointwise must fail it.
"""

from __future__ import annotations

import pytest

from pixelzoo.testing import check_combiner, check_mask
from pixelzoo_rowconv.combiner import RowConvCombiner


@pytest.mark.parametrize("params", [{}, {"k": 1}, {"k": 5, "bias": False}])
def test_row_conv_passes_the_kit(params: dict) -> None:
    check_combiner("row_conv", params)


def test_the_kit_accepts_the_class_itself() -> None:
    check_combiner(RowConvCombiner, {"k": 3})


@pytest.mark.parametrize("params", [{}, {"width": 2, "scribbles": [2, 4], "turn": 0.0}])
def test_rowconv_scribble_passes_the_kit(params: dict) -> None:
    check_mask("rowconv_scribble", params)


def test_the_kit_catches_a_false_pointwise_claim() -> None:
    class Pretender(RowConvCombiner):
        pointwise = True  # wrong: the convolution mixes columns

    with pytest.raises(AssertionError, match="pointwise = True"):
        check_combiner(Pretender, {"k": 3})
