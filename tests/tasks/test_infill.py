"""The infill task: losses, fixed evaluation sets, decodings, and no teacher forcing at eval."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pixelzoo.errors import PixelzooError
from pixelzoo.models.sampling import sample_holes_slow
from pixelzoo.tasks.infill import (
    InfillConfig,
    InfillTask,
    fingerprint,
    holed_tokens,
    refine_fill,
)
from pixelzoo.tokens import HOLE

from infill_helpers import make_task, tiny_data, tiny_model


def batch(n: int = 4, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    data = tiny_data(n, seed=seed)
    images = torch.from_numpy(data.train.images)
    masks = torch.zeros(images.shape, dtype=torch.bool)
    masks[:, :, 2:5, 3:7] = True
    masks[0, 0, 6, 1] = True  # a channel-level hole: red only
    return images, masks


# ------------------------------------------------------------------------------ losses
@pytest.mark.parametrize("decoder", ["independent", "conditional"])
def test_hole_loss_fast_path_equals_slicing_the_full_logits(decoder: str) -> None:
    model = tiny_model(decoder=decoder)
    images, masks = batch()
    tokens = holed_tokens(images, masks)
    target = images.long()
    logits = model(tokens, teacher=target)
    expected = F.cross_entropy(logits[masks], target[masks])
    got = InfillTask._hole_loss_gathered(model, tokens, target, masks)
    assert got.item() == pytest.approx(expected.item(), rel=1e-5)
    g_fast = torch.autograd.grad(got, list(model.parameters()), allow_unused=True)
    g_full = torch.autograd.grad(expected, list(model.parameters()), allow_unused=True)
    for a, b in zip(g_fast, g_full, strict=True):
        if a is None or b is None:
            assert a is None and b is None
        else:
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_training_loss_holes_and_all_differ_and_use_the_mask_generator() -> None:
    images, _ = batch()
    holes_task = make_task(loss="holes")
    all_task = make_task(loss="all")
    model = tiny_model()
    rng = lambda: np.random.default_rng(5)  # noqa: E731 - same holes for both
    lh, _ = holes_task.training_loss(model, images, None, rng())
    la, _ = all_task.training_loss(model, images, None, rng())
    masks = torch.from_numpy(holes_task.mask(len(images), rng()))
    tokens = holed_tokens(images, masks)
    logits = model(tokens, teacher=images.long())
    assert lh.item() == pytest.approx(F.cross_entropy(logits[masks], images.long()[masks]).item(),
                                      rel=1e-5)
    assert la.item() == pytest.approx(
        F.cross_entropy(logits.reshape(-1, logits.shape[-1]), images.long().reshape(-1)).item(),
        rel=1e-5)
    assert lh.item() != pytest.approx(la.item())
    lh.backward()  # a real graph reaches the parameters
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_missing_training_mask_is_a_clear_error() -> None:
    task = make_task()
    task.mask = None
    images, _ = batch()
    with pytest.raises(PixelzooError, match="mask"):
        task.training_loss(tiny_model(), images, None, np.random.default_rng(0))


def test_unknown_decoding_is_a_clear_error() -> None:
    from pixelzoo.recipe import build_part

    data = tiny_data()
    settings = {"masks": [{"type": "center"}], "decodings": ["greedy", "meen"]}
    with pytest.raises(PixelzooError, match="did you mean 'mean'"):
        build_part("tasks", {"type": "infill", "eval": settings}, data=data, mask=None)


# ------------------------------------------------------------------------------ eval sets
def test_eval_sets_are_fixed_by_the_eval_seed_and_named_by_type() -> None:
    masks = [{"type": "center"}, {"type": "boxes"}, {"type": "boxes", "count": [3, 3]},
             {"type": "seed_blocks"}]
    a, b = make_task(masks=masks), make_task(masks=masks)
    sa, sb = a.eval_sets("val"), b.eval_sets("val")
    assert list(sa) == ["center", "boxes", "boxes_2", "seed_blocks"]
    for name in sa:
        assert (sa[name][1] == sb[name][1]).all()
        assert (sa[name][0] == a.data.val.images).all()
    assert not (sa["boxes"][1] == sa["boxes_2"][1]).all()
    # the curriculum is evaluated at its final level: at least 60% of the pixels have a hole
    # (on 8x8 images one 6x6 block may overshoot the count a lot), against 10 pixels at epoch 0
    frac = sa["seed_blocks"][1].any(1).mean(axis=(1, 2))
    assert (frac >= 0.59).all()
    # the first k images get the same holes whatever the number of images
    few = a._set_masks("boxes", 2)
    assert (few == sa["boxes"][1][:2]).all()


def test_other_eval_seed_other_holes_and_fingerprints() -> None:
    a = make_task(masks=[{"type": "boxes"}])
    b = make_task(masks=[{"type": "boxes"}])
    b.eval_config = b.eval_config.model_copy(update={"seed": 99})
    b._mask_cache.clear()
    (ia, ma), (ib, mb) = a.eval_sets("val")["boxes"], b.eval_sets("val")["boxes"]
    assert not (ma == mb).all()
    assert fingerprint(ia, ma) != fingerprint(ib, mb)
    assert fingerprint(ia, ma) == fingerprint(ia.copy(), ma.copy())


def test_default_metric_follows_the_eval_sets() -> None:
    assert make_task(masks=[{"type": "center"}]).primary_metric == "center/psnr"
    assert InfillTask.primary_metric_for(InfillConfig()) == "demo_hole/psnr"


# ------------------------------------------------------------------------------ decoding
@pytest.mark.parametrize("decoder", ["independent", "conditional"])
@pytest.mark.parametrize("directions", [1, 4])
def test_no_teacher_forcing_at_evaluation(decoder: str, directions: int) -> None:
    """Changing the truth under the holes changes no prediction, only the scores."""
    task = make_task()
    model = tiny_model(directions=directions, decoder=decoder)
    images, masks = (x.numpy() for x in batch())
    other = images.copy()
    other[masks] = 255 - other[masks]
    for decoding in ("greedy", "mean", "fused", "sample", "schedule"):
        a = task.fill(model, images, masks, "cpu", decoding,
                      generator=torch.Generator().manual_seed(3))
        b = task.fill(model, other, masks, "cpu", decoding,
                      generator=torch.Generator().manual_seed(3))
        assert (a[masks] == b[masks]).all(), decoding
        assert (a[~masks] == images[~masks]).all()  # known sub-pixels are kept
    pa = task._one_pass(model, images, masks, torch.device("cpu"), 4)
    pb = task._one_pass(model, other, masks, torch.device("cpu"), 4)
    assert (pa["greedy"][masks] == pb["greedy"][masks]).all()
    assert (pa["mean"][masks] == pb["mean"][masks]).all()
    assert not np.allclose(pa["true_logp"][masks], pb["true_logp"][masks])  # scored vs truth


@pytest.mark.parametrize("directions", [1, 4])
@pytest.mark.parametrize("decoder", ["independent", "conditional", "logistic_mixture",
                                     "conditional_logistic_mixture"])
def test_greedy_and_mean_come_from_the_decoder_distribution(decoder: str, directions: int
                                                           ) -> None:
    """The one pass decodes hole pixels only; that equals slicing the full decode, for every
    decoder form, with channel-level holes and an image that has no hole at all."""
    task = make_task()
    model = tiny_model(directions=directions, decoder=decoder)
    images, masks = batch(5)
    masks[4] = False  # no hole in the last image: it comes back as it was
    out = task._one_pass(model, images.numpy(), masks.numpy(), torch.device("cpu"), 2)
    filled, logits = model.decode(holed_tokens(images, masks))
    probs = torch.softmax(logits[..., :256].float(), -1)
    expect = (probs * torch.arange(256.0)).sum(-1).round()
    assert (torch.from_numpy(out["greedy"])[masks] == filled[masks]).all()
    assert (torch.from_numpy(out["mean"])[masks].float() == expect[masks]).all()
    for key in ("greedy", "mean"):
        assert (out[key][~masks.numpy()] == images.numpy()[~masks.numpy()]).all()
    logp = torch.log(probs.gather(-1, images.long()[..., None])[..., 0])
    torch.testing.assert_close(torch.from_numpy(out["true_logp"])[masks], logp[masks],
                               rtol=1e-4, atol=1e-4)
    assert np.isnan(out["true_logp"][~masks.numpy()]).all()  # scored at the holes only


def test_fused_is_the_mean_of_the_model_times_a_gaussian_around_the_classic_fill() -> None:
    """By brute force over 0..255 at every hole sub-pixel; a tiny sigma gives the classic fill
    itself."""
    from pixelzoo.baselines import inpaint

    model = tiny_model(decoder="conditional")
    images, masks = (x.numpy() for x in batch())
    task = make_task(fused={"prior": "telea", "sigma": 10.0})
    got = task.fill(model, images, masks, "cpu", "fused")
    _, logits = model.decode(holed_tokens(torch.from_numpy(images), torch.from_numpy(masks)))
    p = torch.softmax(logits[..., :256].detach().double(), -1).numpy()
    prior = inpaint(np.where(masks, 0, images), masks, "telea").astype(np.float64)
    v = np.arange(256.0)
    q = p * np.exp(-0.5 * ((v - prior[..., None]) / 10.0) ** 2)
    want = np.rint((q * v).sum(-1) / q.sum(-1))
    assert np.abs(got[masks].astype(float) - want[masks]).max() <= 1  # rounding at .5 only
    assert (got[~masks] == images[~masks]).all()
    sharp = make_task(fused={"prior": "telea", "sigma": 0.05}).fill(model, images, masks, "cpu",
                                                                    "fused")
    assert np.abs(sharp[masks].astype(int) - prior[masks]).max() <= 1


def test_a_model_with_its_own_decode_is_decoded_whole() -> None:
    """A subclass's own decode() rule is respected (no hole-only shortcut around it)."""
    base = tiny_model()

    class Shifted(type(base)):
        def decode(self, tokens, pick=None):  # type: ignore[no-untyped-def]
            filled, logits = super().decode(tokens, pick)
            return (filled + 1).clamp(max=255), logits

    model = Shifted(base.config, channels=3, height=8, width=8).eval()
    model.load_state_dict(base.state_dict())
    images, masks = batch()
    out = make_task()._one_pass(model, images.numpy(), masks.numpy(), torch.device("cpu"), 4)
    want = model.decode(holed_tokens(images, masks))[0]
    assert (torch.from_numpy(out["greedy"])[masks] == want[masks]).all()


