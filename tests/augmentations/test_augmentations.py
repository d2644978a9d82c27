"""Augmentations: registered, seeded, deterministic; each changes what it should and no more."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from pixelzoo.augmentations import apply_augmentations, build_augmentations
from pixelzoo.augmentations.channel_permute import permute_channels
from pixelzoo.augmentations.flip import flip
from pixelzoo.augmentations.hue import rotate_hue
from pixelzoo.augmentations.scale_shift import scale_shift
from pixelzoo.errors import PixelzooError, RecipeError
from pixelzoo.recipe import build_part, recipe_from_dict
from pixelzoo.registry import AUGMENTATIONS, REGISTRIES
from pixelzoo.tokens import START, add_start_tokens

NAMES = ["hue", "color_jitter", "channel_permute", "flip", "scale_shift"]


def batch(n: int = 8, seed: int = 0) -> np.ndarray:
    """Colourful random images with a grey border, a white and a black patch."""
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (n, 3, 12, 12), dtype=np.uint8)
    img[:, :, 0, :] = rng.integers(0, 256, (n, 1, 12), dtype=np.uint8)  # grey top row
    img[:, :, 2:4, 2:4] = 255
    img[:, :, 6:8, 6:8] = 0
    return img


def build(name: str, **params: object):
    return build_part("augmentations", {"type": name, **params}, channels=3)


def test_registered_kind_with_every_builtin() -> None:
    assert REGISTRIES["augmentations"] is AUGMENTATIONS
    assert set(NAMES) <= set(AUGMENTATIONS.names())
    assert all(i.entry_point is not None for i in AUGMENTATIONS.infos() if i.name in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_seeded_and_deterministic(name: str) -> None:
    aug, x = build(name), batch()  # each at its default p (flip mirrors half the images)
    before = x.copy()
    a = aug(x, np.random.default_rng(3))
    b = aug(x, np.random.default_rng(3))
    c = aug(x, np.random.default_rng(4))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.array_equal(x, before)  # the input batch is never written to
    assert a.dtype == np.uint8 and a.shape == x.shape


@pytest.mark.parametrize("name", NAMES)
def test_p_zero_changes_nothing_and_p_picks_images(name: str) -> None:
    x = batch(64)
    assert np.array_equal(build(name, p=0.0)(x, np.random.default_rng(0)), x)
    half = build(name, p=0.5)(x, np.random.default_rng(0))
    changed = (half != x).reshape(len(x), -1).any(axis=1).sum()
    assert 10 < changed < 54  # about half the images, not none and not all


def test_hue_keeps_greys_range_and_each_pixels_max_and_min() -> None:
    x = batch()
    y = build("hue")(x, np.random.default_rng(0))
    assert y.shape == x.shape and y.dtype == np.uint8
    grey = (x[:, 0] == x[:, 1]) & (x[:, 1] == x[:, 2])
    assert grey.sum() > 100
    assert np.array_equal(np.moveaxis(y, 1, -1)[grey], np.moveaxis(x, 1, -1)[grey])
    assert np.array_equal(y.max(axis=1), x.max(axis=1))
    assert np.array_equal(y.min(axis=1), x.min(axis=1))
    assert (y != x).any()


def test_hue_rotation_exact_cases() -> None:
    x = batch()
    assert np.array_equal(rotate_hue(x, 0), x)
    assert np.abs(rotate_hue(x, 360).astype(int) - x).max() == 0
    # A third of the wheel carries red to green, green to blue, blue to red.
    assert np.array_equal(rotate_hue(x, 120), x[:, [2, 0, 1]])
    pure_red = np.zeros((1, 3, 1, 1), np.uint8)
    pure_red[0, 0] = 200
    assert rotate_hue(pure_red, 60)[0, :, 0, 0].tolist() == [200, 200, 0]  # yellow


def test_hue_masks_and_tokens_intact_through_a_training_step() -> None:
    """Augmenting a batch neither moves the step's holes nor leaves the token range."""
    augs = build_augmentations(["hue", "channel_permute", "flip", "scale_shift",
                                "color_jitter"], channels=3)
    holes = build_part("masks", {"type": "boxes"}, channels=3, height=12, width=12)
    x = batch()
    step = np.random.default_rng([0, 2, 5, 0])  # as the engine derives it: seed, epoch, step, rank
    y = apply_augmentations(augs, x, step)
    masks_after = holes(len(x), step)
    masks_plain = holes(len(x), np.random.default_rng([0, 2, 5, 0]))
    assert np.array_equal(masks_after, masks_plain)
    tokens = add_start_tokens(y)
    assert (tokens[:, :, 0, :] == START).all() and (tokens[:, :, :, 0] == START).all()
    assert tokens[:, :, 1:, 1:].max() <= 255 and tokens.min() >= 0
    # The same step repeats exactly (a resumed run augments as the first run did).
    assert np.array_equal(apply_augmentations(augs, x, np.random.default_rng([0, 2, 5, 0])), y)


