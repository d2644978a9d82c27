"""Recipe loading and validation: full paths, suggestions, one report, exit 2, no traceback."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml

from pixelzoo.cli import main
from pixelzoo.errors import RecipeError
from pixelzoo.recipe import apply_overrides, deep_merge, load_recipe

GOOD = """\
seed: 3
dataset: {type: digits, limit: 64}
model:
  type: rowrnn
  embed: 8
  hidden: 12
  combiner: {type: linear_add}
task: {type: classification}
train: {epochs: 1, batch_size: 16}
"""


def write(tmp_path: Path, text: str, name: str = "r.yaml") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def run_cli(args, capsys):
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_good_recipe_resolves_defaults(tmp_path):
    r = load_recipe(write(tmp_path, GOOD))
    assert r.name == "r"
    assert r.data["model"]["hidden"] == 12
    assert r.data["model"]["layers"] == 1  # default filled
    assert r.data["model"]["combiner"] == {"type": "linear_add", "bias": True}
    assert r.data["model"]["decoder"] == {"type": "independent"}  # nested default resolved
    assert r.data["train"]["optimizer"]["lr"] == 1e-3
    assert "extends" not in r.data


def test_typo_in_nested_key_has_path_line_and_suggestion(tmp_path, capsys):
    p = write(tmp_path, GOOD.replace("hidden: 12", "hiden: 12"))
    code, out, err = run_cli(["validate", str(p)], capsys)
    assert code == 2
    assert "model.hiden: unknown parameter for model 'rowrnn'; did you mean 'hidden'?" in err
    assert "line 6" in err
    assert "Traceback" not in err + out


def test_typo_inside_a_combiner(tmp_path):
    p = write(tmp_path, GOOD.replace("{type: linear_add}", "{type: linear_add, bais: false}"))
    with pytest.raises(RecipeError) as exc:
        load_recipe(p)
    assert ("model.combiner.bais: unknown parameter for combiner 'linear_add'; "
            "did you mean 'bias'?") in str(exc.value)


def test_wrong_type_names_path_and_value(tmp_path, capsys):
    p = write(tmp_path, GOOD.replace("epochs: 1", "epochs: many"))
    code, _, err = run_cli(["validate", str(p)], capsys)
    assert code == 2
    assert "train.epochs:" in err and "'many'" in err and "integer" in err


def test_unknown_component_suggests_nearest(tmp_path, capsys):
    p = write(tmp_path, GOOD.replace("{type: linear_add}", "{type: linear_ad}"))
    code, _, err = run_cli(["validate", str(p)], capsys)
    assert code == 2
    assert "model.combiner.type: unknown combiner 'linear_ad'; did you mean 'linear_add'?" in err
    assert "install a package that provides it" in err


def test_every_error_is_collected_once(tmp_path):
    bad = GOOD.replace("hidden: 12", "hiden: 12").replace("epochs: 1", "epochs: x")
    bad = bad.replace("{type: classification}", "{type: clasification}")
    with pytest.raises(RecipeError) as exc:
        load_recipe(write(tmp_path, bad))
    problems = exc.value.problems
    assert len(problems) == 3, problems
    assert any(p.startswith("model.hiden") for p in problems)
    assert any(p.startswith("train.epochs") for p in problems)
    assert any(p.startswith("task.type") and "classification" in p for p in problems)


def test_missing_file(tmp_path, capsys):
    code, _, err = run_cli(["run", str(tmp_path / "nope.yaml")], capsys)
    assert code == 2
    assert "recipe file not found" in err and "nope.yaml" in err
    assert "Traceback" not in err


def test_invalid_yaml_names_the_line(tmp_path, capsys):
    p = write(tmp_path, "seed: 1\nmodel: {type: rowrnn\n")
    code, _, err = run_cli(["validate", str(p)], capsys)
    assert code == 2
    assert "line" in err and "not valid YAML" in err


def test_yaml_python_tags_are_refused(tmp_path, capsys):
    p = write(tmp_path, GOOD + "name: !!python/object/apply:os.system ['echo pwned']\n")
    code, out, err = run_cli(["validate", str(p)], capsys)
    assert code == 2
    assert "pwned" not in out


def test_import_paths_are_not_accepted_as_parts(tmp_path):
    with pytest.raises(RecipeError) as exc:
        load_recipe(write(tmp_path, GOOD.replace("{type: linear_add}", "{type: 'os:system'}")))
    assert "unknown combiner 'os:system'" in str(exc.value)


def test_extends_deep_merges(tmp_path):
    write(tmp_path, GOOD, "base.yaml")
    child = write(tmp_path, "extends: base.yaml\nmodel: {hidden: 20}\ntrain: {epochs: 2}\n",
                  "child.yaml")
    r = load_recipe(child)
    assert r.data["model"]["hidden"] == 20
    assert r.data["model"]["embed"] == 8  # kept from the base
    assert r.data["train"]["epochs"] == 2 and r.data["train"]["batch_size"] == 16
    assert r.name == "child"


def test_extends_missing_and_cycle(tmp_path):
    with pytest.raises(RecipeError, match="base recipe not found"):
        load_recipe(write(tmp_path, "extends: gone.yaml\n"))
    write(tmp_path, "extends: b.yaml\n", "a.yaml")
    write(tmp_path, "extends: a.yaml\n", "b.yaml")
    with pytest.raises(RecipeError, match="cycle"):
        load_recipe(tmp_path / "a.yaml")


def test_changing_a_part_type_drops_the_old_params():
    merged = deep_merge({"combiner": {"type": "linear_add", "bias": False}},
                        {"combiner": {"type": "concat"}})
    assert merged == {"combiner": {"type": "concat"}}


def test_set_overrides_are_typed_by_the_schema(tmp_path):
    r = load_recipe(write(tmp_path, GOOD), ["model.hidden=40", "train.optimizer.lr=0.01",
                                            "dataset.limit=null"])
    assert r.data["model"]["hidden"] == 40
    assert r.data["train"]["optimizer"]["lr"] == 0.01
    assert r.data["dataset"]["limit"] is None


def test_set_override_errors_say_from_set(tmp_path):
    with pytest.raises(RecipeError) as exc:
        load_recipe(write(tmp_path, GOOD), ["train.epochs=abc"])
    assert "train.epochs" in str(exc.value) and "(from --set)" in str(exc.value)
    with pytest.raises(RecipeError, match="KEY=VALUE"):
        apply_overrides({}, ["nonsense"])


def test_set_overrides_reach_the_model(tmp_path):
    from pixelzoo.engine.build import build_all

    r = load_recipe(write(tmp_path, GOOD), ["model.hidden=24", "model.layers=2"])
    parts = build_all(r)
    gru = parts.model.stacks[0][0].gru
    assert gru.hidden_size == 24 and gru.num_layers == 2


def test_show_prints_what_run_uses(tmp_path, capsys):
    p = write(tmp_path, GOOD)
    code, out, _ = run_cli(["show", str(p), "--set", "model.hidden=33"], capsys)
    assert code == 0
    assert "parameters:" in out
    shown = yaml.safe_load(out.split("# model:")[0])
    assert shown == load_recipe(p, ["model.hidden=33"]).data
    assert shown["model"]["hidden"] == 33


def test_schema_is_json_for_editors(capsys):
    code, out, _ = run_cli(["schema"], capsys)
    schema = json.loads(out)
    assert code == 0
    assert {"dataset", "model", "task", "train", "eval", "seed"} <= set(schema["properties"])


def test_part_name_shorthand_in_nested_parts(tmp_path):
    r = load_recipe(write(tmp_path, GOOD.replace("{type: linear_add}", "concat")))
    assert r.data["model"]["combiner"] == {"type": "concat"}


def test_a_bare_name_is_a_part_with_its_defaults_wherever_a_part_goes(tmp_path):
    infill = GOOD.replace("{type: classification}", "{type: infill, eval: {masks: "
                                                    "[{type: demo_hole}, {type: strokes}]}}")
    long = load_recipe(write(tmp_path, infill + "mask: {type: boxes}\n", "long.yaml"))
    short = GOOD.replace("{type: digits, limit: 64}", "digits").replace(
        "{type: classification}", "{type: infill, eval: {masks: [demo_hole, strokes]}}")
    r = load_recipe(write(tmp_path, short + "mask: boxes\n"))
    masks = r.data["task"]["eval"]["masks"]  # parts inside a part's sub-section
    assert masks == long.data["task"]["eval"]["masks"]
    assert [m["type"] for m in masks] == ["demo_hole", "strokes"]
    assert r.data["mask"] == long.data["mask"]
    assert r.data["task"] == long.data["task"] and r.data["dataset"]["type"] == "digits"
    bare = load_recipe(write(tmp_path, GOOD.replace("{type: classification}", "classification"),
                             "bare.yaml"))
    assert bare.data["task"] == load_recipe(write(tmp_path, GOOD, "full.yaml")).data["task"]
    # and inside a list of nested parts
    mix = load_recipe(write(tmp_path, GOOD + "mask: {type: mixture, masks: [boxes, strokes]}\n"))
    assert mix.data["mask"]["masks"] == [long.data["mask"], masks[1]]


def test_bare_name_errors_name_the_key_and_line(tmp_path, capsys):
    # the old spelling (eval.masks, now task.eval.masks): errors still point at its lines
    p = write(tmp_path, GOOD.replace("classification", "infill")
              + "eval:\n  masks:\n    - demo_hol\n    - 3\n")
    code, out, err = run_cli(["validate", str(p)], capsys)
    assert code == 2 and "Traceback" not in err + out
    assert ("eval.masks[0].type: unknown mask 'demo_hol'; did you mean 'demo_hole'?") in err
    assert "(line 12)" in err
    assert "eval.masks[1]:" in err and "(line 13)" in err


def test_a_bare_name_merges_and_takes_set_keys_like_its_mapping(tmp_path):
    write(tmp_path, GOOD + "mask: {type: boxes, count: [2, 2]}\n", "base.yaml")
    same = load_recipe(write(tmp_path, "extends: base.yaml\nmask: boxes\n", "same.yaml"))
    assert same.data["mask"]["count"] == [2, 2]  # the same type keeps the base's parameters
    other = load_recipe(write(tmp_path, "extends: base.yaml\nmask: strokes\n", "other.yaml"))
    assert other.data["mask"]["type"] == "strokes"  # another type starts from its defaults
    p = write(tmp_path, GOOD.replace("{type: classification}",
                                     "{type: infill, eval: {masks: [demo_hole]}}")
              + "mask: boxes\n")
    r = load_recipe(p, ["mask.count=[2, 2]", "task.eval.masks.0.top=3"])
    assert r.data["mask"]["type"] == "boxes" and r.data["mask"]["count"] == [2, 2]
    assert r.data["task"]["eval"]["masks"][0]["type"] == "demo_hole"
    assert r.data["task"]["eval"]["masks"][0]["top"] == 3
