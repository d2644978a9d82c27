"""`python tests/engine/fault_runner.py ARGS...` runs `pixelzoo ARGS` with faults from the env.

Used by the subprocess tests to put a real process in a known place before it is signalled or
killed, without any test hook in pixelzoo itself:

- PZ_STEP_DELAY=SECONDS: print `STEP <global step>` after each training step, then sleep, so a
  test can send a signal while training is under way.
- PZ_HANG_ON_CHECKPOINT=N: the N-th checkpoint write stops halfway through its training-state
  temporary file (the weights temporary file complete), prints `HANG`, and sleeps: a test then
  kills the process in the middle of the write.
"""

from __future__ import annotations

import os
import sys
import time

from pixelzoo.engine import atomic, checkpoint
from pixelzoo.engine.trainer import Trainer


def _slow_steps(delay: float) -> None:
    orig = Trainer._train_step

    def step(self, idx, epoch, s):
        loss = orig(self, idx, epoch, s)
        print(f"STEP {self.global_step + 1}", flush=True)
        time.sleep(delay)
        return loss

    Trainer._train_step = step


def _hang_on_checkpoint(n: int) -> None:
    count = {"checkpoints": 0, "files": 0}
    real_many = checkpoint.atomic_write_many
    real_write_fd = atomic._write_fd

    def many(items):
        count["checkpoints"] += 1
        count["files"] = 0
        return real_many(items)

    def write_fd(fd, data):
        count["files"] += 1
        if count["checkpoints"] == n and count["files"] == 2:
            real_write_fd(fd, bytes(data)[: len(data) // 2])
            print("HANG", flush=True)
            time.sleep(600)
        return real_write_fd(fd, data)

    checkpoint.atomic_write_many = many
    atomic._write_fd = write_fd


if __name__ == "__main__":
    if os.environ.get("PZ_STEP_DELAY"):
        _slow_steps(float(os.environ["PZ_STEP_DELAY"]))
    if os.environ.get("PZ_HANG_ON_CHECKPOINT"):
        _hang_on_checkpoint(int(os.environ["PZ_HANG_ON_CHECKPOINT"]))
    from pixelzoo.cli import main

    sys.exit(main(sys.argv[1:]))
