"""DDP through torchrun on CPU (gloo, 2 processes): the same training as one process, rank-0 I/O.

Each rank runs `tests/engine/ddp_worker.py`, which runs the real command line and reports the
files the rank wrote (audit hook) and its parameters at the end of training.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from engine_helpers import HERE, rows, run_dirs, state, subprocess_env

WORKER = str(HERE / "ddp_worker.py")
TOL = dict(rtol=1e-4, atol=1e-5)  # float reduction order differs (2 x mean of 8 vs mean of 16)


def torchrun(recipe: Path, out: Path, reports: Path, *args: str,
             env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess, list[dict]]:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           WORKER, "run", str(recipe), "--out", str(out), *args]
    extra = {"PZ_AUDIT_ROOT": str(out), "PZ_REPORT_DIR": str(reports), **(env or {})}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          env=subprocess_env(extra))
    found = []
    for r in (0, 1):
        path = reports / f"rank-{r}.pt"
        assert path.exists(), f"rank {r} left no report:\n{proc.stdout}\n{proc.stderr}"
        found.append(torch.load(path, weights_only=True))
        path.unlink()
    return proc, found


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _close(a: dict, b: dict) -> None:
    for k in b:
        torch.testing.assert_close(a[k], b[k], **TOL, msg=f"{k} differs")


def test_two_ranks_train_like_one_and_only_rank_0_writes(tiny_recipe, tmp_path, straight):
    proc, (r0, r1) = torchrun(tiny_recipe, tmp_path / "out", tmp_path / "reports")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (r0["exit"], r1["exit"]) == (0, 0)
    assert r0["global_step"] == r1["global_step"] == 24
    # DDP keeps the replicas identical, bit for bit
    assert _same(r0["params"], r1["params"])
    # per-rank batch 8 on 2 ranks = batch 16 on 1 rank, up to float reduction order
    _close(r0["params"], straight["weights"])
    assert r0["metrics"] == r1["metrics"], "every rank reports the same eval numbers"
    for key, value in straight["result"].metrics.items():
        assert r0["metrics"][key] == pytest.approx(value, rel=1e-4, abs=1e-6)
    # only rank 0 touches the run folder
    assert r1["writes"] == []
    assert any(w.startswith("os.rename") and w.endswith("/checkpoints/last.state.pt")
               for w in r0["writes"]), r0["writes"][:20]
    run_dir, = run_dirs(tmp_path / "out")
    st = state(run_dir)
    assert st["data"]["world_size"] == 2 and st["data"]["global_batch"] == 16
    assert len(st["rng"]) == 2 and len(st["partial"]) == 2  # every rank's RNG state
    got = rows(run_dir)
    assert [r["epoch"] for r in got] == ["1", "2", "3", "4"]
    for mine, ref in zip(got, straight["rows"]):
        assert float(mine["train_loss"]) == pytest.approx(float(ref["train_loss"]), rel=1e-4)


@pytest.mark.slow
def test_one_rank_interrupted_both_stop_then_resume_under_torchrun(tiny_recipe, tmp_path,
                                                                   straight):
    out, reports = tmp_path / "out", tmp_path / "reports"
    # only rank 1 gets SIGINT, during step 9: both ranks must stop after the same step
    proc, (r0, r1) = torchrun(tiny_recipe, out, reports,
                              env={"PZ_SIGNAL_RANK": "1", "PZ_SIGNAL_AT": "9"})
    assert proc.returncode != 0
    assert (r0["exit"], r1["exit"]) == (130, 130), proc.stdout + proc.stderr
    assert r0["global_step"] == r1["global_step"] == 9
    assert _same(r0["params"], r1["params"])
    assert r1["writes"] == []
    run_dir, = run_dirs(out)
    st = state(run_dir)
    assert (st["epoch"], st["step_in_epoch"], st["global_step"]) == (1, 3, 9)
    assert "--resume" in proc.stdout

    proc, (r0, r1) = torchrun(tiny_recipe, out, reports, "--resume", "auto")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert r0["global_step"] == r1["global_step"] == 24
    assert _same(r0["params"], r1["params"])
    _close(r0["params"], straight["weights"])
    assert r1["writes"] == []
    assert run_dirs(out) == [run_dir]
    assert [r["epoch"] for r in rows(run_dir)] == ["1", "2", "3", "4"]


@pytest.mark.slow
def test_one_rank_interrupted_during_evaluation_both_stop_at_the_same_batch(tiny_recipe,
                                                                            tmp_path, straight):
    out, reports = tmp_path / "out", tmp_path / "reports"
    small = ("--set", "eval.batch_size=8")  # three evaluation batches
    # only rank 1 gets SIGINT, in epoch 2's evaluation: the ranks agree at the next batch, so
    # neither waits in a collective the other never reaches (the 300 s timeout would show it)
    proc, (r0, r1) = torchrun(tiny_recipe, out, reports, *small,
                              env={"PZ_SIGNAL_RANK": "1", "PZ_SIGNAL_EVAL_AT": "2"})
    assert (r0["exit"], r1["exit"]) == (130, 130), proc.stdout + proc.stderr
    assert r0["global_step"] == r1["global_step"] == 12
    assert r1["writes"] == []
    run_dir, = run_dirs(out)
    st = state(run_dir)
    assert (st["epoch"], st["step_in_epoch"], st["pending_eval"]) == (1, 6, "")
    assert [r["epoch"] for r in rows(run_dir)] == ["1"]
    assert "--resume" in proc.stdout

    proc, (r0, r1) = torchrun(tiny_recipe, out, reports, *small, "--resume", "auto")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert r0["global_step"] == r1["global_step"] == 24
    _close(r0["params"], straight["weights"])
    assert r0["metrics"] == r1["metrics"]
    assert r1["writes"] == []
    assert [r["epoch"] for r in rows(run_dir)] == ["1", "2", "3", "4"]


@pytest.mark.slow
def test_a_failed_write_on_rank_0_stops_every_rank_with_the_same_error(tiny_recipe, tmp_path):
    out = tmp_path / "out"
    proc, (r0, r1) = torchrun(tiny_recipe, out, tmp_path / "reports",
                              env={"PZ_ENOSPC_AT": "9"})
    assert (r0["exit"], r1["exit"]) == (2, 2), proc.stdout + proc.stderr
    assert r0["global_step"] == r1["global_step"] == 12  # the step-12 checkpoint failed
    assert proc.stderr.count("No space left on device") >= 2  # each rank says why
    assert "Traceback" not in proc.stdout
    run_dir, = run_dirs(out)
    assert state(run_dir)["global_step"] == 8  # the last good checkpoint survived
