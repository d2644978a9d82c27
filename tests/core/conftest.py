"""Helpers for the core tests: throwaway plugin distributions made on the fly."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest


def make_distribution(root: Path, name: str, entry_points: dict[str, dict[str, str]],
                      modules: dict[str, str] | None = None, version: str = "0.1") -> Path:
    """Write an installed-looking distribution (a .dist-info folder) plus modules under root."""
    info = root / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = []
    for group, eps in entry_points.items():
        lines.append(f"[{group}]")
        lines += [f"{k} = {v}" for k, v in eps.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    for mod, src in (modules or {}).items():
        (root / f"{mod}.py").write_text(textwrap.dedent(src))
    return root


@pytest.fixture
def make_dist():
    """The `make_distribution` helper, as a fixture (conftest modules are not importable)."""
    return make_distribution


@pytest.fixture
def plugin_dir(tmp_path, monkeypatch):
    """A temp folder on sys.path where tests create throwaway distributions."""
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path