def test_one_direction_sampling_is_the_scan_order_sampler() -> None:
    task = make_task(temperature=0.7)
    model = tiny_model(directions=1)
    images, masks = batch()
    got = task.fill(model, images.numpy(), masks.numpy(), "cpu", "sample",
                    generator=torch.Generator().manual_seed(11))
    want = sample_holes_slow(model, holed_tokens(images, masks), 0.7,
                             torch.Generator().manual_seed(11))
    assert (torch.from_numpy(got) == want.to(torch.uint8)).all()


def test_refinement_fills_every_hole_and_one_greedy_chunk_is_greedy() -> None:
    model = tiny_model(directions=4)
    images, masks = batch()
    tokens = holed_tokens(images, masks)
    for chunks in (1, 3, 64):
        out = refine_fill(model, tokens, 1.0, torch.Generator().manual_seed(0), chunks)
        assert not (out == HOLE).any() and out.max() < 256
        assert (out[~masks] == images.long()[~masks]).all()
    greedy = refine_fill(model, tokens, lambda k: 0.0, None, 1)
    filled, _ = model.decode(tokens)
    assert (greedy == filled).all()


def test_refinement_conditions_later_chunks_on_earlier_ones() -> None:
    """With two chunks, chunk 2 is predicted from a grid where chunk 1 is filled."""
    model = tiny_model(directions=4)
    images, masks = batch()
    tokens = holed_tokens(images, masks)
    zero = lambda k: 0.0  # noqa: E731 - greedy everywhere: differences come from conditioning
    one_pass = refine_fill(model, tokens, zero, None, 1)
    two_pass = refine_fill(model, tokens, zero, None, 2)
    holes = masks.any(1).reshape(len(images), -1)
    first = (holes.long().cumsum(1) - 1) * 2 // holes.sum(1, keepdim=True) == 0
    first = (first & holes).reshape(len(images), 1, 8, 8).expand_as(masks)
    assert (one_pass[first & masks] == two_pass[first & masks]).all()
    assert not (one_pass[~first & masks] == two_pass[~first & masks]).all()


