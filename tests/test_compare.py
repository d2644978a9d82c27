"""`pixelzoo compare`: training recipes side by side, reading finished runs, refusing mismatches.

Two tiny digits classifiers are trained once per module (a few seconds on one thread); every other
test reads those runs, or copies of them edited to disagree. The infill tests train two tiny
infill recipes the same way and check the baseline rows and the picture grid.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml

from pixelzoo.cli import main
from pixelzoo.errors import PixelzooError
from pixelzoo.report import runs as runs_mod
from pixelzoo.report import table as table_mod

TINY = """\
dataset: {type: digits, limit: 48}
model: {type: rowrnn, embed: 4, hidden: 8, combiner: {type: linear_add}}
task: {type: classification}
train: {epochs: 2, batch_size: 16, num_threads: 1}
"""


def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _only_child(folder: Path) -> Path:
    children = [p for p in folder.iterdir() if p.is_dir()]
    assert len(children) == 1, children
    return children[0]


def _run_dirs(root: Path) -> set[Path]:
    return {p.parent for p in root.glob("*/*/config.yaml")}


@pytest.fixture(scope="module")
def digits_compare(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Compare two tiny recipes (linear_add vs concat), with --set applied to both."""
    root = tmp_path_factory.mktemp("cmp")
    (root / "add.yaml").write_text(TINY)
    (root / "cat.yaml").write_text("extends: add.yaml\nmodel: {combiner: {type: concat}}\n")
    rc = main(["compare", str(root / "add.yaml"), str(root / "cat.yaml"), "--set",
               "model.hidden=6", "--out", str(root / "runs"), "--compare-out",
               str(root / "cmp"), "-q"])
    assert rc == 0
    return {"root": root, "runs": root / "runs", "out": _only_child(root / "cmp")}


# ------------------------------------------------------------------------------ from recipes
def test_recipes_give_one_row_each_in_csv_and_markdown(digits_compare: dict[str, Path]) -> None:
    out = digits_compare["out"]
    rows = _read_csv(out / "compare.csv")
    assert [r["recipe"] for r in rows] == ["add", "cat"]
    assert [r["combiner"] for r in rows] == ["linear_add", "concat"]
    # --set reached every recipe
    assert {r["hidden"] for r in rows} == {"6"}
    for r in rows:
        assert 0.0 <= float(r["accuracy"]) <= 1.0
        assert float(r["parameters"]) > 0 and float(r["train_images_per_s"]) > 0
        assert Path(r["run_dir"], "summary.json").is_file()
    md = (out / "compare.md").read_text()
    header = next(line for line in md.splitlines() if line.startswith("| recipe"))
    for col in ("combiner", "decoder", "directions", "layers", "hidden", "parameters",
                "train img/s", "wall time", "final train loss", "accuracy", "loss"):
        assert f"| {col} |" in header
    body = [line for line in md.splitlines() if line.startswith("| add") or
            line.startswith("| cat")]
    assert len(body) == 2
    # every metric column has exactly one best mark (or two on a tie)
    assert md.count("\\*") >= 3
    assert "command: `pixelzoo compare" in md and "--set=model.hidden=6" in md
    meta = json.loads((out / "compare.json").read_text())
    assert len(meta["trained_here"]) == 2 and meta["hardware"]


def test_each_recipe_trained_once(digits_compare: dict[str, Path]) -> None:
    runs = _run_dirs(digits_compare["runs"])
    assert {p.parent.name for p in runs} == {"add", "cat"}
    assert len(runs) == 2


def test_charts_are_real_pngs(digits_compare: dict[str, Path]) -> None:
    import cv2

    out = digits_compare["out"]
    for name in ("metrics.png", "learning_curves.png"):
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", name
        assert len(data) > 8_000, f"{name} is suspiciously small ({len(data)} bytes)"
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        assert img is not None and img.shape[0] > 200 and img.shape[1] > 300
        # not a blank canvas: a chart has many distinct colours
        assert len(np.unique(img.reshape(-1, 3), axis=0)) > 20


