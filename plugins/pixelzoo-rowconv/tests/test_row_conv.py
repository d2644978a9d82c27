"""row_conv's own behaviour: the triangular receptive field, causality, Config validation.

The receptive field is tested exactly: perturbing one pixel must change the states of precisely
the pixels the Row LSTM's geometry predicts, and no others. For a pixel (r, w) and kernel k those
are the rest of row r from w rightwards, and in each later row r + d the columns from
w - d * (k // 2) rightwards: the right-hand tap lets the change reach down-left by k // 2 columns
per row, while nothing at an earlier raster position ever moves.
"""

from __future__ import annotations

import pytest
import torch
from pydantic import ValidationError

from pixelzoo.recipe import build_part
from pixelzoo.registry import COMBINERS
from pixelzoo.tokens import add_start_tokens
from pixelzoo_rowconv.combiner import RowConvCombiner, RowConvConfig

H, W = 6, 9


def build_model(combiner: dict, channels: int = 1, directions: int = 1) -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_part("models", {"type": "rowrnn", "embed": 8, "hidden": 8, "layers": 2,
                                  "directions": directions, "combiner": combiner},
                       channels=channels, height=H, width=W)
    return model.double().eval()


def changed_after_perturbing(model: torch.nn.Module, channel: int, r: int, w: int
                             ) -> torch.Tensor:
    """(C, H, W) bool: which pixels' states move when pixel (channel, r, w) changes."""
    gen = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (1, model.channels, H, W), generator=gen)
    other = images.clone()
    other[0, channel, r, w] = (images[0, channel, r, w] + 128) % 256
    with torch.no_grad():
        a = model.features(add_start_tokens(images))
        b = model.features(add_start_tokens(other))
    return ((a - b).abs().amax(-1) > 0)[0]


def predicted_field(r: int, w: int, half: int) -> torch.Tensor:
    """(H, W) bool: the Row LSTM cone of pixel (r, w) for a kernel of half-width `half`."""
    rows = torch.arange(H).view(-1, 1)
    cols = torch.arange(W).view(1, -1)
    same_row = (rows == r) & (cols >= w)
    below = (rows > r) & (cols >= w - (rows - r) * half)
    return same_row | below


@pytest.mark.parametrize("k", [1, 3, 5])
@pytest.mark.parametrize("r, w", [(1, 5), (2, 8), (0, 0)])
def test_receptive_field_is_exactly_the_row_lstm_triangle(k: int, r: int, w: int) -> None:
    model = build_model({"type": "row_conv", "k": k})
    changed = changed_after_perturbing(model, 0, r, w)[0]
    expected = predicted_field(r, w, k // 2)
    assert torch.equal(changed, expected), f"k={k}\nchanged:\n{changed.int()}\n" \
                                           f"expected:\n{expected.int()}"


def test_earlier_raster_positions_never_move() -> None:
    model = build_model({"type": "row_conv", "k": 5})
    for r, w in [(0, 3), (2, 0), (3, 4), (H - 1, W - 1)]:
        changed = changed_after_perturbing(model, 0, r, w)[0]
        raster = torch.arange(H * W).view(H, W)
        assert not changed[raster < r * W + w].any(), (r, w)
        assert changed[r, w]  # a pixel's state reads the pixel itself


def test_right_tap_reaches_below_left_where_linear_add_cannot() -> None:
    r, w = 2, 4
    conv = changed_after_perturbing(build_model({"type": "row_conv", "k": 3}), 0, r, w)[0]
    plain = changed_after_perturbing(build_model({"type": "linear_add"}), 0, r, w)[0]
    assert conv[r + 1, w - 1] and conv[r + 2, w - 2]
    assert not conv[r + 1, w - 2]  # the triangle widens by one column per row for k = 3
    assert not plain[r + 1, w - 1]  # linear_add sees only the up-left quadrant
    assert torch.equal(plain, predicted_field(r, w, 0))


def test_channels_keep_their_order() -> None:
    """Colour adds the adapter c-1 -> c; a later channel never leaks into an earlier one."""
    model = build_model({"type": "row_conv"}, channels=3)
    changed = changed_after_perturbing(model, 1, 2, 4)
    assert not changed[0].any()
    cone = predicted_field(2, 4, 1)
    assert torch.equal(changed[1], cone)
    assert torch.equal(changed[2], cone)


def test_k1_is_linear_add() -> None:
    """With k = 1 the convolution is a per-column linear map: linear_add's computation."""
    torch.manual_seed(0)
    conv = RowConvCombiner(RowConvConfig(k=1), input_size=5, hidden=7)
    plain = build_part("combiners", {"type": "linear_add"}, input_size=5, hidden=7)
    with torch.no_grad():
        plain.proj.weight.copy_(conv.conv.weight[:, :, 0])
        plain.proj.bias.copy_(conv.conv.bias)
    x, h = torch.randn(2, 11, 5), torch.randn(2, 11, 7)
    torch.testing.assert_close(conv.combine(x, h), plain.combine(x, h))


def test_combine_accepts_any_leading_dims() -> None:
    torch.manual_seed(0)
    comb = RowConvCombiner(RowConvConfig(k=3), input_size=4, hidden=6)
    x, h = torch.randn(2, 3, 9, 4), torch.randn(2, 3, 9, 6)
    flat = comb.combine(x.reshape(6, 9, 4), h.reshape(6, 9, 6)).reshape(2, 3, 9, 4)
    torch.testing.assert_close(comb.combine(x, h), flat)
    torch.testing.assert_close(comb.combine(x[0, 0], h[0, 0]), flat[0, 0])


def test_four_directions_see_the_whole_image() -> None:
    model = build_model({"type": "row_conv"}, directions=4)
    assert changed_after_perturbing(model, 0, 2, 4)[0].all()


def test_registered_from_this_distribution() -> None:
    info = COMBINERS.info("row_conv")
    assert info.dist == "pixelzoo-rowconv"
    assert COMBINERS.get("row_conv") is RowConvCombiner
    assert RowConvCombiner.pointwise is False and RowConvCombiner.is_cell is False


@pytest.mark.parametrize("k", [3, 1, 7])
def test_config_accepts_odd_positive_k(k: int) -> None:
    assert RowConvConfig(k=k).k == k


@pytest.mark.parametrize("k, hint", [(2, "try 1 or 3"), (4, "try 3 or 5"), (0, "1, 3, 5"),
                                     (-3, "1, 3, 5")])
def test_config_refuses_even_or_non_positive_k(k: int, hint: str) -> None:
    with pytest.raises(ValidationError, match=r"k must be an odd kernel width >= 1") as err:
        RowConvConfig(k=k)
    assert hint in str(err.value) and f"input_value={k}" in str(err.value)


def test_config_refuses_unknown_keys_and_bad_types() -> None:
    with pytest.raises(ValidationError, match="extra"):
        RowConvConfig(kernel=3)
    with pytest.raises(ValidationError):
        RowConvConfig(k="wide")
