"""The new zoo parts one by one: concat, gated (its equations, checked independently) and
conditional (teacher forcing, the single-channel case, its options)."""

from __future__ import annotations

import pytest
import torch
from pydantic import ValidationError

from pixelzoo.models.combiners.gated import GATES, GatedCombiner
from pixelzoo.recipe import build_part
from pixelzoo.tokens import VOCAB

IN, HID = 5, 4


def test_concat_appends_the_row_above() -> None:
    comb = build_part("combiners", "concat", input_size=IN, hidden=HID)
    assert comb.gru_input_size == IN + HID and not list(comb.parameters())
    x, a = torch.randn(2, 3, IN), torch.randn(2, 3, HID)
    assert torch.equal(comb.combine(x, a), torch.cat([x, a], -1))


def gated_by_the_equations(comb: GatedCombiner, x: torch.Tensor, left: torch.Tensor,
                           above: torch.Tensor) -> torch.Tensor:
    """The docstring's equations, written out gate by gate from the fused weights."""
    def block(linear: torch.nn.Linear, k: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        rows = slice(k * HID, (k + 1) * HID)
        bias = None if linear.bias is None else linear.bias[rows]
        return linear.weight[rows], bias

    def pre(k: int) -> torch.Tensor:  # W_k x + U_k l + V_k a + b_k
        wx, b = block(comb.x_proj, k)
        return x @ wx.T + b + left @ block(comb.left_proj, k)[0].T + \
            above @ block(comb.above_proj, k)[0].T

    r_l, r_a = torch.sigmoid(pre(0)), torch.sigmoid(pre(1))
    w_n, b_n = block(comb.x_proj, len(GATES))
    u_n, v_n = comb.cand_proj.weight[:, :HID], comb.cand_proj.weight[:, HID:]
    n = torch.tanh(x @ w_n.T + b_n + (r_l * left) @ u_n.T + (r_a * above) @ v_n.T)
    s = torch.stack([pre(2), pre(3), pre(4)])
    z = torch.exp(s) / torch.exp(s).sum(0)
    return z[0] * n + z[1] * left + z[2] * above


def test_gated_cell_follows_its_equations() -> None:
    torch.manual_seed(0)
    comb = build_part("combiners", "gated", input_size=IN, hidden=HID).double()
    x, left, above = (torch.randn(7, n, dtype=torch.float64) for n in (IN, HID, HID))
    torch.testing.assert_close(comb.cell(x, left, above),
                               gated_by_the_equations(comb, x, left, above))


def test_gated_update_can_copy_either_neighbour() -> None:
    torch.manual_seed(0)
    comb = build_part("combiners", "gated", input_size=IN, hidden=HID).double()
    x, left, above = (torch.randn(3, n, dtype=torch.float64) for n in (IN, HID, HID))
    with torch.no_grad():
        for k, neighbour in [(3, left), (4, above)]:  # update_left, update_above
            comb.x_proj.bias.zero_()
            comb.x_proj.bias[k * HID:(k + 1) * HID] = 50.0
            torch.testing.assert_close(comb.cell(x, left, above), neighbour)


def test_gated_is_a_cell_combiner_in_the_model() -> None:
    torch.manual_seed(0)
    one = build_part("models", {"type": "rowrnn", "embed": IN, "hidden": HID, "layers": 1,
                                "combiner": {"type": "gated"}}, channels=1, height=2, width=3)
    assert GatedCombiner.is_cell and one.stacks[0][0].gru is None  # the cell is layer one
    two = build_part("models", {"type": "rowrnn", "embed": IN, "hidden": HID, "layers": 3,
                                "combiner": {"type": "gated"}}, channels=1, height=2, width=3)
    assert two.stacks[0][0].gru.num_layers == 2 and two.stacks[0][0].gru.input_size == HID


def test_conditional_single_channel_is_one_head() -> None:
    dec = build_part("decoders", "conditional", features=6, channels=1)
    assert len(dec.heads) == 1 and len(dec.value_embeddings) == 0
    assert sum(p.numel() for p in dec.parameters()) == 6 * VOCAB + VOCAB
    h = torch.randn(2, 1, 3, 3, 6)
    torch.testing.assert_close(dec(h), dec.heads[0](h))  # no teacher needed with one channel
    torch.testing.assert_close(dec(h, torch.zeros(2, 1, 3, 3, dtype=torch.long)), dec(h))


def test_conditional_needs_teacher_and_earlier_values() -> None:
    dec = build_part("decoders", "conditional", features=6, channels=3)
    h = torch.randn(2, 3, 2, 2, 6)
    with pytest.raises(ValueError, match="teacher"):
        dec(h)
    with pytest.raises(ValueError, match="needs the values of the 2 channel"):
        dec.channel_logits(h[:, 2], 2, [torch.zeros(2, 2, 2, dtype=torch.long)])


def test_conditional_value_embedding_size_is_an_option() -> None:
    small = build_part("decoders", {"type": "conditional", "value_embed": 4}, features=6,
                       channels=3)
    assert small.value_embeddings[0].embedding_dim == 4
    assert small.heads[2].in_features == 6 + 2 * 4
    with pytest.raises(ValidationError):
        small.Config(value_embed=0)


def test_conditional_teacher_forcing_uses_the_given_values() -> None:
    torch.manual_seed(0)
    dec = build_part("decoders", "conditional", features=6, channels=3)
    h = torch.randn(1, 3, 1, 1, 6)
    teacher = torch.tensor([10, 20, 30]).view(1, 3, 1, 1)
    out = dec(h, teacher)
    red, green = torch.tensor([[[10]]]), torch.tensor([[[20]]])
    blue = dec.heads[2](torch.cat([h[:, 2], dec.value_embeddings[0](red),
                                   dec.value_embeddings[1](green)], -1))
    torch.testing.assert_close(out[:, 2], blue)