# ------------------------------------------------------------------------------ from runs
def test_finished_runs_are_compared_without_training(digits_compare: dict[str, Path],
                                                     tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import pixelzoo.engine.trainer as trainer

    def no_training(*a: object, **k: object) -> None:
        raise AssertionError("compare of finished runs must not train")

    monkeypatch.setattr(trainer, "train", no_training)
    runs = digits_compare["runs"]
    before = _run_dirs(runs)
    dirs = sorted(before)
    rc = main(["compare", *map(str, dirs), "--compare-out", str(tmp_path / "c"), "-q",
               "--sort", "accuracy"])
    assert rc == 0
    assert _run_dirs(runs) == before
    rows = _read_csv(_only_child(tmp_path / "c") / "compare.csv")
    assert sorted(r["run_dir"] for r in rows) == sorted(map(str, dirs))
    acc = [float(r["accuracy"]) for r in rows]
    assert acc == sorted(acc, reverse=True)
    # the numbers are the runs' own, not recomputed
    first = json.loads(Path(rows[0]["run_dir"], "summary.json").read_text())
    assert float(rows[0]["accuracy"]) == pytest.approx(first["final_metrics"]["accuracy"])


def test_a_recipe_folder_means_its_newest_finished_run(digits_compare: dict[str, Path]) -> None:
    folder = digits_compare["runs"] / "add"
    assert runs_mod.resolve_run_dir(folder) == _only_child(folder)
    with pytest.raises(PixelzooError, match="not found"):
        runs_mod.resolve_run_dir(folder / "nope")


def _copy_run(src: Path, dst: Path, edit_config: dict | None = None,
              edit_summary: dict | None = None) -> Path:
    shutil.copytree(src, dst)
    if edit_config:
        cfg = yaml.safe_load((dst / "config.yaml").read_text())
        for dotted, value in edit_config.items():
            node = cfg
            *path, last = dotted.split(".")
            for k in path:
                node = node[k]
            node[last] = value
        (dst / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    if edit_summary:
        summary = json.loads((dst / "summary.json").read_text())
        summary.update(edit_summary)
        (dst / "summary.json").write_text(json.dumps(summary))
    return dst


def test_mismatched_eval_sets_are_refused_naming_the_keys(
        digits_compare: dict[str, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    a, b = sorted(_run_dirs(digits_compare["runs"]))
    other = _copy_run(b, tmp_path / "other", {"dataset.limit": 40, "eval.seed": 7})
    rc = main(["compare", str(a), str(other), "--compare-out", str(tmp_path / "c"), "-q"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "dataset.limit: 48 vs 40" in err
    assert "eval.seed: 1234 vs 7" in err
    assert "Traceback" not in err
    assert not (tmp_path / "c").exists()


def test_differing_eval_fingerprints_are_named() -> None:
    cfg = {"dataset": {"type": "toon"}, "eval": {"seed": 1}}
    s1 = {"eval_fingerprint": {"demo_hole": "aa", "strokes": "bb"}}
    s2 = {"eval_fingerprint": {"demo_hole": "aa", "strokes": "cc", "boxes": "dd"}}
    with pytest.raises(PixelzooError) as info:
        runs_mod.check_comparable(["one", "two"], [cfg, cfg], [s1, s2])
    msg = str(info.value)
    assert "eval set 'strokes': fingerprint bb vs cc" in msg
    assert "eval set 'boxes' exists only in the second run" in msg
    assert "demo_hole" not in msg
    # identical fingerprints (or a run without any) pass
    runs_mod.check_comparable(["one", "two"], [cfg, cfg], [s1, s1])
    runs_mod.check_comparable(["one", "two"], [cfg, cfg], [s1, {}])


def test_training_seed_alone_does_not_make_runs_incomparable() -> None:
    base = {"seed": 0, "dataset": {"type": "digits"}, "eval": {"seed": 1, "masks": []}}
    runs_mod.check_comparable(["a", "b"], [base, {**base, "seed": 5}])


def test_mixing_tasks_is_an_error_before_any_training(
        digits_compare: dict[str, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    a, _ = sorted(_run_dirs(digits_compare["runs"]))
    other = _copy_run(a, tmp_path / "infill_run", {"task.type": "infill"}, {"task": "infill"})
    recipe = digits_compare["root"] / "add.yaml"
    rc = main(["compare", str(recipe), str(other), "--out", str(tmp_path / "runs"), "-q",
               "--compare-out", str(tmp_path / "c")])
    err = capsys.readouterr().err
    assert rc == 2
    assert "different tasks" in err and "(classification)" in err and "(infill)" in err
    assert not (tmp_path / "runs").exists()  # nothing was trained


def test_bad_sort_and_set_without_recipes(digits_compare: dict[str, Path], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    dirs = [str(p) for p in sorted(_run_dirs(digits_compare["runs"]))]
    rc = main(["compare", *dirs, "--sort", "acuracy", "--compare-out", str(tmp_path), "-q"])
    assert rc == 2
    assert "did you mean 'accuracy'" in capsys.readouterr().err
    rc = main(["compare", *dirs, "--set", "train.epochs=1", "--compare-out", str(tmp_path)])
    assert rc == 2
    assert "--set applies to recipes" in capsys.readouterr().err


def test_unfinished_run_is_refused(digits_compare: dict[str, Path], tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    a, b = sorted(_run_dirs(digits_compare["runs"]))
    broken = _copy_run(b, tmp_path / "broken")
    (broken / "summary.json").unlink()
    assert main(["compare", str(a), str(broken), "--compare-out", str(tmp_path / "c")]) == 2
    assert "did not finish" in capsys.readouterr().err


# ------------------------------------------------------------------------------ table logic
def test_best_value_marking_follows_each_metric_direction() -> None:
    rows = [{"recipe": "a", "acc": 0.5, "loss": 1.0}, {"recipe": "b", "acc": 0.9, "loss": 2.0},
            {"recipe": "c", "acc": 0.9, "loss": None}]
    cols = table_mod.columns_for(rows, ["acc", "loss"], {"acc": "max", "loss": "min"}.get)
    best = table_mod.best_rows(rows, cols)
    assert best["acc"] == {1, 2}  # a tie: both marked
    assert best["loss"] == {0}
    md = table_mod.to_markdown(rows, cols)
    assert md.count("**0.9**\\*") == 2 and "**1**\\*" in md
    # one value is not a contest
    assert "acc" not in table_mod.best_rows(rows[:1], cols)
    by_loss = table_mod.sort_rows(rows, table_mod.find_column("loss", cols))
    assert [r["recipe"] for r in by_loss] == ["a", "b", "c"]  # lower first, missing last
    # train losses of different decoders are not comparable: sortable, never marked best
    rows = [{"recipe": "a", "final_train_loss": 2.0}, {"recipe": "b", "final_train_loss": 3.0}]
    cols = table_mod.columns_for(rows, [], lambda m: "max")
    assert table_mod.best_rows(rows, cols) == {}
    col = table_mod.find_column("final train loss", cols)
    assert [r["recipe"] for r in table_mod.sort_rows(rows, col)] == ["a", "b"]


# ------------------------------------------------------------------------------ infill
TINY_INFILL = """\
dataset: {type: toon, size: 12, count: 60}
mask: {type: boxes, count: [1, 2], size: [0.2, 0.4]}
model: {type: rowrnn, embed: 4, hidden: 8, combiner: {type: linear_add},
        decoder: {type: independent}}
task: {type: infill, eval: {samples: 0, baselines: [telea, ns],
                            masks: [{type: boxes, count: [1, 1], size: [0.3, 0.5]}, center]}}
train: {epochs: 2, batch_size: 8, num_threads: 1}
eval: {limit: 4}
"""


@pytest.fixture(scope="module")
def infill_compare(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    root = tmp_path_factory.mktemp("infill")
    # draw the toy faces once for the module, in a cache of its own
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PIXELZOO_CACHE", str(root / "cache"))
        yield _infill_compare(root)


def _infill_compare(root: Path) -> dict[str, Path]:
    (root / "ind.yaml").write_text(TINY_INFILL)
    (root / "cond.yaml").write_text("extends: ind.yaml\nmodel: {decoder: {type: conditional}}\n")
    # restates ind.yaml's own choice: the same recipe once resolved, so it is trained once
    (root / "same.yaml").write_text("extends: ind.yaml\nmodel: {decoder: {type: independent}}\n")
    rc = main(["compare", *(str(root / f"{n}.yaml") for n in ("ind", "cond", "same")),
               "--out", str(root / "runs"), "--compare-out", str(root / "cmp"), "-q"])
    assert rc == 0
    return {"root": root, "runs": root / "runs", "out": _only_child(root / "cmp")}


def test_infill_table_has_recipe_and_baseline_rows(infill_compare: dict[str, Path]) -> None:
    out = infill_compare["out"]
    rows = _read_csv(out / "compare.csv")
    assert [r["recipe"] for r in rows] == ["ind", "cond", "same", "TELEA (OpenCV)",
                                           "NS (OpenCV)"]
    assert [r["kind"] for r in rows] == ["model"] * 3 + ["baseline"] * 2
    assert [r["decoder"] for r in rows[:3]] == ["independent", "conditional", "independent"]
    # identical recipes were trained once; their rows share the run
    assert len(_run_dirs(infill_compare["runs"])) == 2
    assert rows[0]["run_dir"] == rows[2]["run_dir"] != rows[1]["run_dir"]
    for name in ("boxes/psnr", "boxes/ssim", "center/psnr", "center/mean/psnr"):
        assert all(r[name] != "" for r in rows), name
    # a baseline has no decoding: the same value under every decoding's column, and no NLL
    for r in rows[3:]:
        assert r["boxes/psnr"] == r["boxes/mean/psnr"]
        assert r["boxes/nll_bits"] == ""
        assert r["parameters"] == "" and r["combiner"] == ""
    # baseline numbers are the run's own report, on the same images and holes
    summary = json.loads(Path(rows[0]["run_dir"], "summary.json").read_text())
    recorded = {(t["mask_set"], t["method"]): t for t in summary["infill_table"]}
    assert float(rows[3]["center/ssim"]) == pytest.approx(recorded[("center", "TELEA")]["ssim"])
    assert float(rows[4]["boxes/l1"]) == pytest.approx(recorded[("boxes", "NS")]["l1"])
    md = (out / "compare.md").read_text()
    assert "| TELEA (OpenCV) |" in md and "| NS (OpenCV) |" in md
    assert "ind = same" in md


def test_infill_grid_is_a_real_png(infill_compare: dict[str, Path]) -> None:
    import cv2

    data = (infill_compare["out"] / "infill_grid.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 10_000
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    # original, holes, two distinct runs, TELEA, NS: six columns, wider than tall for 4 rows
    assert img is not None and img.shape[1] > img.shape[0] > 300
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 50


def test_infill_baselines_are_computed_when_a_run_lacks_them(
        infill_compare: dict[str, Path], tmp_path: Path) -> None:
    from pixelzoo.report.infill import InfillExtras

    records = [runs_mod.read_run(p) for p in sorted(_run_dirs(infill_compare["runs"]))]
    recorded = InfillExtras(records).baseline_table()
    for r in records:
        r.summary.pop("infill_table")
    computed = InfillExtras(records).baseline_table()
    key = {(t["mask_set"], t["method"]): t for t in recorded}
    assert len(computed) == len(recorded) == 4
    for t in computed:
        for metric in ("psnr", "ssim", "l1", "accuracy"):
            assert t[metric] == pytest.approx(key[(t["mask_set"], t["method"])][metric])


def test_infill_runs_with_other_holes_are_refused(infill_compare: dict[str, Path],
                                                  tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    a, b = sorted(_run_dirs(infill_compare["runs"]))
    summary = json.loads((b / "summary.json").read_text())
    prints = dict(summary["eval_fingerprint"])
    prints["center"] = "0" * 16
    other = _copy_run(b, tmp_path / "other", edit_summary={"eval_fingerprint": prints})
    rc = main(["compare", str(a), str(other), "--compare-out", str(tmp_path / "c")])
    err = capsys.readouterr().err
    assert rc == 2
    assert "eval set 'center': fingerprint" in err and "boxes" not in err


# ------------------------------------------------------------------------------ shipped recipes
SEED = Path(__file__).resolve().parents[1] / "recipes" / "seed"


def test_seed_recipes_each_change_one_choice_on_one_eval_set() -> None:
    from pixelzoo.recipe import load_recipe

    base = load_recipe(SEED / "base.yaml")
    mine = ["concat", "linear_add", "gated", "independent", "conditional", "directions1",
            "directions4"]
    recipes = [load_recipe(SEED / f"{name}.yaml") for name in mine]
    runs_mod.check_comparable(["base", *mine], [base.data] + [r.data for r in recipes])
    seen = set()
    for name, r in zip(mine, recipes, strict=True):
        diff = {k for k in r.data["model"] if r.data["model"][k] != base.data["model"][k]}
        rest = {k for k in r.data if k not in ("model", "name") and r.data[k] != base.data[k]}
        assert len(diff) <= 1 and not rest, (name, diff, rest)
        seen |= {str(r.data["model"][k]) for k in diff}
    assert len(seen) == 4  # concat, gated, independent and 4 directions differ from the base


def test_timm_rows_sit_beside_rowrnn_rows(tmp_path: Path) -> None:
    from pixelzoo.compare import run_row

    def record(name: str, arch: dict) -> runs_mod.RunRecord:
        summary = {"recipe": name, "task": "classification", "architecture": arch,
                   "parameters": 10, "final_metrics": {"accuracy": 0.5}}
        return runs_mod.RunRecord(tmp_path / name, {"task": {"type": "classification"}}, summary)

    rnn = run_row(record("rnn", {"model": "rowrnn", "combiner": "linear_add",
                                 "decoder": "classifier", "directions": 4, "layers": 1,
                                 "hidden": 64}))
    cnn = run_row(record("cnn", {"model": "timm", "name": "resnet18", "decoder": "classifier"}))
    cols = table_mod.columns_for([rnn, cnn], ["accuracy"], lambda m: "max")
    keys = [c.key for c in cols]
    assert keys[:3] == ["recipe", "model", "combiner"] and "accuracy" in keys
    md = table_mod.to_markdown([rnn, cnn], cols)
    assert "| cnn | timm resnet18 | — | classifier | — |" in md
    # RowRNNs alone need no model column
    assert "model" not in [c.key for c in table_mod.columns_for([rnn], [], lambda m: "max")]
