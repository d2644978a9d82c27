"""Checkpoint files: what they hold, that they never run code, and clear errors when damaged."""

from __future__ import annotations

import ast
import fcntl
import os
import pickle
import re
import shutil
from pathlib import Path

import pytest
import torch
from engine_helpers import REPO, TINY, cli, run_dirs, run_once, state, write_recipe

from pixelzoo.engine.checkpoint import (ArchitectureMismatch, read_checkpoint, read_metadata,
                                        write_checkpoint)
from pixelzoo.errors import CheckpointError, PixelzooError


@pytest.fixture(scope="module")
def finished(tiny_recipe, tmp_path_factory):
    """A finished 2-epoch run to copy and damage."""
    out = tmp_path_factory.mktemp("finished")
    return run_once(tiny_recipe, out, "train.epochs=2").run_dir


def main_rc(capsys, *args: str) -> tuple[int, str]:
    """The command line in this process: (exit status, stderr); a traceback would raise here."""
    from pixelzoo.cli import main

    capsys.readouterr()
    rc = main(list(args))
    return rc, capsys.readouterr().err


def copy_run(run_dir: Path, dst: Path) -> Path:
    target = dst / "tiny" / run_dir.name
    shutil.copytree(run_dir, target)
    (target / ".pixelzoo.lock").unlink(missing_ok=True)
    return target


def test_training_state_is_weights_only_and_complete(finished):
    st = torch.load(finished / "checkpoints/last.state.pt", weights_only=True)
    assert st["format"] == "pixelzoo.train_state" and st["version"] == 1
    assert (st["epoch"], st["step_in_epoch"], st["global_step"]) == (2, 0, 12)
    assert isinstance(st["best"], float) and st["metric"] == "loss"
    assert st["optimizer"]["state"], "Adam moments are saved"
    assert st["scheduler"]["last_epoch"] == 12
    assert "scaler" in st and st["scaler"] is None  # fp32: no GradScaler to save
    rng, = st["rng"]  # one entry per rank
    assert set(rng) == {"python", "numpy", "torch", "cuda"}
    assert st["data"]["position"] == 0 and st["data"]["global_batch"] == 16
    assert st["data"]["world_size"] == 1 and st["data"]["seed"] == 3
    assert len(st["weights_sha256"]) == 64
    meta = read_metadata(finished / "checkpoints/last.safetensors")
    assert '"hidden": 8' in meta["pixelzoo.architecture"]
    assert meta["pixelzoo.global_step"] == "12"


def _python_files() -> list[Path]:
    files = []
    for top in ("pixelzoo", "plugins", "tests", "benchmarks"):
        if (REPO / top).is_dir():
            files += [p for p in (REPO / top).rglob("*.py") if "site-packages" not in p.parts]
    return files


def test_no_unsafe_torch_load_anywhere_in_the_tree():
    # built from pieces so that this file does not match itself
    unsafe = re.compile(r"weights_only\s*=\s*" + "False")
    offenders = []
    for top in ("pixelzoo", "plugins", "tests", "benchmarks"):
        root = REPO / top
        if not root.is_dir():
            continue
        for p in root.rglob("*"):
            if p.is_file() and p.suffix in (".py", ".md", ".txt", ".toml", ".cfg", ".yaml"):
                if unsafe.search(p.read_text(errors="replace")):
                    offenders.append(str(p.relative_to(REPO)))
    assert not offenders, f"unsafe torch.load in {offenders}"
    # and every torch.load call asks for weights_only=True explicitly
    loose = []
    for p in _python_files():
        try:
            tree = ast.parse(p.read_text(errors="replace"))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "load" and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "torch"):
                kw = {k.arg: k.value for k in node.keywords}
                ok = isinstance(kw.get("weights_only"), ast.Constant) and \
                    kw["weights_only"].value is True
                if not ok:
                    loose.append(f"{p.relative_to(REPO)}:{node.lineno}")
    assert not loose, f"torch.load without weights_only=True at {loose}"


