"""Shared setup for the model tests: the models are tiny, so one CPU thread is fastest."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    # Several threads on a handful of numbers only contend with each other (and with other
    # processes on a shared machine): a tiny RowRNN runs many times faster on one.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
