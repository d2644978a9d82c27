"""Weights as parts: the record and its hash, recipes that start from weights (fine-tune and
evaluate), `pixelzoo compare` with a weights name, and the Python API (`pixelzoo.create_model`,
`pixelzoo.fill`) against what `pixelzoo infill` writes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import yaml

import pixelzoo
from pixelzoo import weights
from pixelzoo.cli import main
from pixelzoo.errors import PixelzooError, RecipeError

ROOT = Path(__file__).resolve().parents[1]

#: A recipe that starts from the shipped weights, as small as an honest run gets: a few toon
#: faces, two optimizer steps, one evaluation hole set on four images.
FINE_TUNE = """\
dataset: {type: toon, count: 100}
mask: {type: boxes, count: [1, 1], size: [0.2, 0.3]}
model: {weights: toon_infill}
task: {type: infill, eval: {masks: [demo_hole], decodings: [mean], baselines: [telea],
                            samples: 0}}
train: {epochs: 1, steps_per_epoch: 2, batch_size: 4, num_threads: 1,
        optimizer: {type: adam, lr: 1.0e-5}}
eval: {limit: 4, batch_size: 4}
"""


@pytest.fixture(autouse=True)
def _restore_threads() -> Iterator[None]:
    threads = torch.get_num_threads()  # `pixelzoo infill` sets one thread for itself
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The toy faces drawn once for the module, in a cache of its own."""
    root = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PIXELZOO_CACHE", str(root))
        yield root


def _state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


# ------------------------------------------------------------------------------ the record
@pytest.mark.parametrize("tag", weights.names())
def test_each_record_matches_its_file(tag: str) -> None:
    """sha256, parameter count and architecture in meta.json are the file's own, and the
    metrics say what they were measured on."""
    from pixelzoo.engine.checkpoint import read_weights

    w = weights.get(tag)
    for key in ("tag", "sha256", "architecture", "input", "parameters", "metrics", "recipe",
                "pixelzoo_version"):
        assert key in w.meta, key
    assert w.verify() == w.file
    state, arch = read_weights(w.file)
    assert arch == w.architecture
    assert sum(t.numel() for t in state.values()) == w.parameters
    assert (w.meta["input"]["height"], w.meta["input"]["width"]) == (arch["height"],
                                                                     arch["width"])
    measured = w.meta["metrics"]
    assert {"dataset", "split", "images"} <= set(measured) and measured["values"]
    assert measured["primary"] in measured["values"]
    assert (ROOT / w.meta["recipe"]).is_file()
    assert weights.get(w.name).tag == tag  # the timm-style ARCH.TAG names the same weights


def test_toon_infill_record_holds_the_cards_numbers() -> None:
    """The metrics are the card's tables (256 toon test faces, 200 per other set), not new
    numbers."""
    w = weights.get("toon_infill")
    card = (w.folder / "card.md").read_text()
    assert "256 `toon` test faces" in card
    assert w.meta["metrics"]["split"] == "test" and w.meta["metrics"]["images"] == 256
    assert w.metrics["demo_hole/fused/psnr"] == 17.85
    assert "| demo_hole | model (fused) | 17.85 | 0.975 |" in card
    assert w.metrics["seed_blocks/mean/ssim"] == 0.851 and "**0.851**" in card
    photos = w.meta["metrics"]["out_of_distribution"]["skimage_photos"]
    assert photos["images"] == 200 and photos["values"]["demo_hole/fused/psnr"] == 28.42
    assert "| demo_hole | model (fused) | **28.42** | **0.988** |" in card
    assert f"{w.parameters:,}" in card


