"""The recipe reference in docs/ is generated from the schema and must stay current."""

from pathlib import Path

from pixelzoo.docgen import markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "recipe-reference.md"


def test_recipe_reference_is_current():
    assert DOC.read_text() == markdown(), (
        "docs/recipe-reference.md is stale: run `pixelzoo schema --markdown > "
        "docs/recipe-reference.md`")
