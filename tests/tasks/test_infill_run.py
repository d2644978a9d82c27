"""`pixelzoo run recipes/cartoon_infill.yaml`, shrunk with --set to seconds: the run folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from pixelzoo.cli import main
from pixelzoo.engine.metrics_log import read_metrics

ROOT = Path(__file__).resolve().parents[2]
TINY = ["dataset.limit=8", "train.epochs=1", "train.steps_per_epoch=1", "train.batch_size=4",
        "model.hidden=8", "model.embed=4", "eval.limit=4", "eval.batch_size=4",
        "eval.samples=2", "train.num_threads=1", "train.max_minutes=2", "task.refine_chunks=2"]


def test_tiny_cartoon_infill_run_leaves_a_complete_run_folder(tmp_path, monkeypatch,
                                                               capsys) -> None:
    monkeypatch.setenv("PIXELZOO_CACHE", "off")
    sets = [f"dataset.root={tmp_path / 'no-cartoonset'}", *TINY]
    argv = ["run", str(ROOT / "recipes" / "cartoon_infill.yaml"), "--out", str(tmp_path / "runs")]
    for s in sets:
        argv += ["--set", s]
    assert main(argv) == 0
    out = " ".join(capsys.readouterr().out.split())  # rich wraps long lines
    assert "using the built-in 'toon' generator" in out  # the one-line fallback note
    assert "training loss is cross-entropy over the hole sub-pixels only" in out
    assert "TELEA" in out and "NS" in out and "demo_hole" in out

    (run,) = (tmp_path / "runs" / "cartoon_infill").iterdir()
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["task"]["type"] == "infill" and config["task"]["loss"] == "holes"
    assert config["model"]["hidden"] == 8 and config["mask"]["type"] == "mixture"
    rows = read_metrics(run / "metrics.csv")
    assert len(rows) == 1 and "demo_hole/psnr" in rows[0] and "strokes/mean/l1" in rows[0]
    assert (run / "checkpoints" / "last.safetensors").is_file()
    assert (run / "checkpoints" / "best.safetensors").is_file()
    assert sorted(p.name for p in (run / "samples").glob("*.png")) == [
        "demo_hole.png", "seed_blocks.png", "strokes.png"]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["loss"] == "holes"
    assert set(summary["eval_fingerprint"]) == {"demo_hole", "seed_blocks", "strokes"}
    assert summary["best_metric"]["name"] == "demo_hole/psnr"
    methods = {(r["mask_set"], r["method"]) for r in summary["infill_table"]}
    assert ("demo_hole", "TELEA") in methods and ("strokes", "model (mean)") in methods
    assert summary["eval_sets"]["demo_hole"]["hole_fraction"] == pytest.approx(50 / 1296)
