"""Extra evaluation datasets (`eval.datasets`): scored at the end beside the recipe's own split.

Two tiny infill runs on 12x12 `toon` faces, each also scored on two out-of-distribution sets
(`lineart` and `skimage_photos` at the same size, the second under a label of its own), are
trained once for the module. The tests read their console output, summary.json and pictures,
compare them, and re-evaluate one from its run folder (`model.weights: RUN`, `train.epochs: 0`).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from pixelzoo.cli import main

TINY = """\
dataset: {type: toon, size: 12, count: 60}
mask: {type: boxes, count: [1, 2], size: [0.2, 0.4]}
model: {type: rowrnn, embed: 4, hidden: 8, combiner: {type: linear_add},
        decoder: {type: independent}}
task: {type: infill, eval: {samples: 2, baselines: [telea, biharmonic],
                            masks: [{type: boxes, count: [1, 1], size: [0.3, 0.5]}, center]}}
train: {epochs: 2, batch_size: 8, num_threads: 1}
eval:
  limit: 4
  datasets: [{type: lineart, size: 12}, {type: skimage_photos, size: 12, label: photos}]
"""
SETS = {"boxes", "center"}


def _run_dirs(root: Path) -> list[Path]:
    return sorted(p.parent for p in root.glob("*/*/config.yaml"))


def _summary(run: Path) -> dict:
    return json.loads((run / "summary.json").read_text())


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("ood")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PIXELZOO_CACHE", str(root / "cache"))
        (root / "ind.yaml").write_text(TINY)
        (root / "cond.yaml").write_text("extends: ind.yaml\n"
                                        "model: {decoder: {type: conditional}}\n")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            for name in ("ind", "cond"):
                assert main(["run", str(root / f"{name}.yaml"), "--out",
                             str(root / "runs")]) == 0
        yield {"root": root, "runs": _run_dirs(root / "runs"), "stdout": out.getvalue()}


def test_each_dataset_has_its_table_summary_entry_and_pictures(runs: dict) -> None:
    text = " ".join(runs["stdout"].split())
    assert "infill on 'lineart' (eval.datasets)" in text
    assert "infill on 'photos' (eval.datasets)" in text
    for run in runs["runs"]:
        s = _summary(run)
        assert set(s["datasets"]) == {"lineart", "photos"}
        # the own split's keys are as they were: final_metrics is the own split's alone
        assert all(":" not in k for k in s["final_metrics"])
        assert set(s["eval_fingerprint"]) == SETS
        for label, kind in (("lineart", "lineart"), ("photos", "skimage_photos")):
            entry = s["datasets"][label]
            assert entry["dataset"]["type"] == kind and "label" not in entry["dataset"]
            assert entry["split"] == "test" and entry["images"] == 4  # eval.limit
            assert set(entry["metrics"]) == set(s["final_metrics"])
            assert entry["metrics"] != s["final_metrics"]  # other images, other numbers
            assert set(entry["eval_fingerprint"]) == SETS
            methods = {(r["mask_set"], r["method"]) for r in entry["infill_table"]}
            assert ("center", "biharmonic") in methods and ("boxes", "model (mean)") in methods
            assert sorted(entry["samples"]) == [f"samples/{label}/boxes.png",
                                                f"samples/{label}/center.png"]
            for pic in entry["samples"]:
                assert (run / pic).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        # the same holes on every dataset: the hole fractions match the own split's
        for name in SETS:
            own = s["eval_sets"][name]["hole_fraction"]
            assert s["datasets"]["lineart"]["eval_sets"][name]["hole_fraction"] == own
        # `best` follows the own validation split: no dataset metric in the epoch rows
        with open(run / "metrics.csv", newline="") as fh:
            header = next(csv.reader(fh))
        assert "boxes/psnr" in header and not any(":" in k for k in header)
        assert s["best_metric"]["name"] == "boxes/psnr"


def test_compare_shows_each_dataset_beside_the_own_split(runs: dict, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    a, b = runs["runs"]
    assert main(["compare", str(a), str(b), "--compare-out", str(tmp_path / "cmp"),
                 "--grid-images", "0"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "lineart:boxes" in out and "photos:center" in out
    (folder,) = (tmp_path / "cmp").iterdir()
    with open(folder / "compare.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["kind"] for r in rows] == ["model", "model", "baseline", "baseline"]
    assert [r["recipe"] for r in rows[2:]] == ["TELEA (OpenCV)", "biharmonic (scikit-image)"]
    for run, row in zip((a, b), rows, strict=False):
        s = _summary(run)
        assert float(row["boxes/psnr"]) == pytest.approx(s["final_metrics"]["boxes/psnr"])
        assert float(row["lineart:boxes/psnr"]) == pytest.approx(
            s["datasets"]["lineart"]["metrics"]["boxes/psnr"])
        assert float(row["photos:center/mean/ssim"]) == pytest.approx(
            s["datasets"]["photos"]["metrics"]["center/mean/ssim"])
    # the baselines' rows fill the datasets' columns from the runs' own reports
    table = {(t["mask_set"], t["method"]): t
             for t in _summary(a)["datasets"]["photos"]["infill_table"]}
    assert float(rows[3]["photos:center/psnr"]) == pytest.approx(
        table[("center", "biharmonic")]["psnr"])
    assert rows[3]["photos:center/nll_bits"] == ""
    md = (folder / "compare.md").read_text()
    assert "lineart:boxes/psnr" in md and "| biharmonic (scikit-image) |" in md


def test_runs_with_other_eval_datasets_are_refused(runs: dict, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    a, b = runs["runs"]
    other = tmp_path / "other"
    shutil.copytree(b, other)
    config = yaml.safe_load((other / "config.yaml").read_text())
    config["eval"]["datasets"] = config["eval"]["datasets"][:1]
    (other / "config.yaml").write_text(yaml.safe_dump(config))
    assert main(["compare", str(a), str(other), "--compare-out", str(tmp_path / "c")]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "not comparable" in err and "eval.datasets" in err


def test_a_dataset_of_another_size_is_refused_before_training(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PIXELZOO_CACHE", "off")
    recipe = tmp_path / "r.yaml"
    recipe.write_text(TINY.replace("{type: skimage_photos, size: 12, label: photos}",
                                   "{type: skimage_photos, label: photos}"))
    assert main(["run", str(recipe), "--out", str(tmp_path / "runs")]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "eval.datasets[1] (photos): its images are 3x36x36" in err
    assert "the model reads 3x12x12" in err and "size: 12" in err
    assert not list((tmp_path / "runs").glob("*/*/metrics.csv"))  # nothing was trained


@pytest.mark.parametrize("bad, message", [
    ("[lineart, {type: lineart, label: lineart}]", "another dataset has this label"),
    ("[{type: lineart, label: 'a:b'}]", "must not hold ':'"),
    ("[{type: lineart, label: ../up}]", "plain folder name"),
    ("[{type: lineart, sise: 12}]", "eval.datasets[0].sise: unknown parameter for dataset "
                                    "'lineart'; did you mean 'size'?"),
])
def test_bad_eval_datasets_are_recipe_errors(bad: str, message: str) -> None:
    from pixelzoo.errors import RecipeError
    from pixelzoo.recipe import recipe_from_dict

    data = yaml.safe_load(TINY)
    data["eval"]["datasets"] = yaml.safe_load(bad)
    with pytest.raises(RecipeError) as info:
        recipe_from_dict(data)
    assert message in str(info.value)


def test_repeated_types_get_numbered_labels() -> None:
    from pixelzoo.recipe import recipe_from_dict
    from pixelzoo.schema import dataset_labels

    data = yaml.safe_load(TINY)
    data["eval"]["datasets"] = ["lineart", {"type": "lineart", "seed": 3}, "toon"]
    resolved = recipe_from_dict(data).data["eval"]["datasets"]
    assert dataset_labels(resolved) == ["lineart", "lineart_2", "toon"]
    assert resolved[1]["seed"] == 3 and resolved[0]["size"] == 36  # each part's defaults


# ------------------------------------------------------------------------------ model.weights
def test_a_run_folder_as_weights_reproduces_its_final_metrics(runs: dict, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    monkeypatch.setenv("PIXELZOO_CACHE", str(runs["root"] / "cache"))
    trained = runs["runs"][0]
    # a path relative to the recipe file, as `extends` is
    shutil.copytree(trained, tmp_path / "mine")
    (tmp_path / "ind.yaml").write_text(TINY)
    (tmp_path / "again.yaml").write_text(
        "extends: ind.yaml\nmodel: {weights: mine}\ntrain: {epochs: 0}\n")
    monkeypatch.chdir(runs["root"])  # not where the recipe is
    assert main(["run", str(tmp_path / "again.yaml"), "--out", str(tmp_path / "runs"),
                 "-q"]) == 0
    (again,) = _run_dirs(tmp_path / "runs")
    before, after = _summary(trained), _summary(again)
    assert after["epochs_completed"] == 0
    assert after["final_metrics"] == before["final_metrics"]
    for label in ("lineart", "photos"):
        assert after["datasets"][label]["metrics"] == before["datasets"][label]["metrics"]
    config = yaml.safe_load((again / "config.yaml").read_text())
    assert config["model"]["weights"] == str(tmp_path / "mine")
    assert config["model"]["hidden"] == 8  # the run's own model section
    # the evaluation run stands for the weights it evaluated (compare's grid loads it so)
    import torch

    from pixelzoo.engine.build import create_model, find_weights

    assert find_weights(again) == find_weights(tmp_path / "mine")
    a, b = create_model(weights=again), create_model(weights=trained)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb)


def test_a_missing_run_folder_is_a_clear_recipe_error(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    data = yaml.safe_load(TINY)
    data["model"] = {"weights": "runs/no/such/run"}
    (tmp_path / "r.yaml").write_text(yaml.safe_dump(data))
    assert main(["run", str(tmp_path / "r.yaml"), "--out", str(tmp_path / "runs")]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "model.weights: no shipped weights named 'runs/no/such/run'" in err
    assert "Nor is it a run folder" in err and str(tmp_path) in err


def test_weights_beside_a_run_folder_must_fit_it(runs: dict, tmp_path: Path) -> None:
    from pixelzoo.errors import RecipeError
    from pixelzoo.recipe import recipe_from_dict

    data = yaml.safe_load(TINY)
    data["model"] = {"weights": str(runs["runs"][0]), "hidden": 16}
    with pytest.raises(RecipeError) as info:
        recipe_from_dict(data)
    assert "model.hidden: 16 does not fit the weights in" in str(info.value)
    # a folder that is not a run
    data["model"] = {"weights": str(tmp_path)}
    with pytest.raises(RecipeError) as info:
        recipe_from_dict(data)
    assert "not a run folder (no config.yaml in it)" in str(info.value)


# ------------------------------------------------------------------------------ packaging
def test_a_run_is_packaged_as_weights_with_its_ood_metrics(runs: dict, tmp_path: Path) -> None:
    """`python -m pixelzoo.weights.package` writes a folder whose record is the file's own
    (hash, architecture, parameters) with the in- and out-of-distribution metrics of the
    evaluation run, and the folder loads as weights."""
    import torch

    from pixelzoo import weights
    from pixelzoo.engine.build import create_model
    from pixelzoo.weights.package import main as package_main

    trained = runs["runs"][0]
    dest = tmp_path / "tiny_infill"
    assert package_main([str(trained), "--tag", "tiny_infill", "--scores", str(trained),
                         "--recipe", "recipes/x.yaml", "--hardware", "a test", "--dest",
                         str(dest), "--fill-decoding", "fused"]) == 0
    shipped = yaml.safe_load((dest / "config.yaml").read_text())
    assert shipped["task"]["fill_decoding"] == "fused" and "fused" in shipped["task"]
    meta = json.loads((dest / "meta.json").read_text())
    record = weights.Weights("tiny_infill", dest, meta)
    assert record.verify() == dest / "model.safetensors"
    model = create_model(weights=dest / "model.safetensors")
    assert sum(p.numel() for p in model.state_dict().values()) == meta["parameters"]
    assert meta["architecture"]["model"]["hidden"] == 8 and meta["task"] == "infill"
    assert meta["fill_decoding"] == "fused" and "greedy" in meta["fill_decoding_note"]
    assert meta["input"]["preprocessing"]["size"] == 12
    summary = _summary(trained)
    # keyed by decoding: the run's first one (greedy) says so
    assert meta["metrics"]["values"]["boxes/greedy/psnr"] == round(
        summary["final_metrics"]["boxes/psnr"], 2)
    assert meta["metrics"]["values"]["boxes/mean/psnr"] == round(
        summary["final_metrics"]["boxes/mean/psnr"], 2)
    ood = meta["metrics"]["out_of_distribution"]
    assert set(ood) == {"lineart", "photos"} and ood["photos"]["images"] == 4
    assert ood["lineart"]["values"]["center/greedy/ssim"] == round(
        summary["datasets"]["lineart"]["metrics"]["center/ssim"], 3)
    assert meta["training"]["steps"] == summary["steps"]
    a = create_model(weights=trained)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), model.state_dict().items(),
                                  strict=True):
        assert ka == kb and torch.equal(va, vb)
    assert package_main([str(tmp_path / "nope"), "--tag", "t", "--scores", str(trained),
                         "--recipe", "r", "--hardware", "h", "--dest", str(dest)]) == 2
