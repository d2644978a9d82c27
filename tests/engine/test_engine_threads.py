"""The thread policy for a shared machine (`pixelzoo.engine.threads`): `train.num_threads: auto`,
the OpenMP wait policy the command line sets before torch loads, and the mid-run drop.

The machine's load is faked (a lambda, or `os.getloadavg` replaced in a subprocess), so these
tests say the same on an idle and on a busy machine; none of them times anything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from engine_helpers import REPO, run_dirs

from pixelzoo.engine import threads
from pixelzoo.engine.trainer import train
from pixelzoo.engine.threads import ThreadWatch, choose_threads, prepare_openmp
from pixelzoo.recipe import load_recipe

BUSY, IDLE = 7.5, 0.1  # 1-minute load averages on a 2-CPU machine


# ------------------------------------------------------------------ the OpenMP wait policy
def test_a_busy_machine_gets_the_passive_wait_policy():
    env: dict[str, str] = {}
    assert prepare_openmp(env, cpus=2, load=BUSY) == "PASSIVE"
    assert env == {"OMP_WAIT_POLICY": "PASSIVE"}


def test_an_idle_machine_keeps_openmp_spinning():
    env: dict[str, str] = {}
    assert prepare_openmp(env, cpus=2, load=IDLE) == ""
    assert env == {}


@pytest.mark.parametrize("user", [{"OMP_WAIT_POLICY": "ACTIVE"}, {"GOMP_SPINCOUNT": "300000"}])
def test_a_wait_policy_the_user_chose_is_never_overwritten(user):
    env = dict(user)
    assert prepare_openmp(env, cpus=2, load=BUSY) == ""
    assert env == user


def test_one_core_in_use_on_two_is_busy_one_in_sixteen_is_not():
    assert threads.is_busy(2, 0.9) and not threads.is_busy(2, 0.3)
    assert not threads.is_busy(16, 1.0) and threads.is_busy(16, 15.2)
    assert not threads.is_busy(1, 5.0)  # one CPU: nothing to choose


# ------------------------------------------------------------------ train.num_threads
def test_auto_takes_the_free_cores_and_one_on_a_busy_machine():
    assert choose_threads("auto", default=2, environ={}, cpus=2, load=IDLE).count == 2
    assert choose_threads("auto", default=2, environ={}, cpus=2, load=BUSY).count == 1
    assert choose_threads("auto", default=16, environ={}, cpus=16, load=4.0).count == 12
    # never more than torch would use (its default, or a count the caller set)
    assert choose_threads("auto", default=4, environ={}, cpus=16, load=0.0).count == 4
    assert choose_threads("auto", default=2, environ={}, cpus=2, load=BUSY).auto


def test_a_number_or_null_is_used_as_given_whatever_the_load():
    two = choose_threads(2, default=2, environ={}, cpus=2, load=BUSY)
    assert (two.count, two.auto) == (2, False)
    assert choose_threads(None, default=2, environ={}, cpus=2, load=BUSY).count is None


def test_auto_keeps_an_omp_num_threads_someone_set():
    # torchrun sets OMP_NUM_THREADS=1 for each of its processes; torch already follows it
    choice = choose_threads("auto", default=1, environ={"OMP_NUM_THREADS": "1"}, cpus=2,
                            load=IDLE)
    assert choice.count is None and "OMP_NUM_THREADS=1" in choice.reason and not choice.auto


def test_the_watch_drops_the_count_when_others_take_the_cores_and_never_raises_it():
    now = [0.0]
    loads = iter([2.1, 3.4, 0.0, 0.0])  # our two threads alone; one more process; idle again
    watch = ThreadWatch(2, every_s=10, cpus=2, load=lambda: next(loads), clock=lambda: now[0])
    assert watch.poll() is None  # not due yet: no load read
    now[0] = 10.0
    assert watch.poll() is None  # 2.1 is our own two threads
    now[0] = 15.0
    assert watch.poll() is None  # between two checks
    now[0] = 20.0
    count, why = watch.poll()  # type: ignore[misc]
    assert count == 1 and watch.count == 1 and "threads 2 -> 1" in why
    now[0] = 40.0
    assert watch.poll() is None and watch.count == 1  # one thread stays one


def test_an_auto_run_lowers_its_threads_when_the_cores_fill_up(tiny_recipe, tmp_path, capsys,
                                                               monkeypatch):
    monkeypatch.setattr(threads, "usable_cpus", lambda: 2)
    monkeypatch.setattr(threads, "WATCH_EVERY_S", 0.0)
    loads = iter([IDLE] + [3.5] * 1000)  # idle at the start, then another process arrives
    monkeypatch.setattr(threads, "load_average", lambda: next(loads))
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    torch.set_num_threads(2)  # torch's count here; the autouse fixture restores it
    result = train(load_recipe(tiny_recipe, ["train.epochs=1", "train.num_threads=auto"]),
                   out_root=tmp_path, quiet=False)
    summary = json.loads((result.run_dir / "summary.json").read_text())
    assert summary["threads"]["start"] == 2 and summary["threads"]["end"] == 1
    assert torch.get_num_threads() == 1
    assert "threads 2 -> 1: other processes are using the cores" in capsys.readouterr().out


# ------------------------------------------------------------------ the command line
CHILD = """\
import json, os, sys
os.getloadavg = lambda: ({load}, {load}, {load})  # the machine as the test wants it
os.sched_getaffinity = lambda pid: {{0, 1}}
assert "torch" not in sys.modules  # the policy must be in place before OpenMP starts
from pixelzoo.cli import main
rc = main(sys.argv[1:])
print(json.dumps({{"rc": rc, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY")}}))
"""


def pixelzoo_run(tmp_path: Path, recipe: Path, load: float, env_extra: dict[str, str],
                 *sets: str) -> tuple[dict, dict]:
    """`pixelzoo run` in a fresh process on a machine with `load`; (what it printed, the
    run's summary["threads"])."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_NUM_THREADS", *threads.WAIT_VARIABLES)}
    env.update(env_extra)
    args = ["run", str(recipe), "--out", str(tmp_path), "--quiet", "--set", "train.epochs=1",
            "--set", "train.steps_per_epoch=1"]
    for s in sets:
        args += ["--set", s]
    proc = subprocess.run([sys.executable, "-c", CHILD.format(load=load), *args], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    said = json.loads(proc.stdout.strip().splitlines()[-1])
    summary = json.loads((run_dirs(tmp_path)[-1] / "summary.json").read_text())
    return said, summary["threads"]


def test_the_command_line_sets_passive_on_a_busy_machine_and_auto_takes_one_thread(
        tiny_recipe, tmp_path):
    said, used = pixelzoo_run(tmp_path, tiny_recipe, BUSY, {}, "train.num_threads=auto")
    assert said == {"rc": 0, "OMP_WAIT_POLICY": "PASSIVE"}
    assert used["start"] == 1 and used["omp_wait_policy"] == "PASSIVE"
    assert used["reason"].startswith("auto: load 7.5 on 2 CPUs")


def test_the_users_policy_and_thread_count_win_on_a_busy_machine(tiny_recipe, tmp_path):
    said, used = pixelzoo_run(tmp_path, tiny_recipe, BUSY, {"OMP_WAIT_POLICY": "ACTIVE"},
                              "train.num_threads=2")
    assert said["OMP_WAIT_POLICY"] == "ACTIVE"
    assert used["start"] == used["end"] == 2 and used["reason"] == "train.num_threads"


def test_the_command_line_leaves_an_idle_machine_as_openmp_has_it(tiny_recipe, tmp_path):
    said, used = pixelzoo_run(tmp_path, tiny_recipe, 0.0, {}, "train.num_threads=auto")
    assert said["OMP_WAIT_POLICY"] is None and used["omp_wait_policy"] is None
    assert used["reason"].startswith("auto:") and used["start"] >= 1
