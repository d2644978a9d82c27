"""Recipes are read safely: encodings, alias bombs, self-references, deep nesting, sizes and
`--set` mistakes each get one clear message (exit 2), fast and without a traceback."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bad_input_helpers import GOOD, assert_clean

BOMB = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def write_bytes(tmp_path: Path, data: bytes, name: str = "r.yaml") -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


@pytest.mark.parametrize("data, needle", [
    (GOOD.replace("seed: 3", "name: caf\xe9").encode("latin-1"), "not UTF-8"),
    (GOOD.encode("utf-16"), "UTF-16"),
    (GOOD.encode("utf-16-le"), "UTF-16"),
    (GOOD.encode("utf-32"), "UTF-16"),
    (bytes(range(256)) * 4, "binary"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "binary"),
    (b"seed: 1\n\xc3\x28: 2\n", "line 2"),
], ids=["latin-1", "utf-16", "utf-16-le", "utf-32", "binary", "png", "bad-utf8-line"])
def test_bytes_that_are_not_utf8_are_refused_clearly(cli, tmp_path, data, needle):
    code, out, err = cli("validate", write_bytes(tmp_path, data))
    assert_clean(code, err, "r.yaml", needle)


def test_a_utf8_bom_is_fine(cli, tmp_path):
    code, _, err = cli("validate", write_bytes(tmp_path, b"\xef\xbb\xbf" + GOOD.encode()))
    assert code == 0, err


def test_an_extends_to_a_non_utf8_base_names_the_base(cli, tmp_path):
    write_bytes(tmp_path, GOOD.encode("utf-16"), "base.yaml")
    top = write_bytes(tmp_path, b"extends: base.yaml\nseed: 4\n", "top.yaml")
    code, _, err = cli("validate", top)
    assert_clean(code, err, "base.yaml", "UTF-16")


def test_the_billion_laughs_fails_fast_with_a_message(cli, tmp_path):
    start = time.perf_counter()
    code, _, err = cli("validate", write_bytes(tmp_path, BOMB.encode()))
    assert time.perf_counter() - start < 5
    assert_clean(code, err, "alias")


def test_aliases_within_the_limit_still_work(cli, tmp_path):
    text = GOOD + "eval: {masks: &m [demo_hole]}\nmask: {type: mixture, masks: *m}\n"
    text = text.replace("classification", "infill")
    code, _, err = cli("validate", write_bytes(tmp_path, text.encode()))
    assert code == 0, err


def test_the_line_map_does_not_follow_aliases():
    from pixelzoo.safe_yaml import read_yaml

    data, lines = read_yaml("a: &a [1, 2]\nb: *a\nc: *a\n", "x.yaml")
    assert data["b"] is data["c"]
    assert lines[("a", 1)] == 1 and ("b", 1) not in lines and lines[("c",)] == 3


@pytest.mark.parametrize("text", [
    "seed: &a [*a]\n",
    "model: &m {type: rowrnn, combiner: *m}\n",
    "x: &a {y: [1, {z: *a}]}\n",
], ids=["list", "part", "nested"])
def test_self_referencing_aliases_are_refused(cli, tmp_path, text):
    code, _, err = cli("validate", write_bytes(tmp_path, text.encode()))
    assert_clean(code, err, "refers to itself", "line 1")


@pytest.mark.parametrize("value", ["&a [*a]", "&a {x: *a}"])
def test_self_referencing_aliases_through_set_are_refused(cli, good_recipe, value):
    code, _, err = cli("validate", good_recipe, "--set", f"dataset.limit={value}")
    assert_clean(code, err, "--set dataset.limit", "refers to itself")


@pytest.mark.parametrize("text", [
    "seed: " + "[" * 5000 + "]" * 5000 + "\n",
    "seed: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n",
    "".join("  " * i + f"k{i}:\n" for i in range(400)) + "  " * 400 + "v: 1\n",
], ids=["lists", "flow-mappings", "block-mappings"])
def test_very_deep_nesting_is_refused(cli, tmp_path, text):
    code, _, err = cli("validate", write_bytes(tmp_path, text.encode()))
    assert_clean(code, err, "nested")


def test_deep_nesting_through_set_is_refused(cli, good_recipe):
    code, _, err = cli("validate", good_recipe, "--set", "seed=" + "[" * 3000 + "]" * 3000)
    assert_clean(code, err, "--set seed", "nested")


def test_a_huge_recipe_is_refused_before_parsing(cli, tmp_path):
    big = GOOD + "# " + "x" * 3_000_000 + "\n"
    code, _, err = cli("validate", write_bytes(tmp_path, big.encode()))
    assert_clean(code, err, "r.yaml", "too large")


def test_a_long_chain_of_extends_is_refused(cli, tmp_path):
    (tmp_path / "r0.yaml").write_text(GOOD)
    for i in range(1, 60):
        (tmp_path / f"r{i}.yaml").write_text(f"extends: r{i - 1}.yaml\n")
    code, _, err = cli("validate", tmp_path / "r59.yaml")
    assert_clean(code, err, "extends")


@pytest.mark.parametrize("item, needle", [
    ("=5", "--set =5"),
    (" =5", "--set"),
    ("model..hidden=5", "--set model..hidden=5"),
    (".seed=5", "--set .seed=5"),
    ("seed.=5", "--set seed.=5"),
])
def test_set_with_an_empty_key_mentions_set(cli, good_recipe, item, needle):
    code, _, err = cli("validate", good_recipe, "--set", item)
    assert_clean(code, err, needle, "KEY=VALUE")


def test_a_recipe_that_is_a_folder_or_a_device_is_refused(cli, tmp_path):
    code, _, err = cli("validate", tmp_path)
    assert_clean(code, err, "folder")
    code, _, err = cli("validate", "/dev/zero")
    assert_clean(code, err, "/dev/zero")


def test_a_control_character_is_a_message(cli, tmp_path):
    # found by the fuzz (test_fuzz_recipes.py): the YAML reader refuses it while starting up
    code, _, err = cli("validate", write_bytes(tmp_path, b"\x01" + GOOD.encode()))
    assert_clean(code, err, "control character", "line 1")
