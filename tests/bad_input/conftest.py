"""Fixtures for the bad-input battery (helpers live in bad_input_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from bad_input_helpers import GOOD, Cli


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(capsys)


@pytest.fixture
def good_recipe(tmp_path: Path) -> Path:
    p = tmp_path / "good.yaml"
    p.write_text(GOOD)
    return p