# ------------------------------------------------------------------------------ evaluate, report
def test_evaluate_and_report(tmp_path) -> None:
    task = make_task(masks=[{"type": "center"}, {"type": "seed_blocks"}])
    model = tiny_model(directions=4)
    metrics = task.evaluate(model, task.data.val, torch.device("cpu"), 4)
    for name in ("center", "seed_blocks"):
        for k in ("psnr", "ssim", "l1", "accuracy", "nll_bits"):
            assert np.isfinite(metrics[f"{name}/{k}"])
        assert f"{name}/mean/psnr" in metrics and f"{name}/mean/nll_bits" not in metrics
    assert task.metric_mode("center/psnr") == "max" and task.metric_mode("center/l1") == "min"
    out = task.report(model, task.data.test, torch.device("cpu"), tmp_path)
    assert out["table_printed"] is True and out["loss"] == "holes"
    assert set(out["eval_fingerprint"]) == {"center", "seed_blocks"}
    methods = {(r["mask_set"], r["method"]) for r in out["infill_table"]}
    for name in ("center", "seed_blocks"):
        assert {(name, "model (greedy)"), (name, "model (mean)"), (name, "TELEA"),
                (name, "NS")} <= methods
        png = tmp_path / "samples" / f"{name}.png"
        assert png.is_file()
        import cv2

        pic = cv2.imread(str(png))
        assert pic.shape[1] > 7 * 8 * task.config.upscale  # seven labelled columns
    # the test split's table matches a fresh evaluation of the same weights
    fresh = make_task(masks=[{"type": "center"}, {"type": "seed_blocks"}])
    again = fresh.evaluate(model, fresh.data.test, torch.device("cpu"), 4)
    row = next(r for r in out["infill_table"]
               if r["mask_set"] == "center" and r["method"] == "model (greedy)")
    assert row["psnr"] == pytest.approx(again["center/psnr"])