def test_a_damaged_weights_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    good = weights.get("toon_infill")
    shutil.copytree(good.folder, tmp_path / "toon_infill")
    bad_file = tmp_path / "toon_infill" / "model.safetensors"
    data = bytearray(bad_file.read_bytes())
    data[-1] ^= 0x01  # one bit of one weight: the file still parses, the numbers are wrong
    bad_file.write_bytes(bytes(data))
    monkeypatch.setattr(weights, "ROOT", tmp_path)
    import hashlib

    found = hashlib.sha256(bytes(data)).hexdigest()
    with pytest.raises(weights.WeightsError) as exc:
        pixelzoo.create_model(weights="toon_infill")
    msg = str(exc.value)
    assert str(bad_file) in msg and good.sha256 in msg and found in msg and "mismatch" in msg
    # the command line says the same, without a traceback
    img = tmp_path / "x.png"
    cv2.imwrite(str(img), np.zeros((36, 36, 3), np.uint8))
    assert main(["infill", "toon_infill", "--image", str(img), "--mask", "box:1,1,2,2",
                 "-o", str(tmp_path / "out.png")]) == 2
    err = capsys.readouterr().err
    assert "sha256 mismatch" in err and "Traceback" not in err
    # and a recipe that starts from them never trains on them
    from pixelzoo.engine.build import create_model
    from pixelzoo.recipe import recipe_from_dict

    recipe = recipe_from_dict({"dataset": {"type": "toon", "count": 100}, "task": "infill",
                               "model": {"weights": "toon_infill"}})
    with pytest.raises(weights.WeightsError, match="sha256 mismatch"):
        create_model(recipe)


