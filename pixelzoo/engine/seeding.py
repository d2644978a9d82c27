"""Reproducibility: one recipe `seed` seeds every generator, per rank and per worker.

Rank 0 uses the recipe's seed as it is, so a one-process run and rank 0 of a torchrun run start
from the same model initialisation; other ranks get independent seeds derived with numpy's
`SeedSequence` from (seed, rank). DataLoader workers (for plugins that use them; the built-in
loop reads in-memory arrays and has none) are seeded from their base seed with `seed_worker`.
`deterministic: true` switches torch to deterministic algorithms; its limits are documented in
docs/training.md.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

import numpy as np
import torch


def rank_seed(seed: int, rank: int = 0) -> int:
    """The seed for `rank`: the recipe's own for rank 0, an independent one for the others."""
    if rank == 0:
        return int(seed) % (2**63)
    return int(np.random.SeedSequence([int(seed) % (2**63), rank]).generate_state(1, np.uint64)[0]
               % (2**63))


def seed_everything(seed: int, rank: int = 0) -> int:
    """Seed python, numpy and torch (all CUDA devices too) for `rank`; returns the seed used."""
    s = rank_seed(seed, rank)
    random.seed(s)
    np.random.seed(s % (2**32))
    torch.manual_seed(s)  # also seeds every CUDA device
    return s


def seed_worker(worker_id: int) -> None:
    """`worker_init_fn` for DataLoaders: seed python and numpy from torch's per-worker seed.

    torch already gives each worker `base_seed + worker_id`, with the base drawn from the
    (seeded) main process generator; python's and numpy's generators are not covered by that.
    """
    s = torch.initial_seed() % (2**32)
    random.seed(s)
    np.random.seed(s)


def loader_generator(seed: int, rank: int = 0) -> torch.Generator:
    """A generator for a DataLoader's shuffling and worker base seeds, fixed by (seed, rank)."""
    g = torch.Generator()
    g.manual_seed(rank_seed(seed, rank))
    return g


@dataclass
class DeterminismState:
    """torch's global determinism switches, saved so a run can restore them when it ends."""

    algorithms: bool
    warn_only: bool
    cudnn_deterministic: bool
    cudnn_benchmark: bool


def set_deterministic(enabled: bool) -> DeterminismState:
    """Turn torch's deterministic algorithms on (or leave them as they are); return the old state.

    cuBLAS needs CUBLAS_WORKSPACE_CONFIG set before its first handle is made for deterministic
    matmuls; we set it here, before any CUDA work of the run.
    """
    old = DeterminismState(torch.are_deterministic_algorithms_enabled(),
                           torch.is_deterministic_algorithms_warn_only_enabled(),
                           torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    if enabled:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=False)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    return old


def restore_determinism(old: DeterminismState | None) -> None:
    if old is None:
        return
    torch.use_deterministic_algorithms(old.algorithms, warn_only=old.warn_only)
    torch.backends.cudnn.deterministic = old.cudnn_deterministic
    torch.backends.cudnn.benchmark = old.cudnn_benchmark


def is_nondeterminism_error(exc: BaseException) -> bool:
    """True for torch's error about an op without a deterministic implementation."""
    return isinstance(exc, RuntimeError) and "deterministic" in str(exc)

