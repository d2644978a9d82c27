"""A full disk or a read-only folder: a clear error, the last good checkpoint kept, resume works.

The faults are injected at the OS-call level (`os.write`, `os.replace`, `os.mkdir`), only for the
files of the run under test, so the code paths are the real ones.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from engine_helpers import (assert_same_weights, rows, run_dirs, run_once, weights,
                            write_recipe)

from pixelzoo.engine.atomic import WriteError, atomic_write_bytes, atomic_write_many
from pixelzoo.engine.trainer import Trainer
from pixelzoo.errors import CheckpointError, PixelzooError


def _fd_path(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""


@pytest.fixture
def arm_at_step(monkeypatch):
    """Call `arm()` just before global step `n` runs (the step-8 checkpoint is then on disk)."""

    def install(n: int, arm) -> None:
        orig = Trainer._train_step

        def step(self, idx, epoch, s):
            if self.global_step + 1 == n:
                arm(self.run_dir)
            return orig(self, idx, epoch, s)

        monkeypatch.setattr(Trainer, "_train_step", step)

    return install


def _snapshot(run_dir: Path) -> dict[str, bytes]:
    ck = run_dir / "checkpoints"
    return {p.name: p.read_bytes() for p in sorted(ck.iterdir())}


def _no_temp_files(run_dir: Path) -> bool:
    return not [p for p in run_dir.rglob("*.tmp")]


def test_disk_full_mid_checkpoint(tiny_recipe, tmp_path, straight, monkeypatch, arm_at_step):
    real_write = os.write
    box: dict = {}

    def write(fd, data):
        path = _fd_path(fd)
        if box.get("armed") and "/checkpoints/." in path and path.endswith(".tmp"):
            if box.setdefault("written", 0) == 0:
                box["written"] = real_write(fd, bytes(data[: max(1, len(data) // 2)]))
                return box["written"]  # a short write; the next call finds the disk full
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    def arm(run_dir):
        box["before"] = _snapshot(run_dir)
        box["armed"] = True

    monkeypatch.setattr(os, "write", write)
    arm_at_step(9, arm)
    with pytest.raises(CheckpointError) as err:
        run_once(tiny_recipe, tmp_path)
    assert box["written"] > 0, "the fault must hit in the middle of a file"
    msg = str(err.value)
    assert "No space left on device" in msg and "last.safetensors" in msg
    assert "last good checkpoint is kept" in msg and "global step 8" in msg
    assert "--resume" in msg
    run_dir, = run_dirs(tmp_path)
    assert _snapshot(run_dir) == box["before"], "the previous checkpoint files must be untouched"
    assert _no_temp_files(run_dir)
    monkeypatch.undo()
    run_once(tiny_recipe, tmp_path, resume="auto")  # space freed: resume and finish exactly
    assert_same_weights(weights(run_dir), straight["weights"])
    assert rows(run_dir) == straight["rows"]


@pytest.mark.parametrize("victim", ["last.state.pt", "metrics.csv"])
def test_read_only_folder_mid_run(tiny_recipe, tmp_path, straight, monkeypatch, arm_at_step,
                                  victim):
    real_replace = os.replace
    box: dict = {}

    def replace(src, dst, *a, **k):
        if box.get("armed") and Path(dst).name == victim:
            raise OSError(errno.EROFS, "Read-only file system")
        return real_replace(src, dst, *a, **k)

    def arm(run_dir):
        box["before"] = (run_dir / "checkpoints/last.state.pt").read_bytes()
        box["armed"] = True

    monkeypatch.setattr(os, "replace", replace)
    arm_at_step(9, arm)
    with pytest.raises(PixelzooError) as err:
        run_once(tiny_recipe, tmp_path)
    assert "Read-only file system" in str(err.value) and victim in str(err.value)
    run_dir, = run_dirs(tmp_path)
    assert _no_temp_files(run_dir)
    monkeypatch.undo()
    if victim == "last.state.pt":
        # weights were renamed, the state was not: the pair is refused and an intact one is used
        assert (run_dir / "checkpoints/last.state.pt").read_bytes() == box["before"]
    run_once(tiny_recipe, tmp_path, resume=str(run_dir))
    assert_same_weights(weights(run_dir), straight["weights"])
    assert rows(run_dir) == straight["rows"]


def test_read_only_output_root_at_start(tmp_path, monkeypatch, capsys):
    from pixelzoo.cli import main

    recipe = write_recipe(tmp_path / "r")
    out = tmp_path / "ro"
    real_mkdir = os.mkdir

    def mkdir(path, *a, **k):
        if str(path).startswith(str(out)):
            raise OSError(errno.EROFS, "Read-only file system")
        return real_mkdir(path, *a, **k)

    monkeypatch.setattr(os, "mkdir", mkdir)
    capsys.readouterr()
    assert main(["run", str(recipe), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert "cannot write" in err and "read-only file system" in err.lower()
    assert str(out) in err.replace("\n", "")


def test_atomic_group_write_keeps_every_old_file_when_one_fails(tmp_path, monkeypatch):
    a, b = tmp_path / "a.bin", tmp_path / "b.bin"
    atomic_write_many([(a, b"old a"), (b, b"old b")])
    real_fsync = os.fsync
    calls = []

    def fsync(fd):
        calls.append(fd)
        if len(calls) == 2:  # the second file's bytes cannot be made durable
            raise OSError(errno.EIO, "Input/output error")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(WriteError, match=r"b\.bin: Input/output error"):
        atomic_write_many([(a, b"new a"), (b, b"new b")])
    monkeypatch.undo()
    assert a.read_bytes() == b"old a" and b.read_bytes() == b"old b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin", "b.bin"]


def test_an_interrupted_writer_leaves_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "x.txt"
    atomic_write_bytes(target, b"complete old file")

    def boom(fd, data):
        raise KeyboardInterrupt  # a second Ctrl-C in the middle of a write

    monkeypatch.setattr(os, "write", boom)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(target, b"new")
    monkeypatch.undo()
    assert target.read_bytes() == b"complete old file"
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]
