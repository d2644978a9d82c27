"""The error policy: anticipated failures exit 2 with one message; a bug exits 1 with one line
saying so and where its traceback was logged (run folder, else the temp folder)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest



@pytest.fixture
def tmp_tempdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.delenv("PIXELZOO_DEBUG", raising=False)
    return folder


def _boom(*_a, **_k):
    raise RuntimeError("boom in the middle")


def test_a_bug_is_one_line_and_a_log_in_the_temp_folder(cli, good_recipe, tmp_tempdir,
                                                        monkeypatch):
    monkeypatch.setattr("pixelzoo.recipe.load_recipe", _boom)
    code, out, err = cli("validate", good_recipe)
    assert code == 1
    assert "Traceback" not in err + out
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "bug" in lines[0] and "RuntimeError: boom" in lines[0]
    logs = list(tmp_tempdir.glob("pixelzoo-error-*.log"))
    assert len(logs) == 1 and str(logs[0]) in err.replace("\n", "")
    text = logs[0].read_text()
    assert "Traceback" in text and "boom in the middle" in text and "validate" in text


def test_debug_shows_the_traceback(cli, good_recipe, tmp_tempdir, monkeypatch):
    monkeypatch.setattr("pixelzoo.recipe.load_recipe", _boom)
    monkeypatch.setenv("PIXELZOO_DEBUG", "1")
    code, _, err = cli("validate", good_recipe)
    assert code == 1 and "Traceback" in err and "boom in the middle" in err


def test_a_bug_during_a_run_is_logged_in_its_run_folder(cli, good_recipe, tmp_path,
                                                        tmp_tempdir, monkeypatch):
    monkeypatch.setattr("pixelzoo.engine.trainer.Trainer._fit", _boom)
    code, out, err = cli("run", good_recipe, "--out", tmp_path / "runs", "-q")
    assert code == 1 and "Traceback" not in err + out
    logs = list((tmp_path / "runs" / "good").glob("*/pixelzoo-error-*.log"))
    assert len(logs) == 1, err
    assert "boom in the middle" in logs[0].read_text()
    assert not list(tmp_tempdir.glob("*.log"))


def test_an_os_error_naming_a_file_is_a_message(cli, good_recipe, tmp_tempdir, monkeypatch):
    def denied(*_a, **_k):
        raise PermissionError(13, "Permission denied", "/some/where/file.yaml")

    monkeypatch.setattr("pixelzoo.recipe.load_recipe", denied)
    code, _, err = cli("validate", good_recipe)
    assert code == 2 and "/some/where/file.yaml: Permission denied" in err
    assert "Traceback" not in err and "bug" not in err


def test_user_errors_keep_exit_2_and_no_traceback(cli, tmp_path, tmp_tempdir):
    code, _, err = cli("validate", tmp_path / "nope.yaml")
    assert code == 2 and "recipe file not found" in err and "Traceback" not in err
    assert not list(tmp_tempdir.glob("*.log"))
