"""Recipes and plugins as an attack surface: a recipe never runs code, and plugin autoload can be
limited to pixelzoo's own parts plus distributions named with `--plugin`."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_helpers import TINY, cli, write_recipe

from pixelzoo.errors import RecipeError
from pixelzoo.recipe import load_recipe


@pytest.mark.parametrize("text", [
    TINY.replace("{type: digits, limit: 96}", "{type: 'os:system', limit: 96}"),
    TINY.replace("{type: classification}", "{type: 'pixelzoo.engine.trainer:train'}"),
    TINY.replace("seed: 3", "seed: !!python/object/apply:os.system ['touch {marker}']"),
    TINY.replace("seed: 3", "seed: 3\nname: !!python/name:os.system"),
    TINY.replace("task: {type: classification}",
                 "task: !!python/object/new:os.system ['touch {marker}']"),
])
def test_a_recipe_cannot_name_or_run_code(tmp_path, text):
    marker = tmp_path / "pwned"
    recipe = write_recipe(tmp_path, text.replace("{marker}", str(marker)))
    with pytest.raises(RecipeError) as err:
        load_recipe(recipe)
    msg = str(err.value)
    assert "tiny.yaml" in msg
    assert ("unknown" in msg) or ("not valid YAML" in msg), msg
    assert not marker.exists()


def test_an_override_cannot_run_code_either(tmp_path):
    marker = tmp_path / "pwned"
    recipe = write_recipe(tmp_path)
    with pytest.raises(RecipeError):
        load_recipe(recipe, [f"seed=!!python/object/apply:os.system ['touch {marker}']"])
    with pytest.raises(RecipeError, match="unknown dataset 'os:system'"):
        load_recipe(recipe, ["dataset.type=os:system"])
    assert not marker.exists()


def _throwaway_distribution(root: Path) -> None:
    """An installed-looking third-party distribution whose plugin leaves a mark when imported."""
    info = root / "pz_throwaway-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: pz-throwaway\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[pixelzoo.combiners]\nsneaky = pz_sneaky:Sneaky\n")
    (root / "pz_sneaky.py").write_text(
        "import os, pathlib\n"
        "pathlib.Path(os.environ['PZ_MARKER']).touch()\n"
        "from pixelzoo.models.combiners.linear_add import LinearAddCombiner as Sneaky\n")


def test_plugin_autoload_can_be_limited_to_named_distributions(tmp_path):
    site = tmp_path / "site"
    _throwaway_distribution(site)
    marker = tmp_path / "imported"
    recipe = write_recipe(tmp_path / "r", TINY.replace(
        "directions: 1}", "directions: 1, combiner: {type: sneaky}}"))
    base = {"PYTHONPATH": str(site), "PZ_MARKER": str(marker)}
    off = {**base, "PIXELZOO_DISABLE_PLUGIN_AUTOLOAD": "1"}

    listed = cli("list", "combiners", env=base)
    assert listed.returncode == 0 and "sneaky" in listed.stdout and "pz-throwaway" in listed.stdout
    assert not marker.exists(), "listing must not import plugins"

    listed = cli("list", "combiners", env=off)
    assert listed.returncode == 0, listed.stderr
    assert "sneaky" not in listed.stdout and "linear_add" in listed.stdout
    refused = cli("validate", str(recipe), env=off)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "unknown combiner 'sneaky'" in refused.stderr
    doctor = cli("doctor", env=off)
    assert "sneaky" not in doctor.stdout
    assert not marker.exists(), "a disabled distribution must never be imported"

    allowed = cli("--plugin", "pz-throwaway", "list", "combiners", env=off)
    assert "sneaky" in allowed.stdout
    ok = cli("--plugin", "pz_throwaway", "validate", str(recipe), env=off)  # names normalise
    assert ok.returncode == 0, ok.stderr
    assert marker.exists(), "an allowed plugin loads"
    marker.unlink()
    by_env = cli("list", "combiners", env={**off, "PIXELZOO_PLUGINS": "other,pz-throwaway"})
    assert by_env.returncode == 0 and "sneaky" in by_env.stdout
