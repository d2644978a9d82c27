"""The registry: discovery without import, suggestions, isolation of broken plugins, duplicates."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pixelzoo.errors import DuplicateNameError, PluginLoadError, UnknownNameError
from pixelzoo.registry import COMBINERS, REGISTRIES, Registry


def run_py(code: str, **env: str) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=600)


def test_listing_imports_no_plugin_and_no_torch():
    code = (
        "import sys\n"
        "import pixelzoo\n"
        "from pixelzoo.cli import main\n"
        "main(['list'])\n"
        "main(['list', 'combiners', '--filter', '*add*'])\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
        "assert 'pixelzoo.models.combiners.linear_add' not in sys.modules\n"
        "print('CLEAN')\n"
    )
    out = run_py(code)
    assert out.returncode == 0, out.stderr
    assert "CLEAN" in out.stdout
    assert "linear_add" in out.stdout


def test_every_kind_has_builtins_declared_as_entry_points():
    for kind in ("datasets", "combiners", "decoders", "tasks", "masks", "models"):
        infos = REGISTRIES[kind].infos()
        assert infos, kind
        assert any(i.dist == "pixelzoo" for i in infos)
        assert all(i.entry_point is not None or i.dist != "pixelzoo" for i in infos)


def test_filter_by_glob():
    assert COMBINERS.names("*add*") == ["linear_add"]
    assert COMBINERS.names("nothing*") == []


def test_unknown_name_lists_known_and_suggests():
    with pytest.raises(UnknownNameError) as exc:
        COMBINERS.get("linear_ad")
    msg = str(exc.value)
    assert "did you mean 'linear_add'" in msg
    assert "linear_add" in msg.split("Known combiners:")[1]
    assert "pixelzoo.combiners" in msg


def test_get_loads_the_plugin_class():
    cls = COMBINERS.get("linear_add")
    assert cls.__name__ == "LinearAddCombiner"
    assert hasattr(cls, "Config")


def test_broken_plugin_is_isolated(plugin_dir, make_dist):
    make_dist(plugin_dir, "brokenplug",
                      {"pixelzoo.combiners": {"broken": "brokenplug_mod:Thing"}},
                      {"brokenplug_mod": "raise ImportError('no such native library')\n"})
    reg = Registry("combiners")
    assert "broken" in reg.names()
    with pytest.raises(PluginLoadError) as exc:
        reg.get("broken")
    msg = str(exc.value)
    assert "brokenplug[broken]" in msg
    assert "no such native library" in msg
    # every other plugin still works, and the failure is remembered, not retried silently
    assert reg.get("linear_add").__name__ == "LinearAddCombiner"
    with pytest.raises(PluginLoadError):
        reg.get("broken")
    failures = reg.load_all()
    assert [f[0].name for f in failures] == ["broken"]


def test_doctor_reports_each_failure_and_exits_nonzero(plugin_dir, make_dist):
    make_dist(plugin_dir, "brokenplug",
                      {"pixelzoo.combiners": {"broken": "brokenplug_missing:Thing"},
                       "pixelzoo.masks": {"alsobroken": "brokenplug_syntax:Mask"}},
                      {"brokenplug_syntax": "def (:\n"})
    code = "import sys; from pixelzoo.cli import main; sys.exit(main(['doctor']))"
    import os

    env = {"PYTHONPATH": str(plugin_dir) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "COLUMNS": "250"}
    out = run_py(code, **env)
    assert out.returncode == 1
    assert "brokenplug[broken]" in out.stdout
    assert "brokenplug[alsobroken]" in out.stdout
    assert "SyntaxError" in out.stdout
    assert "2 plugin(s) failed" in out.stdout


def test_duplicate_name_names_both_distributions(plugin_dir, make_dist):
    make_dist(plugin_dir, "copycat",
                      {"pixelzoo.combiners": {"linear_add": "copycat_mod:Thing"}},
                      {"copycat_mod": "class Thing: pass\n"})
    reg = Registry("combiners")
    with pytest.raises(DuplicateNameError) as exc:
        reg.get("linear_add")
    assert "pixelzoo[linear_add]" in str(exc.value)
    assert "copycat[linear_add]" in str(exc.value)


def test_programmatic_registration_refuses_duplicates():
    reg = Registry("combiners")

    @reg.register("my_local_combiner")
    class Mine:
        pass

    assert reg.get("my_local_combiner") is Mine
    with pytest.raises(DuplicateNameError) as exc:
        reg.register("my_local_combiner", object)
    assert "<local>[my_local_combiner]" in str(exc.value)
    with pytest.raises(DuplicateNameError):
        reg.register("linear_add", object)


def test_autoload_can_be_disabled(plugin_dir, make_dist, monkeypatch):
    make_dist(plugin_dir, "extraplug",
                      {"pixelzoo.combiners": {"extra": "extraplug_mod:Thing"}},
                      {"extraplug_mod": "class Thing: pass\n"})
    assert "extra" in Registry("combiners").names()
    monkeypatch.setenv("PIXELZOO_DISABLE_PLUGIN_AUTOLOAD", "1")
    limited = Registry("combiners")
    assert "extra" not in limited.names()
    assert "linear_add" in limited.names()  # pixelzoo's own parts always load
    monkeypatch.setenv("PIXELZOO_PLUGINS", "extraplug")
    assert "extra" in Registry("combiners").names()
