"""Shared test setup: the test models are tiny, so one CPU thread is fastest.

Several threads on a handful of numbers only contend with each other (and with other processes
on a shared machine, where a tiny GRU call was measured 12x slower on two threads than on one).
Subprocesses the tests start inherit OMP_NUM_THREADS=1 for the same reason.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402
import torch  # noqa: E402


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