class _RunsCode:
    """Unpickling this runs `touch <marker>`: what a hostile checkpoint would do."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_hostile_state_file_is_refused_without_running_code(finished, tmp_path, capsys):
    run = copy_run(finished, tmp_path)
    marker = tmp_path / "pwned"
    with open(run / "checkpoints/last.state.pt", "wb") as fh:
        pickle.dump({"epoch": 1, "payload": _RunsCode(str(marker))}, fh, protocol=2)
    torch.save({"epoch": 1, "x": _RunsCode(str(marker))}, run / "checkpoints/best.state.pt")
    for name in ("last", "best"):
        with pytest.raises(CheckpointError) as err:
            read_checkpoint(run / "checkpoints" / name)
        assert f"{name}.state.pt" in str(err.value)
    assert not marker.exists(), "loading a checkpoint ran code"
    rc, err_text = main_rc(capsys, "run", str(write_recipe(tmp_path / "r")), "--out",
                           str(tmp_path), "--resume", str(run / "checkpoints/last.safetensors"),
                           "-q")
    assert rc == 2 and "last.state.pt" in err_text
    assert not marker.exists()


@pytest.mark.parametrize("victim, damage", [
    ("last.safetensors", "truncate"), ("last.state.pt", "truncate"),
    ("last.safetensors", "garbage"), ("last.state.pt", "garbage"),
    ("last.safetensors", "flip"),
])
def test_damaged_checkpoint_gives_a_clear_error(finished, tmp_path, capsys, victim, damage):
    run = copy_run(finished, tmp_path)
    path = run / "checkpoints" / victim
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[:len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(os.urandom(len(data)))
    else:  # one flipped bit in the tensor data: safetensors itself cannot notice
        flipped = bytearray(data)
        flipped[-5] ^= 0x10
        path.write_bytes(bytes(flipped))
    with pytest.raises(CheckpointError) as err:
        read_checkpoint(run / "checkpoints/last")
    assert victim in str(err.value)
    rc, err_text = main_rc(capsys, "run", str(write_recipe(tmp_path / "r")), "--out",
                           str(tmp_path), "--resume", str(path), "-q")
    assert rc == 2
    assert victim in err_text and "error:" in err_text


def test_a_different_architecture_shows_expected_and_found(finished, tmp_path):
    # a real process: exit status 2 and one message, no traceback
    recipe = write_recipe(tmp_path / "r", TINY.replace("hidden: 8", "hidden: 12"))
    out = cli("run", str(recipe), "--out", str(tmp_path), "--resume", str(finished), "-q")
    assert out.returncode == 2, out.stderr
    assert "last.safetensors" in out.stderr and "Traceback" not in out.stderr
    assert re.search(r"model\.hidden: expected 12, found 8", out.stderr), out.stderr


def test_run_folder_falls_back_past_a_damaged_last(finished, tmp_path, capsys):
    run = copy_run(finished, tmp_path)
    ck = run / "checkpoints"
    # a crash between the two renames: the new weights are in place, the state is the old one
    donor = torch.load(ck / "epoch-0001.state.pt", weights_only=True)
    assert donor["epoch"] == 1
    shutil.copyfile(ck / "epoch-0001.state.pt", ck / "last.state.pt")
    with pytest.raises(CheckpointError, match="do not belong"):
        read_checkpoint(ck / "last")
    from pixelzoo.engine.trainer import Trainer
    from pixelzoo.recipe import load_recipe

    recipe = load_recipe(write_recipe(tmp_path / "r"), ["train.epochs=2"])
    trainer = Trainer(recipe, out_root=tmp_path, resume=str(run))
    try:
        trainer._setup()
        # the newest consistent checkpoint is epoch 2's history copy (same step as last)
        assert trainer.resumed_from.name in ("epoch-0002", "best")
        assert (trainer.epoch, trainer.global_step) == (2, 12)
    finally:
        trainer._close()
    text = capsys.readouterr().out
    assert "skipped a damaged checkpoint" in text and "do not belong" in text
    assert "last.safetensors" in text


def test_architecture_mismatch_is_not_skipped_over(finished):
    with pytest.raises(ArchitectureMismatch, match="expected 99, found 8"):
        arch = {"model": {"hidden": 99}}
        from pixelzoo.engine.checkpoint import check_architecture

        check_architecture("x.safetensors", arch, {"model": {"hidden": 8}})


def test_stale_temp_files_are_removed_on_resume(finished, tmp_path):
    run = copy_run(finished, tmp_path)
    stale = run / "checkpoints" / ".last.state.pt.abc123.tmp"
    stale.write_bytes(b"half a checkpoint")
    run_once(write_recipe(tmp_path / "r"), tmp_path, "train.epochs=2", resume=str(run))
    assert not stale.exists()


def test_a_locked_run_folder_is_not_written_by_a_second_run(finished, tmp_path):
    run = copy_run(finished, tmp_path)
    fd = os.open(run / ".pixelzoo.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(fd, b"4242\n")
        before = (run / "checkpoints/last.state.pt").read_bytes()
        with pytest.raises(PixelzooError, match="in use by another pixelzoo run.*4242"):
            run_once(write_recipe(tmp_path / "r"), tmp_path, "train.epochs=3", resume=str(run))
        assert (run / "checkpoints/last.state.pt").read_bytes() == before
    finally:
        os.close(fd)


def test_checkpoint_outside_a_run_folder_continues_in_a_new_one(finished, tmp_path):
    loose = tmp_path / "downloads"
    loose.mkdir()
    for suffix in (".safetensors", ".state.pt"):
        shutil.copyfile(finished / "checkpoints" / f"last{suffix}", loose / f"mine{suffix}")
    out = tmp_path / "runs"
    result = run_once(write_recipe(tmp_path / "r"), out, "train.epochs=3",
                      resume=str(loose / "mine.safetensors"))
    assert result.run_dir.parent == out / "tiny"
    assert not (loose / "metrics.csv").exists()
    assert state(result.run_dir)["epoch"] == 3
    assert [r for r in run_dirs(out)] == [result.run_dir]


def test_write_checkpoint_pairs_files_by_hash(tmp_path):
    model = torch.nn.Linear(2, 2)
    write_checkpoint(tmp_path / "a", model, {"m": 1},
                     {"epoch": 0, "step_in_epoch": 0, "global_step": 0, "best": None,
                      "optimizer": {}, "scheduler": {}, "rng": []})
    ck = read_checkpoint(tmp_path / "a.safetensors", {"m": 1})
    assert torch.equal(ck.weights["weight"], model.weight.detach())
    with pytest.raises(ArchitectureMismatch, match=r"m: expected 2, found 1"):
        read_checkpoint(tmp_path / "a", {"m": 2})
    with pytest.raises(CheckpointError, match="not found"):
        read_checkpoint(tmp_path / "b")
