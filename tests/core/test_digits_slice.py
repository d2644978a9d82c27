"""The digits slice end to end: a real RowRNN classifier on scikit-learn's bundled digits."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from pixelzoo.cli import main

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "recipes" / "digits_rowrnn.yaml"


def only_run(out: Path) -> Path:
    runs = [p for p in (out / "digits_rowrnn").iterdir() if p.is_dir()]
    assert len(runs) == 1
    return runs[0]


def test_fast_digits_run_learns_and_leaves_a_run_folder(tmp_path, capsys):
    code = main(["run", str(RECIPE), "--out", str(tmp_path),
                 "--set", "model.directions=1", "--set", "train.epochs=5"])
    assert code == 0
    out = capsys.readouterr().out
    assert "accuracy" in out and "parameters" in out  # the final rich table
    run = only_run(tmp_path)
    for name in ("config.yaml", "metrics.csv", "summary.json",
                 "checkpoints/last.safetensors", "checkpoints/best.safetensors"):
        assert (run / name).exists(), name
    assert list((run / "tensorboard").glob("events.*"))
    rows = list(csv.DictReader(open(run / "metrics.csv")))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4, 5]
    for col in ("train_loss", "train_images_per_s", "lr", "epoch_seconds", "accuracy"):
        assert rows[0][col] != ""
    assert float(rows[-1]["train_loss"]) < float(rows[0]["train_loss"])
    summary = json.loads((run / "summary.json").read_text())
    # a smaller bar than the full recipe's 0.95, for a 5-epoch, 1-direction run
    assert summary["final_metrics"]["accuracy"] >= 0.75
    assert summary["parameters"] > 0


@pytest.mark.slow
def test_full_digits_recipe_reaches_95_percent(tmp_path):
    assert main(["run", str(RECIPE), "--out", str(tmp_path), "-q"]) == 0
    summary = json.loads((only_run(tmp_path) / "summary.json").read_text())
    assert summary["final_metrics"]["accuracy"] >= 0.95
