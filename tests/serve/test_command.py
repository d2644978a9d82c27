"""`pixelzoo serve` as a command: the missing extra, bad SOURCEs, the default sources, and a
real server process that binds 127.0.0.1, prints its URL, writes only its own temp folder and
stops cleanly on Ctrl-C."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from pixelzoo.cli import main


def test_without_the_extra_it_says_how_to_install_it(monkeypatch, capsys) -> None:
    from pixelzoo.serve import command

    monkeypatch.setattr(command, "NEEDS", ("starlette", "pixelzoo_no_such_module"))
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert 'pip install -e ".[serve]"' in err and "pixelzoo_no_such_module" in err
    assert "Traceback" not in err


def test_a_bad_source_stops_it_before_it_listens(tmp_path: Path, capsys) -> None:
    assert main(["serve", "no_such_weights_or_folder"]) == 2
    assert "neither a run folder nor a shipped weights name" in capsys.readouterr().err
    other = tmp_path / "classify"
    other.mkdir()
    (other / "config.yaml").write_text("task: {type: classification}\n")
    assert main(["serve", str(other)]) == 2
    assert "classification" in capsys.readouterr().err


def test_the_default_sources_are_the_infill_runs_under_runs(tmp_path: Path, run_dir: Path) -> None:
    from pixelzoo.serve.pool import discover_runs

    root = tmp_path / "runs"
    shutil.copytree(run_dir, root / "toon_infill" / "20250101-000000")
    (root / "digits" / "20250101-000000").mkdir(parents=True)
    (root / "digits" / "20250101-000000" / "config.yaml").write_text(
        "task: {type: classification}\n")
    (root / "toon_infill" / "20250102-000000").mkdir()
    (root / "toon_infill" / "20250102-000000" / "config.yaml").write_text(
        "task: {type: infill}\n")
    found, notes = discover_runs(root)
    assert found == [root / "toon_infill" / "20250101-000000"]
    assert sorted(n.split(": ", 1)[1] for n in notes) == [
        "skipped (no weights yet)", "skipped (trained for task 'classification', not infill)"]
    assert discover_runs(tmp_path / "nowhere") == ([], [])


def _read_url(proc: subprocess.Popen, deadline: float) -> tuple[str, list[str]]:
    lines: list[str] = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("pixelzoo serve: http"):
            return line.split()[2], lines
    err = proc.stderr.read() if proc.poll() is not None else ""
    raise AssertionError(f"no URL printed: {''.join(lines)}{err}")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child is POSIX")
def test_a_real_server_binds_locally_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    temp, cwd = tmp_path / "tmp", tmp_path / "cwd"
    temp.mkdir()
    cwd.mkdir()
    env = {**os.environ, "TMPDIR": str(temp), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "pixelzoo", "serve", "toon_infill"],
                            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        url, lines = _read_url(proc, time.monotonic() + 90)
        assert url.startswith("http://127.0.0.1:") and not url.endswith(":0/")
        assert "serving toon_infill (shipped weights)" in "".join(lines)
        with urllib.request.urlopen(url + "api/models", timeout=30) as r:
            assert [m["key"] for m in json.load(r)["models"]] == ["toon_infill"]
        req = urllib.request.Request(url + "api/image?model=toon_infill", method="POST",
                                     data=urllib.request.urlopen(url + "api/samples/0.png",
                                                                 timeout=30).read())
        with urllib.request.urlopen(req, timeout=60) as r:
            assert json.load(r)["image"].startswith("data:image/png")
        own = list(temp.iterdir())
        assert len(own) == 1 and own[0].name.startswith("pixelzoo-serve-")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "pixelzoo serve: stopped" in out and "Traceback" not in err
    assert list(temp.iterdir()) == []  # its temp folder is gone
    assert list(cwd.iterdir()) == []   # and it wrote nothing anywhere else it was
