"""A property-based fuzz of recipes and `--set` overrides through `pixelzoo validate`.

Three generators feed the command, each with a fixed, derandomized example budget (so a run is
repeatable and its cost known): structured mutations of valid recipes (values replaced by
anything YAML can hold, keys dropped or invented), `--set KEY=VALUE` items drawn from recipe keys
and YAML's syntax characters (anchors, aliases, brackets, tags), and byte-level edits of a
recipe's text. The properties:

- the command ends with exit status 0 or 2, never 1 (a bug) and never a traceback;
- a recipe it accepts, written back as its resolved YAML, validates again to the same data.

It runs `validate` in-process (cheap: no data is loaded, no model built), in the slow suite.
"""

from __future__ import annotations

import copy
import math
import os
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pixelzoo.cli import main
from pixelzoo.recipe import load_recipe

pytestmark = pytest.mark.slow

# per generator: 30-70 s for the three together on one core; PIXELZOO_FUZZ_EXAMPLES=5000
# runs a longer (still repeatable) search
EXAMPLES = int(os.environ.get("PIXELZOO_FUZZ_EXAMPLES", "500"))
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])

BASES = [
    {"seed": 3, "dataset": {"type": "digits", "limit": 64},
     "model": {"type": "rowrnn", "embed": 8, "hidden": 12, "combiner": {"type": "linear_add"}},
     "task": {"type": "classification"}, "train": {"epochs": 1, "batch_size": 16}},
    {"seed": 0, "dataset": {"type": "toon", "count": 60, "size": 12},
     "mask": {"type": "mixture", "masks": ["center", {"type": "boxes", "count": [1, 2]}]},
     "model": {"type": "rowrnn", "embed": 4, "hidden": 8, "directions": 4,
               "decoder": "conditional", "combiner": "gated"},
     "task": {"type": "infill"}, "train": {"optimizer": {"type": "sgd", "lr": 0.1},
                                           "scheduler": {"type": "cosine"}},
     "eval": {"every": 2}, "name": "fuzzed"},
]
KEYS = ["seed", "dataset", "model", "task", "train", "eval", "mask", "name", "extends", "type",
        "limit", "hidden", "embed", "layers", "directions", "combiner", "decoder", "epochs",
        "batch_size", "optimizer", "lr", "scheduler", "masks", "metric", "count", "size",
        "deterministic", "augment", "weights", "callbacks", "every", "split", "0", "1"]
NAMES = ["digits", "toon", "rowrnn", "timm", "infill", "classification", "linear_add", "gated",
         "concat", "conditional", "independent", "center", "boxes", "strokes", "mixture",
         "seed_blocks", "demo_hole", "adam", "sgd", "cosine", "val", "test", "../..", "/abs"]
SYNTAX = list("abz019-_.:, []{}&*!|>#%@`'\"\t\n=") + ["\x00", "\x7f", "é", "\ufeff", "&a ",
                                                       "*a", "!!python/object:os.system", "<<"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 70), st.integers(-2**80, 2**80),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(NAMES),
    st.text(max_size=12))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), inner, max_size=4)),
    max_leaves=12)
syntax_text = st.lists(st.sampled_from(SYNTAX), max_size=16).map("".join)


