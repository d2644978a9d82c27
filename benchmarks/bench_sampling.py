"""Sampling the seed's 5x10 demo hole: one forward per pixel vs the incremental sampler (CPU).

The hole covers rows 15-19 and columns 15-24 of a 36x36 RGB image (150 sub-pixels, 50 pixels),
sampled at temperature 1.0 on the seed architecture (random weights: the cost does not depend on
them). Three ways, in one run:
  slow-reference  one forward per hole pixel through the reference loop: the seed's method
  slow-wavefront  one forward per hole pixel through the wavefront fast path
  incremental     `pixelzoo.models.incremental`: one pass over the image, O(H*W) cell steps
All three draw the same samples (checked here too). Run:

    python -m pytest benchmarks/bench_sampling.py --benchmark-only

The slow-reference case is ~50 forwards of the seed's loop: about a minute on 2 cores.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from seed_setup import RESULTS, seed_model, set_threads

from pixelzoo.models.incremental import sample_holes_incremental
from pixelzoo.models.sampling import sample_holes_slow
from pixelzoo.tokens import HOLE, add_start_tokens

CASES = {"slow-reference": ("reference", sample_holes_slow, 1),
         "slow-wavefront": ("wavefront", sample_holes_slow, 2),
         "incremental": ("reference", sample_holes_incremental, 5)}
SAMPLES: dict[str, torch.Tensor] = {}


def demo_tokens() -> torch.Tensor:
    tok = add_start_tokens(torch.randint(0, 256, (1, 3, 36, 36),
                                         generator=torch.Generator().manual_seed(0)))
    tok[:, :, 1 + 15:1 + 20, 1 + 15:1 + 25] = HOLE
    return tok


@pytest.mark.parametrize("case", list(CASES))
def test_sample_demo_hole(benchmark: Any, case: str) -> None:
    set_threads()
    impl, sampler, n_rounds = CASES[case]
    model = seed_model(impl).eval()
    tok = demo_tokens()
    assert int((tok == HOLE).sum()) == 150

    def sample() -> torch.Tensor:
        return sampler(model, tok, 1.0, torch.Generator().manual_seed(1))

    benchmark.group = "sample the 5x10 demo hole"
    out = benchmark.pedantic(sample, rounds=n_rounds, iterations=1,
                             warmup_rounds=0 if case == "slow-reference" else 1)
    benchmark.extra_info.update(case=case, threads=torch.get_num_threads(), device="cpu")
    RESULTS.append((benchmark.group, case, benchmark.stats.stats.mean))
    SAMPLES[case] = out
    for other in SAMPLES.values():
        assert torch.equal(out, other), "every sampler must draw the same samples"