def test_no_augmentations_is_the_identity() -> None:
    x = batch()
    assert apply_augmentations([], x, np.random.default_rng(0)) is x


def test_flip_is_an_involution_and_mirrors() -> None:
    x = batch()
    assert np.array_equal(flip(flip(x)), x)
    assert np.array_equal(flip(x)[..., 0], x[..., -1])
    assert np.array_equal(flip(x, "vertical")[:, :, 0], x[:, :, -1])
    y = build("flip", p=1.0)(x, np.random.default_rng(0))
    assert np.array_equal(y, x[..., ::-1])
    assert Counter(y.ravel().tolist()) == Counter(x.ravel().tolist())


def test_channel_permute_keeps_the_multiset_of_planes() -> None:
    x = batch(32)
    y = build("channel_permute")(x, np.random.default_rng(0))
    for i in range(len(x)):
        planes_in = sorted(p.tobytes() for p in x[i])
        planes_out = sorted(p.tobytes() for p in y[i])
        assert planes_in == planes_out
    orders = {tuple(int(np.flatnonzero([(y[i, c] == x[i, k]).all() for k in range(3)])[0])
                    for c in range(3)) for i in range(len(x))}
    assert len(orders) >= 4  # several of the 6 orders occur
    with pytest.raises(ValueError):
        permute_channels(x[:1], np.array([[0, 0, 1]]))


def test_color_jitter_keeps_shape_and_off_is_identity() -> None:
    x = batch()
    off = build("color_jitter", brightness=0, contrast=0, saturation=0, channel_gain=0)
    assert np.array_equal(off(x, np.random.default_rng(0)), x)
    # Saturation alone never colours a grey pixel.
    sat = build("color_jitter", brightness=0, contrast=0, channel_gain=0, saturation=1.0)
    y = sat(x, np.random.default_rng(0))
    grey = (x[:, 0] == x[:, 1]) & (x[:, 1] == x[:, 2])
    yg = np.moveaxis(y, 1, -1)[grey]
    assert (yg.max(axis=1) - yg.min(axis=1) <= 1).all()
    assert (y != x).any()


def test_scale_shift_identity_and_exact_integer_shift() -> None:
    x = batch()
    n = len(x)
    assert np.array_equal(scale_shift(x, np.ones(n), np.zeros((n, 2))), x)
    moved = scale_shift(x, np.ones(n), np.tile([[2.0, -1.0]], (n, 1)))
    assert np.array_equal(moved[:, :, :-1, 2:], x[:, :, 1:, :-2])
    # The uncovered border repeats the edge by default ...
    assert np.array_equal(moved[:, :, :-1, 0], x[:, :, 1:, 0])
    # ... or takes a constant.
    white = scale_shift(x, np.full(n, 0.5), np.zeros((n, 2)), border="constant", fill=255)
    assert (white[:, :, 0, :] == 255).all()
    y = build("scale_shift", scale=0.0, shift=0.0)(x, np.random.default_rng(0))
    assert np.array_equal(y, x)


def test_rgb_only_augmentations_refuse_grey_images() -> None:
    with pytest.raises(PixelzooError, match=r"augment\[0\] \(hue\): needs .*3 channels"):
        build_augmentations(["hue"], channels=1)
    grey = batch()[:, :1]
    for name in ("flip", "channel_permute", "scale_shift", "color_jitter"):
        out = build_part("augmentations", {"type": name, "p": 1.0}, channels=1)(
            grey, np.random.default_rng(0))
        assert out.shape == grey.shape


def test_recipe_key_validates_with_did_you_mean() -> None:
    base = {"dataset": {"type": "digits"}, "model": {"type": "rowrnn"},
            "task": {"type": "classification"}}
    assert recipe_from_dict(base).data["augment"] == []
    ok = recipe_from_dict({**base, "augment": ["flip"]})
    assert ok.data["augment"] == [{"type": "flip", "p": 0.5, "direction": "horizontal"}]
    assert build_augmentations(ok.data["augment"])[0].config.p == 0.5
    with pytest.raises(RecipeError, match=r"augment\[0\].type.*did you mean 'hue'"):
        recipe_from_dict({**base, "augment": ["hu"]})
    with pytest.raises(RecipeError, match=r"augment\[1\].degres.*did you mean 'degrees'"):
        recipe_from_dict({**base, "augment": ["flip", {"type": "hue", "degres": 9}]})