def _paths(node: object, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _mutate(recipe: dict, data: st.DataObject) -> dict:
    recipe = copy.deepcopy(recipe)
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        paths = _paths(recipe)
        path = data.draw(st.sampled_from(paths), label="path") if paths else ()
        parent: object = recipe
        for key in path[:-1]:
            parent = parent[key]
        op = data.draw(st.sampled_from(["replace", "drop", "add"]), label="op")
        if not path or not isinstance(parent, (dict, list)):
            continue
        last = path[-1]
        if op == "replace":
            parent[last] = data.draw(values, label="value")
        elif op == "drop":
            del parent[last]
        elif isinstance(parent, dict):
            parent[data.draw(st.sampled_from(KEYS), label="key")] = data.draw(values)
    return recipe


class Runner:
    """`pixelzoo validate` in-process, with bug logs kept out of the real temp folder."""

    def __init__(self, capsys: pytest.CaptureFixture[str], folder: Path):
        self.capsys, self.folder = capsys, folder
        self.exits: dict[int, int] = {}  # exit status -> examples (shown with `pytest -s`)

    def validate(self, path: Path, sets: list[str]) -> None:
        self.capsys.readouterr()
        argv = ["validate", str(path)] + [f"--set={s}" for s in sets]
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's own refusal of a malformed command line
            code = exc.code
        err = self.capsys.readouterr().err
        self.exits[code] = self.exits.get(code, 0) + 1
        assert code in (0, 2), f"exit {code} for {argv}:\n{err}\n{path.read_bytes()[:2000]!r}"
        assert "Traceback" not in err
        if code == 0:
            self.round_trip(path, sets)

    def round_trip(self, path: Path, sets: list[str]) -> None:
        first = load_recipe(path, sets)
        again = self.folder / "resolved.yaml"
        again.write_text(first.to_yaml(), encoding="utf-8")
        second = load_recipe(again)
        assert _same(second.data, first.data), (first.to_yaml(), second.to_yaml())


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True  # (NaN is refused in recipes; kept here so the check itself is exact)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


@pytest.fixture
def runner(capsys, monkeypatch):
    with tempfile.TemporaryDirectory() as folder:
        monkeypatch.setattr(tempfile, "tempdir", folder)  # where a bug's log would go
        r = Runner(capsys, Path(folder))
        yield r
        with capsys.disabled():
            print(f" [fuzz exits: {dict(sorted(r.exits.items()))}]", end="")
        assert not list(Path(folder).glob("pixelzoo-error-*.log")), "a bug was logged"


@FUZZ
@given(data=st.data())
def test_mutated_recipes_are_accepted_or_refused_cleanly(runner, data):
    recipe = _mutate(data.draw(st.sampled_from(BASES), label="base"), data)
    path = runner.folder / "r.yaml"
    path.write_text(yaml.safe_dump(recipe, allow_unicode=True), encoding="utf-8")
    runner.validate(path, [])


@FUZZ
@given(data=st.data())
def test_set_overrides_are_accepted_or_refused_cleanly(runner, data):
    base = data.draw(st.sampled_from(BASES), label="base")
    path = runner.folder / "r.yaml"
    path.write_text(yaml.safe_dump(base))
    existing = [".".join(str(k) for k in p) for p in _paths(base)]
    sets = []
    plausible = st.tuples(st.sampled_from(existing), st.one_of(
        st.integers(1, 64).map(str), st.sampled_from(NAMES)))
    wild = st.tuples(
        st.one_of(st.sampled_from(existing), st.lists(st.one_of(
            st.sampled_from(KEYS), st.text(max_size=4)), min_size=1, max_size=4).map(".".join)),
        st.one_of(syntax_text, st.sampled_from(
            ["&a [*a]", "&a {x: *a}", "[" * 200 + "]" * 200, "9" * 60, ".nan", "-.inf",
             "2024-13-45", "", "null", "{type: gated}", "~"]),
            values.map(lambda v: yaml.safe_dump(v, default_flow_style=True).strip())))
    for _ in range(data.draw(st.integers(1, 3), label="n")):
        # mostly values a user might mean (so accepted recipes get their round trip too)
        key, value = data.draw(plausible if data.draw(st.integers(0, 3)) else wild,
                               label="item")
        sets.append(f"{key}={value}" if data.draw(st.integers(0, 5), label="eq") else key + value)
    runner.validate(path, sets)


@FUZZ
@given(data=st.data())
def test_edited_recipe_text_is_accepted_or_refused_cleanly(runner, data):
    text = yaml.safe_dump(data.draw(st.sampled_from(BASES), label="base")).encode()
    for _ in range(data.draw(st.integers(1, 6), label="edits")):
        at = data.draw(st.integers(0, len(text)), label="at")
        kind = data.draw(st.sampled_from(["insert", "delete", "bytes", "dup"]), label="kind")
        if kind == "insert":
            text = text[:at] + data.draw(syntax_text, label="ins").encode() + text[at:]
        elif kind == "delete":
            text = text[:at] + text[at + data.draw(st.integers(1, 20), label="n"):]
        elif kind == "bytes":
            text = text[:at] + data.draw(st.binary(max_size=6), label="raw") + text[at:]
        else:
            text = text[:at] + text[at:at + 40] * 3 + text[at + 40:]
    encoding = data.draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "latin-1", "utf-16"]),
                         label="encoding")
    if encoding != "utf-8":
        text = text.decode("utf-8", "replace").encode(encoding, "replace")
    path = runner.folder / "r.yaml"
    path.write_bytes(text)
    runner.validate(path, [])
