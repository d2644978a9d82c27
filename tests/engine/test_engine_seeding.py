"""Reproducibility: the recipe's seed fixes everything, per rank and per worker."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from engine_helpers import assert_same_weights, run_once, weights

from pixelzoo.engine.seeding import (loader_generator, rank_seed, restore_determinism,
                                     seed_everything, seed_worker, set_deterministic)


def test_rank_seeds_are_the_recipe_seed_on_rank_0_and_distinct_elsewhere():
    assert rank_seed(7, 0) == 7
    seeds = {rank_seed(7, r) for r in range(64)}
    assert len(seeds) == 64
    assert rank_seed(7, 1) == rank_seed(7, 1) != rank_seed(8, 1)
    # no collision between (seed, rank) pairs that a `seed + k * rank` scheme would have
    assert rank_seed(0, 1) != rank_seed(1000, 0)


def _draws() -> tuple[float, float, float]:
    return random.random(), float(np.random.rand()), float(torch.rand(()))


def test_seed_everything_fixes_python_numpy_and_torch():
    seed_everything(11, 0)
    a = _draws()
    seed_everything(11, 0)
    assert _draws() == a
    seed_everything(11, 1)
    assert _draws() != a


class _Noise(torch.utils.data.Dataset):
    def __len__(self) -> int:
        return 4

    def __getitem__(self, i: int):
        info = torch.utils.data.get_worker_info()
        return torch.tensor([info.id if info else -1, np.random.randint(1 << 30),
                             random.randrange(1 << 30)])


def _loader_draws(seed: int) -> list[list[int]]:
    loader = torch.utils.data.DataLoader(_Noise(), batch_size=1, num_workers=2,
                                         worker_init_fn=seed_worker,
                                         generator=loader_generator(seed, 0))
    return [b[0].tolist() for b in loader]


def test_workers_get_distinct_reproducible_seeds():
    first = _loader_draws(5)
    assert _loader_draws(5) == first
    by_worker = {}
    for worker, np_draw, py_draw in first:
        by_worker.setdefault(worker, set()).add((np_draw, py_draw))
    assert len(by_worker) == 2
    assert by_worker[0].isdisjoint(by_worker[1]), "two workers must not share a stream"
    assert _loader_draws(6) != first


def test_set_deterministic_switches_torch_and_restores():
    before = torch.are_deterministic_algorithms_enabled()
    old = set_deterministic(True)
    try:
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
    finally:
        restore_determinism(old)
    assert torch.are_deterministic_algorithms_enabled() == before


def test_a_deterministic_run_repeats_and_the_seed_matters(tiny_recipe, tmp_path):
    quick = ["train.epochs=1", "train.steps_per_epoch=3", "deterministic=true"]
    a = run_once(tiny_recipe, tmp_path / "a", *quick)
    assert not torch.are_deterministic_algorithms_enabled(), "flags restored after the run"
    b = run_once(tiny_recipe, tmp_path / "b", *quick)
    assert_same_weights(weights(a.run_dir), weights(b.run_dir))
    assert a.summary["deterministic"] is True and a.summary["seed"] == 3
    c = run_once(tiny_recipe, tmp_path / "c", *quick, "seed=4")
    with pytest.raises(AssertionError):
        assert_same_weights(weights(a.run_dir), weights(c.run_dir))
