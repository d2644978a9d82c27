"""Real processes: a signal from outside, and kill -9 in the middle of a checkpoint write."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from engine_helpers import (HERE, assert_same_weights, rows, run_dirs, run_once, state,
                            subprocess_env, weights)

from pixelzoo.engine.checkpoint import read_checkpoint

RUNNER = str(HERE / "fault_runner.py")


def _start(recipe, out, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, RUNNER, "run", str(recipe), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=subprocess_env(env))


def _wait_for(proc: subprocess.Popen, marker: str, timeout: float = 180) -> list[str]:
    """Read the child's output until a line equals `marker`."""
    seen = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line.rstrip("\n"))
        if seen[-1] == marker:
            return seen
    proc.kill()
    pytest.fail(f"never saw {marker!r}; output:\n" + "\n".join(seen))


@pytest.mark.parametrize("signum, code", [
    pytest.param(signal.SIGINT, 130, marks=pytest.mark.slow),  # in-process tests cover SIGINT
    (signal.SIGTERM, 143),
])
def test_signal_from_outside(tiny_recipe, tmp_path, straight, signum, code):
    proc = _start(tiny_recipe, tmp_path, {"PZ_STEP_DELAY": "0.05"})
    _wait_for(proc, "STEP 5")
    proc.send_signal(signum)
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == code, out
    flat = " ".join(out.split())
    assert f"{signal.Signals(signum).name}: stopped after step" in flat
    run_dir, = run_dirs(tmp_path)
    assert f"Resume with: pixelzoo run {tiny_recipe} --resume {run_dir}" in flat
    assert "Traceback" not in out
    st = state(run_dir)
    assert 5 <= st["global_step"] < 24, "stopped during training, after the step in flight"
    resumed = run_once(tiny_recipe, tmp_path, resume=str(run_dir))
    assert_same_weights(weights(run_dir), straight["weights"])
    assert rows(run_dir) == straight["rows"]
    assert resumed.metrics == straight["result"].metrics


def test_kill_9_in_the_middle_of_a_checkpoint_write(tiny_recipe, tmp_path, straight):
    proc = _start(tiny_recipe, tmp_path, {"PZ_HANG_ON_CHECKPOINT": "3"})
    _wait_for(proc, "HANG")
    proc.kill()  # SIGKILL: no handler, no cleanup
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    run_dir, = run_dirs(tmp_path)
    ck = run_dir / "checkpoints"
    torn = sorted(p.name for p in ck.glob(".*.tmp"))
    assert any(n.startswith(".last.state.pt.") for n in torn), torn  # died mid-write
    good = read_checkpoint(ck / "last")  # the previous pair is whole and belongs together
    assert good.state["global_step"] < 24
    resumed = run_once(tiny_recipe, tmp_path, resume="auto")
    assert resumed.run_dir == run_dir
    assert not list(ck.glob(".*.tmp")), "leftover temporary files are cleaned on resume"
    assert_same_weights(weights(run_dir), straight["weights"])
    assert rows(run_dir) == straight["rows"]