def test_list_weights_shows_the_record_without_torch() -> None:
    w = weights.get("toon_infill")
    code = ("import sys\n"
            "import pixelzoo\n"
            "from pixelzoo.cli import main\n"
            "assert main(['list', 'weights']) == 0\n"
            "records = pixelzoo.list_weights()\n"
            "assert callable(pixelzoo.create_model) and callable(pixelzoo.fill)\n"
            "assert 'torch' not in sys.modules, 'torch imported'\n"
            "print('CLEAN', records[0]['sha256'])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, env={"COLUMNS": "100", **__import__("os").environ})
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert f"CLEAN {w.sha256}" in text
    assert "toon_infill" in text and "rowrnn.toon_infill" in text
    assert w.sha256[:12] in text
    assert "psnr 17.85" in text and "test split" in text and "256 images" in text
    assert "491,174" in text and "recipes/toon_infill.yaml" in text


def test_import_pixelzoo_stays_light() -> None:
    code = ("import sys, pixelzoo\n"
            "assert 'torch' not in sys.modules and 'pixelzoo.api' not in sys.modules\n"
            "assert {'create_model', 'fill', 'list_weights'} <= set(dir(pixelzoo))\n"
            "print('LIGHT')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0 and "LIGHT" in out.stdout, out.stderr
    with pytest.raises(AttributeError):
        pixelzoo.no_such_name  # noqa: B018


# ------------------------------------------------------------------------------ recipes
def test_a_recipe_names_weights_by_tag_with_clear_errors(tmp_path: Path) -> None:
    from pixelzoo.recipe import load_recipe

    path = tmp_path / "r.yaml"
    path.write_text(FINE_TUNE)
    recipe = load_recipe(path)
    model = recipe.data["model"]
    assert model["weights"] == "toon_infill"  # recorded in config.yaml: where the run began
    assert all(model[k] == v for k, v in weights.get("toon_infill").model_spec.items())
    assert model["directions"] == 4 and model["hidden"] == 64  # the weights' architecture

    path.write_text(FINE_TUNE.replace("{weights: toon_infill}", "{weights: toon_infil}"))
    with pytest.raises(RecipeError) as exc:
        load_recipe(path)
    assert "model.weights: no shipped weights named 'toon_infil'; did you mean 'toon_infill'?" \
        in str(exc.value) and "(line 3)" in str(exc.value)

    path.write_text(FINE_TUNE.replace("{weights: toon_infill}",
                                      "{weights: toon_infill, hidden: 128, hiden: 1}"))
    with pytest.raises(RecipeError) as exc:
        load_recipe(path)
    msg = str(exc.value)
    assert "model.hidden: 128 does not fit the weights 'toon_infill'" in msg and "64" in msg
    assert "model.hiden: unknown parameter for model 'rowrnn'; did you mean 'hidden'?" in msg

    # matching restatements are fine; `weights` never reaches the model's own Config
    path.write_text(FINE_TUNE.replace("{weights: toon_infill}",
                                      "{weights: toon_infill, type: rowrnn, hidden: 64}"))
    assert load_recipe(path).data["model"]["hidden"] == 64


def test_weights_replace_a_base_recipes_model(tmp_path: Path) -> None:
    """`extends:` a recipe with another model, or `--set model.weights=...`: the weights bring
    their whole model section instead of clashing with the base's."""
    from pixelzoo.recipe import load_recipe

    child = tmp_path / "child.yaml"
    child.write_text(f"extends: {ROOT / 'recipes' / 'cartoon_infill.yaml'}\n"
                     "model: {weights: toon_infill}\n")
    assert load_recipe(child).data["model"]["hidden"] == 64
    recipe = load_recipe(ROOT / "recipes" / "cartoon_infill.yaml",
                         ["model.weights=toon_infill", "train.epochs=0"])
    assert recipe.data["model"]["weights"] == "toon_infill"
    assert recipe.data["model"]["embed"] == 32 and recipe.data["train"]["epochs"] == 0


def test_weights_that_do_not_fit_the_data_are_refused() -> None:
    from pixelzoo.engine.build import create_model
    from pixelzoo.recipe import recipe_from_dict

    recipe = recipe_from_dict({"dataset": {"type": "digits"}, "task": "classification",
                               "model": {"weights": "toon_infill"}})
    with pytest.raises(weights.WeightsError) as exc:
        create_model(recipe)
    assert "model.weights" in str(exc.value) and "channels: expected 1, found 3" in str(exc.value)


@pytest.fixture(scope="module")
def fine_tuned(tmp_path_factory: pytest.TempPathFactory, cache: Path) -> Path:
    """`pixelzoo run` of a recipe that starts from the shipped weights: two steps."""
    root = tmp_path_factory.mktemp("finetune")
    (root / "finetune.yaml").write_text(FINE_TUNE)
    assert main(["run", str(root / "finetune.yaml"), "--out", str(root / "runs"), "-q"]) == 0
    (run,) = (root / "runs" / "finetune").iterdir()
    return run


def test_fine_tuning_starts_from_the_weights(fine_tuned: Path) -> None:
    from pixelzoo.engine.build import create_model

    summary = json.loads((fine_tuned / "summary.json").read_text())
    assert summary["steps"] == 2 and summary["epochs_completed"] == 1
    assert yaml.safe_load((fine_tuned / "config.yaml").read_text())["model"]["weights"] == \
        "toon_infill"
    shipped = _state(create_model(weights="toon_infill"))
    tuned = _state(create_model(weights=fine_tuned))  # the run's best checkpoint
    torch.manual_seed(0)
    fresh = _state(create_model("rowrnn", **{k: v for k, v in weights.get(
        "toon_infill").model_spec.items() if k != "type"}))
    assert tuned.keys() == shipped.keys()
    moved = max((tuned[k] - shipped[k]).abs().max().item() for k in tuned)
    apart = max((fresh[k] - shipped[k]).abs().max().item() for k in tuned)
    # two small steps from the shipped weights: trained, and still next to where they began
    assert 0 < moved < apart / 100, (moved, apart)


def test_evaluating_weights_with_zero_epochs(tmp_path: Path, cache: Path) -> None:
    from pixelzoo.engine.build import create_model

    recipe = tmp_path / "evaluate.yaml"
    recipe.write_text(FINE_TUNE.replace("epochs: 1", "epochs: 0"))
    assert main(["run", str(recipe), "--out", str(tmp_path / "runs"), "-q"]) == 0
    (run,) = (tmp_path / "runs" / "evaluate").iterdir()
    summary = json.loads((run / "summary.json").read_text())
    assert summary["steps"] == 0 and summary["epochs_completed"] == 0
    assert summary["final_metrics"]["demo_hole/psnr"] > 0
    assert not list((run / "checkpoints").glob("*.safetensors"))  # nothing trained, nothing new
    # the run stands for the weights it evaluated
    shipped, evaluated = (_state(create_model(weights=w)) for w in ("toon_infill", run))
    assert all(torch.equal(shipped[k], evaluated[k]) for k in shipped)
    assert create_model(weights=run).pixelzoo.tag == "toon_infill"


def test_compare_evaluates_a_weights_name_on_the_others_sets(
        fine_tuned: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pixelzoo import compare as compare_mod

    assert main(["compare", str(fine_tuned), "toon_infill", "--out", str(tmp_path / "runs"),
                 "--compare-out", str(tmp_path / "cmp"), "--grid-images", "1", "-q"]) == 0
    (out,) = (tmp_path / "cmp").iterdir()
    rows = {r["recipe"]: r for r in json.loads((out / "compare.json").read_text())["rows"]}
    assert {"finetune", "toon_infill"} <= set(rows)
    run = Path(rows["toon_infill"]["run_dir"])
    config = yaml.safe_load((run / "config.yaml").read_text())
    tuned = yaml.safe_load((fine_tuned / "config.yaml").read_text())
    # evaluated, not trained, on the fine-tuned run's data and evaluation sets
    assert config["model"]["weights"] == "toon_infill" and config["train"]["epochs"] == 0
    assert config["dataset"] == tuned["dataset"] and config["eval"] == tuned["eval"]
    assert json.loads((run / "summary.json").read_text())["steps"] == 0
    assert rows["toon_infill"]["demo_hole/psnr"] is not None
    assert (out / "infill_grid.png").is_file()
    # a misspelt weights name is caught before anything runs
    with pytest.raises(PixelzooError, match="did you mean the shipped weights 'toon_infill'"):
        compare_mod.compare(["toon_infil"], out_root=tmp_path / "r2", quiet=True)


# ------------------------------------------------------------------------------ the API
@pytest.fixture(scope="module")
def face(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, Path, np.ndarray]:
    """A 500x500 face PNG and its RGB pixels, and a mask PNG drawn on it with its bool mask."""
    from pixelzoo.data.toon import render_faces

    root = tmp_path_factory.mktemp("face")
    rgb = render_faces(1, seed=11, split="test")[0]
    cv2.imwrite(str(root / "face.png"), rgb[:, :, ::-1])
    mask = np.zeros(rgb.shape[:2], bool)
    mask[210:290, 180:330] = True
    cv2.imwrite(str(root / "mask.png"), mask.astype(np.uint8) * 255)
    return root / "face.png", rgb, root / "mask.png", mask


@pytest.mark.parametrize("cli, api", [
    (["--decoding", "mean"], {"decoding": "mean"}),
    (["--temperature", "0.8", "--seed", "3"], {"decoding": "sample", "temperature": 0.8,
                                              "seed": 3}),
])
def test_fill_gives_what_the_infill_command_writes(face, tmp_path: Path, cli: list[str],
                                                   api: dict) -> None:
    image, rgb, mask_png, mask = face
    out = tmp_path / "out.png"
    assert main(["infill", "toon_infill", "--image", str(image), "--mask", str(mask_png),
                 "-o", str(out), *cli]) == 0
    written = cv2.imread(str(out), cv2.IMREAD_COLOR)[:, :, ::-1]
    model = pixelzoo.create_model("rowrnn", weights="toon_infill")
    filled = pixelzoo.fill(model, rgb, mask, **api)
    assert filled.shape == (36, 36, 3) and filled.dtype == np.uint8
    assert np.array_equal(filled, written)
    assert np.array_equal(pixelzoo.fill(model, image, mask, **api), filled)  # a path works too


def test_fill_accepts_a_batch_and_the_models_grid(face) -> None:
    from pixelzoo.api import prepare

    _, rgb, _, mask = face
    model = pixelzoo.create_model("rowrnn.toon_infill")
    info = model.pixelzoo
    assert (info.tag, info.task, info.channels, info.height, info.fill_decoding) == \
        ("toon_infill", "infill", 3, 36, "fused")
    assert info.preprocessing == {"crop": 300, "size": 36} and info.meta["sha256"]
    one = pixelzoo.fill(model, rgb, mask, decoding="greedy")
    prep = prepare(model, rgb, mask)
    small = prep.images[0].transpose(1, 2, 0)  # the face at the model's grid, and its holes
    grid_mask = prep.holes[0, 0]
    assert np.array_equal(pixelzoo.fill(model, small, grid_mask, decoding="greedy"), one)
    # known pixels come back unchanged; holes are filled
    assert np.array_equal(one[~grid_mask], small[~grid_mask])
    batch = pixelzoo.fill(model, np.stack([rgb, rgb[:, ::-1]]), mask, decoding="greedy")
    assert batch.shape == (2, 36, 36, 3) and np.array_equal(batch[0], one)
    with pytest.raises(PixelzooError, match="no holes"):
        pixelzoo.fill(model, rgb, np.zeros_like(mask))
    with pytest.raises(PixelzooError, match="unknown decoding"):
        pixelzoo.fill(model, rgb, mask, decoding="best")


def test_two_threads_fill_with_one_model_at_once(face, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each call's temperature is its own, and no lock makes the second wait for the first."""
    import threading

    from pixelzoo.api import fill_prepared, prepare
    from pixelzoo.engine.build import inference_task

    _, rgb, _, mask = face
    model = pixelzoo.create_model(weights="toon_infill")
    prep = prepare(model, rgb, mask)
    task = inference_task(model, "infill")
    default = task.config.temperature
    serial = {t: fill_prepared(model, prep.images, prep.holes, decoding="sample", temperature=t,
                               seed=5) for t in (0.3, 3.0)}
    assert not np.array_equal(serial[0.3], serial[3.0])  # the temperature matters here
    both_inside = threading.Barrier(2, timeout=20)  # broken if one fill waits for the other
    real_fill = task.fill

    def fill_when_both_are_inside(*args, **kw):
        both_inside.wait()
        return real_fill(*args, **kw)

    monkeypatch.setattr(task, "fill", fill_when_both_are_inside)
    results: dict[float, np.ndarray] = {}

    def work(t: float) -> None:
        results[t] = fill_prepared(model, prep.images, prep.holes, decoding="sample",
                                   temperature=t, seed=5)

    threads = [threading.Thread(target=work, args=(t,)) for t in serial]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert set(results) == set(serial)
    for t, filled in serial.items():
        assert np.array_equal(results[t], filled)
    assert task.config.temperature == default  # the shared task's own setting is untouched
    fresh = pixelzoo.create_model("rowrnn", embed=4, hidden=8, channels=1, height=8, width=8)
    assert (fresh.pixelzoo.channels, fresh.pixelzoo.source) == (1, None)
    assert fresh.training  # a fresh model, ready to train
    gray, hole = np.full((20, 20), 128, np.uint8), np.zeros((20, 20), bool)
    hole[5:10, 5:10] = True
    assert pixelzoo.fill(fresh, gray, hole, decoding="greedy").shape == (8, 8)  # one channel
    assert not pixelzoo.create_model(weights="toon_infill").training
    with pytest.raises(PixelzooError, match="hidden=8 does not fit the weights toon_infill"):
        pixelzoo.create_model(weights="toon_infill", hidden=8)
    with pytest.raises(PixelzooError, match="'timm' does not fit the weights"):
        pixelzoo.create_model("timm", weights="toon_infill")
    with pytest.raises(PixelzooError, match="did you mean 'toon_infill'"):
        pixelzoo.create_model(weights="toon_infil")
    with pytest.raises(RecipeError, match="did you mean 'hidden'"):
        pixelzoo.create_model("rowrnn", hiden=8)


def test_a_mixture_is_prepared_like_its_first_component() -> None:
    """Weights trained on a mixture take their first component's crop and size, so a full-size
    Cartoon Set image is cropped as their training faces were."""
    from pixelzoo.engine.build import ModelInfo

    recipe = {"dataset": {"type": "mixture", "weights": [0.5, 0.5], "datasets": [
        {"type": "toon", "count": 10, "crop": 300, "size": 36},
        {"type": "toon", "count": 10, "crop": 300, "size": 36, "style": "varied"}]}}
    info = ModelInfo("rowrnn", {}, 3, 36, 36, recipe=recipe)
    assert info.preprocessing == {"crop": 300, "size": 36}
    assert ModelInfo("rowrnn", {}, 3, 36, 36, recipe={"dataset": {"type": "toon", "crop": 200,
                                                                   "size": 36}}
                     ).preprocessing == {"crop": 200, "size": 36}
