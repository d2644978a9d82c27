"""seed_blocks: the seed's curriculum, epoch by epoch, and its channel levels."""

from __future__ import annotations

import numpy as np
import pytest

from pixelzoo.masks.seed_blocks import SeedBlocksMask
from pixelzoo.tokens import pad_mask


def make(channels: int = 3, size: int = 36, **kw: object) -> SeedBlocksMask:
    return SeedBlocksMask(SeedBlocksMask.Config(**kw), channels=channels, height=size, width=size)


def hole_pixels(mask: np.ndarray) -> np.ndarray:
    """Pixels with any channel missing, per image."""
    return mask.any(axis=1).sum(axis=(1, 2))


def test_defaults_are_the_seeds() -> None:
    c = SeedBlocksMask.Config()
    assert (c.start, c.step, c.max_fraction, c.grow_every, c.max_block) == (10, 10, 0.6, 4, 6)
    assert c.levels == [0.5, 0.25, 0.25]


def test_curriculum_grows_per_epoch() -> None:
    gen = make()
    assert [gen.level(e) for e in (0, 1, 3, 4, 8, 20, 200)] == [
        (10, 1), (20, 1), (40, 1), (50, 2), (90, 3), (210, 6), (777, 6)]
    rng = np.random.default_rng(0)
    for epoch, pixels in ((0, 10), (1, 20), (2, 30)):
        gen.set_epoch(epoch)
        # 1x1 blocks fill the count exactly
        assert (hole_pixels(gen(8, rng)) == pixels).all()
    gen.set_epoch(5)  # 60 pixels of 2x2 blocks: may overshoot by less than one block
    counts = hole_pixels(gen(8, rng))
    assert ((counts >= 60) & (counts < 64)).all()


def test_blocks_have_the_epochs_side() -> None:
    gen = make(levels=[1.0])
    gen.set_epoch(8)  # 3x3 blocks
    holes = gen(6, np.random.default_rng(1))[:, 0]
    for hole in holes:
        # every hole pixel lies in some 3x3 square that is entirely hole
        full = np.zeros_like(hole)
        for t in range(34):
            for l in range(34):
                if hole[t:t + 3, l:l + 3].all():
                    full[t:t + 3, l:l + 3] = True
        assert (full == hole).all()


def test_capped_at_max_fraction_and_final_level() -> None:
    gen = make()
    assert gen.final_epoch == 77
    gen.final_level()
    assert gen.level() == (777, 6)
    counts = hole_pixels(gen(4, np.random.default_rng(2)))
    assert ((counts >= 777) & (counts < 777 + 36)).all()
    small = make(size=8)  # blocks never outgrow a small image
    small.set_epoch(100)
    assert small.level() == (38, 6)
    assert small(2, np.random.default_rng(0)).shape == (2, 3, 8, 8)


@pytest.mark.parametrize("levels, expect", [
    ([0, 0, 1], (False, False, True)),   # B only
    ([0, 1, 0], (False, True, True)),    # G and B
    ([1, 0, 0], (True, True, True)),     # RGB
])
def test_levels_decide_the_channels(levels: list[float], expect: tuple[bool, ...]) -> None:
    gen = make(levels=levels)
    gen.set_epoch(20)
    mask = gen(16, np.random.default_rng(3))
    assert tuple(bool(mask[:, c].any()) for c in range(3)) == expect
    if expect[0] is False and expect[1] is False:
        assert not mask[:, :2].any()  # B-only holes never touch R or G


def test_default_levels_mix_nested_channel_holes() -> None:
    gen = make()
    gen.set_epoch(20)
    mask = gen(64, np.random.default_rng(4))
    r, g, b = mask[:, 0], mask[:, 1], mask[:, 2]
    assert (r <= g).all() and (g <= b).all()  # RGB, GB and B blocks nest
    frac_r = r.sum() / b.sum()
    assert 0.35 < frac_r < 0.65  # about half the blocks take all three channels
    assert (g & ~r).any() and (b & ~g).any()


def test_single_channel_images_lose_their_channel() -> None:
    gen = make(channels=1, size=28, levels=[0, 0, 1])
    mask = gen(4, np.random.default_rng(5))
    assert mask.shape == (4, 1, 28, 28) and (hole_pixels(mask) == 10).all()


def test_deterministic_and_start_tokens_untouched() -> None:
    gen = make()
    gen.set_epoch(12)
    a = gen(5, np.random.default_rng(7))
    b = gen(5, np.random.default_rng(7))
    assert a.dtype == bool and (a == b).all()
    assert not (a == gen(5, np.random.default_rng(8))).all()
    padded = pad_mask(a)
    assert padded.shape == (5, 3, 37, 37)
    assert not padded[..., 0, :].any() and not padded[..., :, 0].any()
    assert (padded[..., 1:, 1:] == a).all()


def test_config_validation() -> None:
    with pytest.raises(ValueError):
        SeedBlocksMask.Config(levels=[-1, 1, 1])
    with pytest.raises(ValueError):
        SeedBlocksMask.Config(max_fraction=1.5)
    with pytest.raises(ValueError, match="extra"):
        SeedBlocksMask.Config(block=3)
    assert SeedBlocksMask.Config(levels=[2, 1, 1]).levels == [0.5, 0.25, 0.25]
