"""`pixelzoo run recipes/cartoon_infill.yaml`, shrunk with --set to seconds: the run folder."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import yaml

from pixelzoo.cli import main
from pixelzoo.engine.metrics_log import read_metrics

ROOT = Path(__file__).resolve().parents[2]
# the default dataset is a mixture: the Cartoon Set (or its toon fallback) and toon's varied style
TINY = ["dataset.limit=8", "dataset.datasets.0.limit=8", "dataset.datasets.1.count=12",
        "train.epochs=1", "train.steps_per_epoch=1", "train.batch_size=4",
        "model.hidden=8", "model.embed=4", "eval.limit=4", "eval.batch_size=4",
        "task.eval.samples=2", "train.num_threads=1", "train.max_minutes=2", "task.refine_chunks=2",
        "task.eval.baselines=[telea, ns]",  # two baselines per set: the stop test counts calls
        "task.eval.decodings=[greedy, mean]"]  # (and `fused` would call one more)


def test_tiny_cartoon_infill_run_leaves_a_complete_run_folder(tmp_path, monkeypatch,
                                                               capsys, caplog) -> None:
    monkeypatch.setenv("PIXELZOO_CACHE", "off")
    sets = [f"dataset.datasets.0.root={tmp_path / 'no-cartoonset'}", *TINY]
    argv = ["run", str(ROOT / "recipes" / "cartoon_infill.yaml"), "--out", str(tmp_path / "runs")]
    for s in sets:
        argv += ["--set", s]
    with caplog.at_level(logging.INFO):
        assert main(argv) == 0
    captured = capsys.readouterr()
    out = " ".join(captured.out.split())  # rich wraps long lines
    # the one-line fallback note, exactly once on the console: stdout, stderr and log records
    # (pytest captures those; a real run prints an unhandled warning to stderr)
    note = "using the built-in 'toon' generator"
    console = [out, " ".join(captured.err.split()), *(r.getMessage() for r in caplog.records)]
    assert sum(text.count(note) for text in console) == 1, console
    # and one line in a log too (not a terminal: rich would wrap it at 80 columns)
    (line,) = [ln for ln in captured.out.splitlines() if "real Cartoon Set" in ln]
    assert line.startswith("cartoonset: ") and line.rstrip().endswith("instead"), line
    assert not line.startswith("cartoonset: cartoonset:"), line  # named once, not per layer
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


def test_a_signal_during_the_final_report_stops_it_cleanly_and_resume_redoes_it(
        tmp_path, monkeypatch) -> None:
    """TELEA/NS and the sample grids run on rank 0 after training; a stop there must not wait for
    them all, nor leave a half-written picture or a summary of a report that never finished."""
    import os
    import signal

    import cv2

    import pixelzoo.tasks.infill as infill_mod

    monkeypatch.setenv("PIXELZOO_CACHE", "off")

    def argv(out: Path) -> list[str]:
        args = ["run", str(ROOT / "recipes" / "cartoon_infill.yaml"), "--out", str(out), "-q"]
        for s in [f"dataset.datasets.0.root={tmp_path / 'no-cartoonset'}", *TINY]:
            args += ["--set", s]
        return args

    assert main(argv(tmp_path / "straight")) == 0
    (reference,) = (tmp_path / "straight" / "cartoon_infill").iterdir()

    real_inpaint, calls = infill_mod.inpaint, []

    def inpaint(*args, **kwargs):  # demo_hole: telea, ns; seed_blocks: telea <- SIGINT here
        calls.append(args[2])
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGINT)
        return real_inpaint(*args, **kwargs)

    monkeypatch.setattr(infill_mod, "inpaint", inpaint)
    with pytest.raises(SystemExit) as stop:
        main(argv(tmp_path / "stopped"))
    assert stop.value.code == 130
    assert len(calls) == 3, "the report stops at its next check, not at its end"
    monkeypatch.setattr(infill_mod, "inpaint", real_inpaint)
    (run,) = (tmp_path / "stopped" / "cartoon_infill").iterdir()
    assert not (run / "summary.json").exists()
    assert [p.name for p in (run / "samples").iterdir()] == ["demo_hole.png"]  # written whole
    assert cv2.imread(str(run / "samples" / "demo_hole.png")) is not None
    assert not [p for p in run.rglob(".*") if p.name != ".pixelzoo.lock"], "temporary files"

    assert main([*argv(tmp_path / "stopped"), "--resume", str(run)]) == 0
    done, ref = (json.loads((r / "summary.json").read_text()) for r in (run, reference))
    assert done["final_metrics"] == ref["final_metrics"]
    assert done["infill_table"] == ref["infill_table"]
    for name in ("demo_hole.png", "seed_blocks.png", "strokes.png"):
        assert (run / "samples" / name).read_bytes() == (reference / "samples" / name).read_bytes()
