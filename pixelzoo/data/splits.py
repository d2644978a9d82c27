"""Deterministic train/val/test assignment by a hash of each item's name.

Image-folder datasets split by hashing a stable name (a file stem or a relative path) to a number
in [0, 1) rather than by shuffling a list. An item's split then depends on its own name alone:
adding or removing other images never moves an existing image between train, val and test, and
two runs (or two machines, or two models being compared) always see the same test set.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

SPLITS = ("train", "val", "test")


def hash_fraction(name: str) -> float:
    """A uniform-looking number in [0, 1) determined by `name` alone (sha1, first 8 bytes)."""
    digest = hashlib.sha1(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def check_fractions(val_fraction: float, test_fraction: float) -> None:
    """Reject fractions that would leave no room for training data."""
    if not (0.0 <= val_fraction < 1.0 and 0.0 <= test_fraction < 1.0):
        raise ValueError("val_fraction and test_fraction must lie in [0, 1)")
    if val_fraction + test_fraction >= 1.0:
        raise ValueError("val_fraction + test_fraction must be below 1, leaving a train split")


def assign_split(name: str, val_fraction: float, test_fraction: float) -> str:
    """'train', 'val' or 'test' for one name.

    Test takes the lowest hash band and val the next one, so growing `val_fraction` moves images
    from train into val but never touches the test set.
    """
    f = hash_fraction(name)
    if f < test_fraction:
        return "test"
    if f < test_fraction + val_fraction:
        return "val"
    return "train"


def hash_split(
    names: Sequence[str], val_fraction: float, test_fraction: float
) -> dict[str, np.ndarray]:
    """Indices into `names` for each split, each in the original order of `names`."""
    check_fractions(val_fraction, test_fraction)
    groups: dict[str, list[int]] = {s: [] for s in SPLITS}
    for i, name in enumerate(names):
        groups[assign_split(name, val_fraction, test_fraction)].append(i)
    return {s: np.asarray(idx, dtype=np.int64) for s, idx in groups.items()}
