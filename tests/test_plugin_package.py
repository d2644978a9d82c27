"""The third-party plugin package `pixelzoo-rowconv` as pixelzoo's users meet it.

These tests look at the plugin from the outside, through the command line and recipes: `list`
shows where `row_conv` comes from, a typo in its parameters names the plugin and its
distribution, and a recipe that needs it fails clearly when the plugin is absent. "Absent" is
simulated honestly without uninstalling: a subprocess runs with
`PIXELZOO_DISABLE_PLUGIN_AUTOLOAD=1`, which makes discovery skip every distribution but pixelzoo
itself, exactly what an uninstalled plugin looks like. The whole module is skipped where the
plugin is not installed (`pip install ./plugins/pixelzoo-rowconv`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import pytest

from pixelzoo.cli import main

try:
    VERSION = metadata.version("pixelzoo-rowconv")
except metadata.PackageNotFoundError:
    pytest.skip("pixelzoo-rowconv is not installed (pip install ./plugins/pixelzoo-rowconv)",
                allow_module_level=True)

DIST = "pixelzoo-rowconv"


def write_recipe(folder: Path, combiner: str) -> Path:
    path = folder / "needs_row_conv.yaml"
    path.write_text(textwrap.dedent(f"""\
        dataset: {{type: digits}}
        model:
          type: rowrnn
          hidden: 16
          combiner: {combiner}
        task: {{type: classification}}
        """))
    return path


def run_cli(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The real command line in a fresh process (so discovery sees the environment given)."""
    full_env = {**os.environ, "COLUMNS": "200", **env}
    return subprocess.run([sys.executable, "-m", "pixelzoo", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=600)


def test_list_shows_row_conv_with_its_distribution_and_version(capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # keep rich from eliding the columns
    assert main(["list", "combiners"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if " row_conv " in line]
    assert len(rows) == 1
    cells = [c.strip() for c in rows[0].strip("│ \n").split("│")]
    assert cells == ["combiner", "row_conv", DIST, VERSION,
                     "pixelzoo_rowconv.combiner:RowConvCombiner"]


def test_list_shows_the_second_plugin_kind(capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["list", "masks", "--filter", "rowconv_*"]) == 0
    out = capsys.readouterr().out
    assert "rowconv_scribble" in out and DIST in out


def test_typo_in_row_conv_parameters_names_plugin_and_distribution(tmp_path, capsys) -> None:
    recipe = write_recipe(tmp_path, "{type: row_conv, kk: 5}")
    assert main(["validate", str(recipe)]) == 2
    err = capsys.readouterr().err
    assert (f"model.combiner.kk: unknown parameter for combiner 'row_conv' "
            f"(from {DIST} {VERSION}); did you mean 'k'? (line 5)") in err
    assert "Traceback" not in err


def test_typo_in_the_plugin_name_suggests_it(tmp_path, capsys) -> None:
    recipe = write_recipe(tmp_path, "{type: row_cnov}")
    assert main(["validate", str(recipe)]) == 2
    assert "unknown combiner 'row_cnov'; did you mean 'row_conv'?" in capsys.readouterr().err


def test_a_recipe_that_needs_an_absent_plugin_says_how_to_get_it(tmp_path) -> None:
    recipe = write_recipe(tmp_path, "{type: row_conv, k: 3}")
    gone = run_cli(["validate", str(recipe)], tmp_path, PIXELZOO_DISABLE_PLUGIN_AUTOLOAD="1")
    assert gone.returncode == 2, gone.stderr
    err = " ".join(gone.stderr.split())  # undo any wrapping
    assert "model.combiner.type: unknown combiner 'row_conv'" in err
    assert "Known combiners now:" in err and "linear_add" in err and "row_conv," not in err
    # installed but not allowed (issue 15): how to allow it, not "install a package"
    assert f"installed but not allowed; allow it with `--plugin {DIST}`" in err
    assert "install a package" not in err
    assert "Traceback" not in gone.stderr
    # A near miss among what *is* installed is still suggested in the same situation.
    near = write_recipe(tmp_path, "{type: linear_ad}")
    typo = run_cli(["validate", str(near)], tmp_path, PIXELZOO_DISABLE_PLUGIN_AUTOLOAD="1")
    assert typo.returncode == 2 and "did you mean 'linear_add'?" in typo.stderr


def test_allowing_the_distribution_brings_it_back(tmp_path) -> None:
    recipe = write_recipe(tmp_path, "{type: row_conv, k: 3}")
    back = run_cli(["--plugin", DIST, "validate", str(recipe)], tmp_path,
                   PIXELZOO_DISABLE_PLUGIN_AUTOLOAD="1")
    assert back.returncode == 0, back.stderr
    assert "is a valid recipe" in back.stdout


def test_a_second_distribution_claiming_row_conv_is_refused_naming_both(tmp_path) -> None:
    """Another installed package registering `row_conv` too: neither is used, both are named."""
    site = tmp_path / "site"
    info = site / "pixelzoo_clash-0.2.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: pixelzoo-clash\nVersion: 0.2\n")
    (info / "entry_points.txt").write_text(
        "[pixelzoo.combiners]\nrow_conv = pixelzoo_clash:RowConv\n")
    recipe = write_recipe(tmp_path, "{type: row_conv}")
    clash = run_cli(["validate", str(recipe)], tmp_path, PYTHONPATH=str(site))
    assert clash.returncode == 2, clash.stderr
    err = " ".join(clash.stderr.split())
    assert ("combiner 'row_conv' is provided by more than one distribution: "
            "pixelzoo-clash[row_conv], pixelzoo-rowconv[row_conv]. Uninstall one of them.") in err


def test_the_fast_path_declines_row_conv_and_says_why() -> None:
    """row_conv mixes columns (`pointwise = False`): `fast_path: auto` keeps the reference loop."""
    from pixelzoo.models.wavefront import supports
    from pixelzoo.recipe import build_part

    model = build_part("models", {"type": "rowrnn", "embed": 4, "hidden": 4,
                                  "combiner": {"type": "row_conv"}},
                       channels=1, height=3, width=3)
    ok, why = supports(model)
    assert not ok and "RowConvCombiner is not pointwise" in why
    plain = build_part("models", {"type": "rowrnn", "embed": 4, "hidden": 4},
                       channels=1, height=3, width=3)
    assert supports(plain)[0]
