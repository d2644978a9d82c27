"""The infill task owns its settings (`task.eval`), declares its metrics, and old spellings load.

Old recipes wrote the infill task's evaluation keys into the core `eval` section (`eval.masks`,
`eval.decoding`, `eval.baselines`, `eval.samples`); they keep loading, read as the new
`task.eval.*` keys, with one note naming the new spelling.
"""

from __future__ import annotations

import argparse
import typing
from pathlib import Path

import pytest
import yaml

from pixelzoo.cli import build_parser, main
from pixelzoo.errors import PixelzooError, RecipeError
from pixelzoo.recipe import load_recipe, recipe_from_dict
from pixelzoo.registry import registry_for
from pixelzoo.report import runs as runs_mod
from pixelzoo.tasks.infill import InfillTask
from pixelzoo.tasks.infill_config import DECODINGS, InfillConfig, InfillEvalConfig

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "pixelzoo" / "weights" / "toon_infill" / "config.yaml"

NEW = """\
dataset: {type: toon, size: 12, count: 40}
mask: boxes
model: {type: rowrnn, embed: 4, hidden: 8}
task:
  type: infill
  eval: {masks: [center, boxes, boxes], decodings: [greedy, mean], baselines: [telea]}
"""
OLD = """\
dataset: {type: toon, size: 12, count: 40}
mask: boxes
model: {type: rowrnn, embed: 4, hidden: 8}
task: {type: infill}
eval:
  limit: 4
  masks: [center, boxes, boxes]
  decoding: [greedy, mean]
  baselines: [telea]
"""


def write(tmp_path: Path, text: str, name: str = "r.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# ------------------------------------------------------------------------------ old spellings
def test_the_shipped_config_is_in_the_final_layout() -> None:
    """The retrained weights' config.yaml needs no migration (the old spellings are covered by
    the tests below)."""
    config = yaml.safe_load(SHIPPED.read_text())
    assert not {"masks", "decoding", "baselines", "samples"} & set(config["eval"])
    recipe = recipe_from_dict(config, name="toon_infill")
    assert recipe.notes == []
    ev = recipe.data["task"]["eval"]
    assert ev["masks"] == config["task"]["eval"]["masks"] and ev["baselines"] == [
        "telea", "ns", "biharmonic"]


def test_an_old_recipe_resolves_like_its_new_spelling(tmp_path: Path) -> None:
    new = load_recipe(write(tmp_path, NEW + "eval: {limit: 4}\n", "new.yaml"))
    old = load_recipe(write(tmp_path, OLD, "old.yaml"))
    assert new.notes == []
    assert len(old.notes) == 1 and old.notes[0].startswith("old.yaml: old recipe spelling")
    assert old.data == new.data


def test_validate_shows_the_note_and_run_prints_it(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(write(tmp_path, OLD))]) == 0
    err = capsys.readouterr().err
    assert err.count("old recipe spelling") == 1 and "task.eval.masks" in err


def test_old_and_new_spellings_mix_across_extends_and_set(tmp_path: Path) -> None:
    write(tmp_path, OLD, "base.yaml")
    variant = write(tmp_path, "extends: base.yaml\ntask: {eval: {samples: 0}}\n", "v.yaml")
    r = load_recipe(variant, ["eval.decoding=[mean, sample]", "eval.masks.0.size=0.25"])
    ev = r.data["task"]["eval"]
    assert ev["samples"] == 0 and ev["decodings"] == ["mean", "sample"]
    assert ev["masks"][0] == {"type": "center", "size": 0.25} and len(ev["masks"]) == 3
    assert any(n.startswith("--set: ") and "eval.decoding -> task.eval.decodings" in n
               for n in r.notes)


def test_an_error_in_the_old_spelling_points_at_its_line(tmp_path: Path) -> None:
    with pytest.raises(RecipeError) as info:
        load_recipe(write(tmp_path, OLD.replace("decoding: [greedy, mean]",
                                                "decoding: [greedy, meen]")))
    msg = str(info.value)
    assert "task.eval.decodings[1]: Input should be" in msg
    assert "did you mean 'mean'?" in msg and "(line 8)" in msg  # where it is written


def test_old_defaults_written_by_every_old_config_are_dropped_silently() -> None:
    data = {"dataset": "digits", "model": {"type": "rowrnn", "embed": 4, "hidden": 8},
            "task": "classification",
            "eval": {"limit": 8, "masks": [], "baselines": [], "decoding": [], "samples": 8}}
    r = recipe_from_dict(data, name="old_run")
    assert r.notes == [] and r.data["task"] == {"type": "classification",
                                                "label_smoothing": 0.0}


