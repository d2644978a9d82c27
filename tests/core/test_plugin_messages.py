"""Plugin messages that tell the truth: a plugin that is installed but not allowed (autoload
off) is told how to allow it, and a plugin claiming a built-in name shows as a clash in
`pixelzoo list`, as docs/plugins.md describes."""

from __future__ import annotations

from pathlib import Path

import pytest

from pixelzoo.cli import main
from pixelzoo.errors import UnknownNameError
from pixelzoo.registry import COMBINERS, Registry

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


@pytest.fixture
def fresh_combiners():
    """The global combiner registry re-read now (and again after the test)."""
    COMBINERS.refresh()
    yield COMBINERS
    COMBINERS.refresh()


def test_an_installed_but_not_allowed_plugin_is_told_how_to_allow_it(plugin_dir, make_dist,
                                                                     monkeypatch):
    make_dist(plugin_dir, "extraplug", {"pixelzoo.combiners": {"extra": "extraplug_mod:Thing"}},
              {"extraplug_mod": "class Thing: pass\n"})
    monkeypatch.setenv("PIXELZOO_DISABLE_PLUGIN_AUTOLOAD", "1")
    with pytest.raises(UnknownNameError) as exc:
        Registry("combiners").get("extra")
    msg = str(exc.value)
    assert "extraplug" in msg and "--plugin extraplug" in msg and "PIXELZOO_PLUGINS" in msg
    assert "install a package" not in msg


def test_the_cli_says_so_for_a_recipe_too(plugin_dir, make_dist, monkeypatch, tmp_path,
                                          capsys, fresh_combiners):
    make_dist(plugin_dir, "extraplug", {"pixelzoo.combiners": {"extra": "extraplug_mod:Thing"}},
              {"extraplug_mod": "class Thing: pass\n"})
    monkeypatch.setenv("PIXELZOO_DISABLE_PLUGIN_AUTOLOAD", "1")
    fresh_combiners.refresh()
    recipe = tmp_path / "r.yaml"
    recipe.write_text("dataset: digits\nmodel: {type: rowrnn, combiner: extra}\n"
                      "task: classification\n")
    assert main(["validate", str(recipe)]) == 2
    err = capsys.readouterr().err
    assert "--plugin extraplug" in err and "install a package" not in err


def test_an_unknown_name_still_suggests_installing(monkeypatch):
    monkeypatch.setenv("PIXELZOO_DISABLE_PLUGIN_AUTOLOAD", "1")
    with pytest.raises(UnknownNameError, match="install a package"):
        Registry("combiners").get("no_such_combiner_anywhere")


def test_list_shows_a_clash_with_a_builtin(plugin_dir, make_dist, capsys, fresh_combiners):
    make_dist(plugin_dir, "copycat", {"pixelzoo.combiners": {"linear_add": "copycat_mod:Thing"}},
              {"copycat_mod": "class Thing: pass\n"})
    fresh_combiners.refresh()
    assert main(["list", "combiners"]) == 0
    out = capsys.readouterr().out
    rows = [ln for ln in out.splitlines() if "linear_add" in ln]
    assert any("pixelzoo" in r for r in rows) and any("copycat" in r for r in rows)
    assert "clash" in out
    assert "linear_add" in out.split("clash", 1)[1]  # the note names the clashing part


def test_docs_say_what_a_clash_does():
    text = DOCS.read_text().lower()
    assert "clash with a built-in" in text
    section = text[text.index("clash with a built-in"):][:1200]
    assert "everywhere" in section and "shipped weights" in section and "uninstall" in section
    assert "pixelzoo list" in section  # and where the user sees it
