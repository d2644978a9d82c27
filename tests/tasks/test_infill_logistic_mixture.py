"""The logistic mixture decoders inside the infill task: the loss paths agree, a few training
steps lower a finite loss, and the `mean` decoding is the decoder's analytic expected value."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from infill_helpers import make_task, tiny_data, tiny_model
from pixelzoo.tasks.infill import InfillTask, holed_tokens

FORMS = ["logistic_mixture", "conditional_logistic_mixture"]


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    images = torch.from_numpy(tiny_data().train.images)
    masks = torch.zeros(images.shape, dtype=torch.bool)
    masks[:, :, 2:5, 3:7] = True
    masks[0, 0, 6, 1] = True  # red only
    return images, masks


@pytest.mark.parametrize("name", FORMS)
def test_hole_loss_fast_path_equals_slicing_the_full_logits(name: str) -> None:
    model = tiny_model(decoder=name)
    images, masks = batch()
    tokens = holed_tokens(images, masks)
    target = images.long()
    expected = F.cross_entropy(model(tokens, teacher=target)[masks], target[masks])
    got = InfillTask._hole_loss_gathered(model, tokens, target, masks)
    assert got.item() == pytest.approx(expected.item(), rel=1e-5)


@pytest.mark.parametrize("name", FORMS)
def test_hole_loss_takes_the_truths_log_prob_alone_with_the_same_gradients(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The gathered loss asks the decoder for log P(truth) (`log_prob`), never for the 258
    logits, and trains exactly as the cross-entropy over the full logits would."""
    model = tiny_model(decoder=name).train()
    images, masks = batch()
    tokens = holed_tokens(images, masks)
    target = images.long()
    F.cross_entropy(model(tokens, teacher=target)[masks], target[masks]).backward()
    want = {k: p.grad.clone() for k, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()

    def no_logits(*args: object, **kwargs: object) -> None:
        raise AssertionError("the gathered hole loss formed the full logits")

    monkeypatch.setattr(model.decoder, "forward", no_logits)
    InfillTask._hole_loss_gathered(model, tokens, target, masks).backward()
    got = {k: p.grad for k, p in model.named_parameters() if p.grad is not None}
    assert set(got) == set(want)
    for k in want:
        torch.testing.assert_close(got[k], want[k], rtol=1e-4, atol=1e-6, msg=k)


def test_categorical_decoders_keep_the_logits_path() -> None:
    model = tiny_model(decoder="conditional")
    assert not hasattr(model.decoder, "log_prob")
    images, masks = batch()
    tokens = holed_tokens(images, masks)
    target = images.long()
    expected = F.cross_entropy(model(tokens, teacher=target)[masks], target[masks])
    got = InfillTask._hole_loss_gathered(model, tokens, target, masks)
    assert got.item() == pytest.approx(expected.item(), rel=1e-5)


@pytest.mark.parametrize("name", FORMS)
def test_a_few_training_steps_lower_a_finite_loss(name: str) -> None:
    task = make_task()
    model = tiny_model(decoder=name).train()
    images = torch.from_numpy(tiny_data().train.images)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)

    def loss() -> torch.Tensor:  # the same holes every step, so the losses are comparable
        return task.training_loss(model, images, None, np.random.default_rng(0))[0]

    losses = []
    for _ in range(15):
        opt.zero_grad()
        value = loss()
        value.backward()
        opt.step()
        losses.append(value.item())
    assert all(np.isfinite(losses))
    assert losses[-1] < losses[0] - 0.2, losses


@pytest.mark.parametrize("name", FORMS)
def test_mean_decoding_is_the_analytic_expected_value(name: str) -> None:
    task = make_task()
    model = tiny_model(decoder=name)
    images, masks = batch()
    out = task.fill(model, images.numpy(), masks.numpy(), "cpu", "mean")
    with torch.no_grad():
        tokens = holed_tokens(images, masks)
        mean = model.decoder.expected_value(model.features(tokens), tokens[:, :, 1:, 1:])
    want = torch.where(masks, mean.round().clamp(0, 255).to(torch.uint8), images)
    # float32 rounding can put an expectation within 1e-4 of .5 on the other side
    assert (torch.from_numpy(out).int() - want.int()).abs().max() <= 1
    assert (torch.from_numpy(out) == want).float().mean() > 0.99