def test_an_old_run_compares_with_a_new_recipe(tmp_path: Path) -> None:
    saved = yaml.safe_load(OLD)  # a config.yaml as the old resolver wrote it
    saved["eval"]["samples"] = 8
    old = runs_mod.current_config(saved)
    new = load_recipe(write(tmp_path, NEW + "eval: {limit: 4}\n")).data
    runs_mod.check_comparable(["old", "new"], [old, new])
    other = load_recipe(write(tmp_path, NEW.replace("center, boxes, boxes", "center")
                              + "eval: {limit: 4}\n", "other.yaml")).data
    with pytest.raises(PixelzooError, match=r"task\.eval\.masks: "):
        runs_mod.check_comparable(["old", "other"], [old, other])


# ------------------------------------------------------------------------------ settings
def test_the_settings_are_the_tasks_own(tmp_path: Path) -> None:
    with pytest.raises(RecipeError) as info:
        load_recipe(write(tmp_path, NEW.replace("baselines: [telea]", "baselines: [teela]")
                          .replace("decodings:", "decodingz:")))
    msg = str(info.value)
    assert "task.eval.decodingz: unknown parameter for task 'infill'; did you mean " \
           "'decodings'?" in msg
    assert "unknown baseline 'teela'; did you mean 'telea'?" in msg
    r = load_recipe(write(tmp_path, NEW, "ok.yaml"))
    # parts inside the task's sub-section are resolved by their own Configs
    defaults = registry_for("masks").get("boxes").Config().model_dump(mode="json")
    assert r.data["task"]["eval"]["masks"][1] == {"type": "boxes", **defaults}
    settings = {k: v for k, v in r.data["task"].items() if k != "type"}
    task = InfillTask(InfillConfig.model_validate(settings), data=None)  # type: ignore[arg-type]
    assert list(task.mask_specs) == ["center", "boxes", "boxes_2"]


def test_the_decodings_are_listed_once() -> None:
    fill = typing.get_args(InfillConfig.model_fields["fill_decoding"].annotation)
    listed = typing.get_args(typing.get_args(
        InfillEvalConfig.model_fields["decodings"].annotation)[0])
    assert fill == listed == DECODINGS == ("greedy", "mean", "fused", "sample", "schedule")
    infill = next(a for a in build_parser()._subparsers._actions  # noqa: SLF001
                  if isinstance(a, argparse._SubParsersAction)).choices["infill"]
    (decoding,) = [a for a in infill._actions if a.dest == "decoding"]
    assert tuple(decoding.choices) == DECODINGS


# ------------------------------------------------------------------------------ metrics
def test_metric_names_follow_the_sets_and_decodings() -> None:
    cfg = InfillConfig.model_validate({"eval": {"masks": ["center", "boxes", "boxes"],
                                                "decodings": ["mean", "greedy"]}})
    names = InfillTask.metric_names(cfg)
    assert names[:6] == ["center/psnr", "center/ssim", "center/l1", "center/accuracy",
                         "center/nll_bits", "center/greedy/psnr"]
    assert "boxes_2/greedy/l1" in names and "boxes_2/greedy/nll_bits" not in names
    assert len(names) == 3 * (5 + 4)
    assert InfillTask.primary_metric_for(cfg) == "center/psnr"
    modes = {k: InfillTask.metric_mode(k) for k in ("boxes/psnr", "boxes_2/greedy/l1",
                                                    "center/nll_bits", "center/greedy/ssim")}
    assert modes == {"boxes/psnr": "max", "boxes_2/greedy/l1": "min", "center/nll_bits": "min",
                     "center/greedy/ssim": "max"}


def test_a_misspelt_eval_metric_is_refused_and_a_real_one_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, NEW)
    with pytest.raises(RecipeError) as info:
        load_recipe(path, ["eval.metric=boxes/mean/psnrr"])
    msg = str(info.value)
    assert "eval.metric: unknown metric 'boxes/mean/psnrr'; did you mean 'boxes/mean/psnr'?" in msg
    assert "(from --set)" in msg and "boxes_2/mean/nll_bits" not in msg
    # a metric of a set this recipe does not evaluate is refused too
    with pytest.raises(RecipeError, match="unknown metric 'demo_hole/psnr'"):
        load_recipe(path, ["eval.metric=demo_hole/psnr"])
    assert load_recipe(path, ["eval.metric=boxes_2/mean/l1"]).data["eval"]["metric"] == \
        "boxes_2/mean/l1"


def test_a_run_of_an_old_recipe_says_so_once_and_saves_the_new_spelling(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
        ) -> None:
    monkeypatch.setenv("PIXELZOO_CACHE", "off")
    recipe = write(tmp_path, OLD + "train: {epochs: 1, batch_size: 8, num_threads: 1}\n")
    assert main(["run", str(recipe), "--out", str(tmp_path / "runs"),
                 "--set", "eval.samples=0"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert out.count("old recipe spelling") == 2  # the file's note and the --set one
    (run,) = (tmp_path / "runs" / "r").iterdir()
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["task"]["eval"]["samples"] == 0 and "masks" not in saved["eval"]
    assert recipe_from_dict(saved).notes == []  # what a run saves loads without a note
