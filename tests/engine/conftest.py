"""Fixtures for the engine tests: the tiny recipe and the straight reference run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from engine_helpers import rows, run_once, state, weights, write_recipe


@pytest.fixture(scope="session")
def tiny_recipe(tmp_path_factory) -> Path:
    return write_recipe(tmp_path_factory.mktemp("recipe"))


@pytest.fixture(scope="session")
def straight(tiny_recipe, tmp_path_factory) -> dict[str, Any]:
    """The reference: the tiny recipe trained for 4 epochs without interruption."""
    out = tmp_path_factory.mktemp("straight")
    result = run_once(tiny_recipe, out)
    return {"run_dir": result.run_dir, "result": result, "weights": weights(result.run_dir),
            "rows": rows(result.run_dir), "state": state(result.run_dir)}
