"""Stop signals: SIGINT and SIGTERM become a request that the loop honours at a safe point.

The handler only records the first signal (printing there could re-enter a half-done write to
stdout); the trainer reads it after every step and, through `stoppable`, between two evaluation
batches, and then raises `Interrupted`. A second Ctrl-C more than `ECHO_S` seconds after the
first stops at once (`KeyboardInterrupt`); repeats that arrive together are one request. Not for
deciding what a stop writes (the trainer does that) or for agreeing across ranks beyond the
evaluation checks (the trainer all-reduces the flag after each step).
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Iterator
from typing import Any

import torch

from pixelzoo.engine import distributed as dist_env

ECHO_S = 2.0  # repeats of a stop signal within this time are the same request


class Interrupted(Exception):
    """Raised after SIGINT/SIGTERM at a safe point: after a training step and its checkpoint, or
    between two evaluation batches. `during` says where: "" (training), "eval" (an end-of-epoch
    evaluation; `last` was written with it still owed) or "final" (the final evaluation and
    report; training was done and the checkpoints are left as they were)."""

    def __init__(self, signum: int, during: str = ""):
        super().__init__(signum)
        self.signum = signum
        self.during = during


class StopSignals:
    """SIGINT/SIGTERM handlers for one run: `signum` is the stop asked for (None: none yet)."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.first_time = 0.0  # monotonic time of the first signal
        self._old: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        now = time.monotonic()
        if self.signum is not None:
            # A second Ctrl-C stops at once. Echoes are not a second Ctrl-C: torchrun's agent
            # forwards the terminal's SIGINT to workers that already got it, and schedulers
            # send SIGTERM to the launcher and the workers alike; those arrive together.
            if signum == signal.SIGINT and now - self.first_time > ECHO_S:
                raise KeyboardInterrupt
            return
        self.signum, self.first_time = signum, now

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread: no handlers, interrupts are plain
                pass

    def restore(self) -> None:
        """Put back the handlers that were there before `install`."""
        for sig, handler in self._old.items():
            signal.signal(sig, handler)
        self._old = {}


@contextlib.contextmanager
def stoppable(task: Any, signals: StopSignals, during: str, *, agreed: bool,
              dist: dist_env.DistEnv, device: torch.device) -> Iterator[None]:
    """Let a stop signal end the task's evaluation between two batches (the task calls
    `check_interrupt`), raising `Interrupted(signum, during)`.

    `agreed`: the ranks all-reduce the flag at every check, as the training loop does after
    every step, so all stop at the same batch even when only one got the signal; the task
    calls the check equally often on every rank. The report runs on rank 0 alone, so its
    check (agreed=False) reads rank 0's own flag and needs no other rank.
    """

    def check() -> None:
        flag = float(signals.signum or 0)
        if agreed:
            flag = dist_env.all_reduce_max(dist, [flag], device)[0]
        if flag:
            raise Interrupted(int(flag), during)

    task.interrupt_check = check
    try:
        yield
    finally:
        task.interrupt_check = None
