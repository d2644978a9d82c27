"""Numbers are checked at the edge of a recipe, and no path taken from a recipe leaves `--out`;
a recipe refused by validation leaves no run folder behind."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from bad_input_helpers import GOOD, assert_clean

from pixelzoo.recipe import load_recipe


def write(tmp_path: Path, text: str, name: str = "r.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize("override, key", [
    ("seed=99999999999999999999999", "seed"),
    ("seed=18446744073709551616", "seed"),
    ("seed=-1", "seed"),
    ("dataset.seed=340282366920938463463374607431768211456", "dataset.seed"),
    ("dataset.limit=-5", "dataset.limit"),
    ("dataset.limit=0", "dataset.limit"),
    ("model.hidden=123456789012345678901234567890", "model.hidden"),
    ("model.hidden=100000000", "model.hidden"),
    ("model.embed=100000000", "model.embed"),
    ("model.layers=100000", "model.layers"),
    ("train.optimizer.lr=.inf", "train.optimizer.lr"),
    ("train.optimizer.lr=.nan", "train.optimizer.lr"),
    ("train.max_minutes=.nan", "train.max_minutes"),
    ("train.max_minutes=.inf", "train.max_minutes"),
    ("train.clip_grad=-.inf", "train.clip_grad"),
])
def test_numbers_out_of_range_are_refused_at_their_key(cli, good_recipe, override, key):
    code, _, err = cli("validate", good_recipe, "--set", override)
    assert_clean(code, err, f"{key}:", "(from --set)")


def test_a_seed_beyond_64_bits_in_the_file_names_its_line(cli, tmp_path):
    p = write(tmp_path, GOOD.replace("seed: 3", "seed: 99999999999999999999999"))
    code, _, err = cli("validate", p)
    assert_clean(code, err, "seed:", "line 1")


def test_a_refused_recipe_leaves_no_run_folder(cli, tmp_path):
    p = write(tmp_path, GOOD.replace("seed: 3", "seed: 99999999999999999999999"))
    out = tmp_path / "runs"
    code, _, err = cli("run", p, "--out", out, "-q")
    assert_clean(code, err, "seed")
    assert not out.exists()


@pytest.mark.parametrize("name", ["../..", "../escaped", "/tmp/pz-absolute-run", "a/b",
                                  "..", ".", "a\\b", "x\x00y", "~/runs", "x" * 300])
def test_a_recipe_name_cannot_leave_out(cli, tmp_path, name):
    p = write(tmp_path, GOOD + "name: " + yaml.safe_dump(name).split("\n...")[0])
    code, _, err = cli("validate", p)
    assert_clean(code, err, "name:")


def test_a_recipe_name_with_dots_in_it_is_fine(tmp_path):
    assert load_recipe(write(tmp_path, GOOD + "name: v1.2-final_run\n")).name == "v1.2-final_run"


def test_run_with_an_escaping_name_writes_nothing_outside_out(cli, tmp_path):
    inner = tmp_path / "a" / "b"
    inner.mkdir(parents=True)
    p = write(inner, GOOD + "name: ../../escaped\n")
    before = sorted(tmp_path.rglob("*"))
    code, _, err = cli("run", p, "--out", inner / "runs", "-q")
    assert_clean(code, err, "name:")
    assert sorted(tmp_path.rglob("*")) == before


def test_a_file_stem_of_dots_does_not_name_a_parent_folder(tmp_path):
    r = load_recipe(write(tmp_path, GOOD, "...yaml"))
    assert r.name not in ("..", ".", "") and "/" not in r.name


@pytest.mark.parametrize("text, needle", [
    ("seed: " + "1" * 5000 + "\n", "5000 digits"),
    ("seed: 3\nname: 2024-13-45\n", "could not be read"),
])
def test_values_yaml_itself_cannot_build_are_messages(cli, tmp_path, text, needle):
    p = write(tmp_path, GOOD.replace("seed: 3\n", "") + text)
    code, _, err = cli("validate", p)
    assert_clean(code, err, needle)


@pytest.mark.parametrize("value", ["1" * 5000, "2024-13-45"])
def test_such_values_through_set_are_messages(cli, good_recipe, value):
    code, _, err = cli("validate", good_recipe, "--set", f"seed={value}")
    assert_clean(code, err, "seed")


def test_show_counts_a_huge_model_without_allocating_it(cli, good_recipe):
    # 64 layers of 4096 are each within range; together 6.4 billion parameters (25 GB)
    code, out, err = cli("show", good_recipe, "--set", "model.hidden=4096",
                         "--set", "model.layers=64")
    assert code == 0, err
    assert "# parameters: 6,393,907,242" in out


@pytest.mark.parametrize("value", ["0", "-2", "99999999999999999999999", "x"])
def test_run_keep_is_checked_as_a_flag(cli, good_recipe, tmp_path, value):
    code, _, err = cli("run", good_recipe, "--out", tmp_path / "runs", "--keep", value)
    assert_clean(code, err, "--keep")
    assert not (tmp_path / "runs").exists()
