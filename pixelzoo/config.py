"""Building blocks for plugin configuration.

Every plugin class carries a nested pydantic `Config` deriving from `PartConfig`, which forbids
unknown keys. A field that names another plugin (a model's `combiner`, say) is typed
`PartSpec` and annotated with the registry it comes from, `Annotated[PartSpec, Kind("combiners")]`;
the recipe validator follows that annotation to validate the nested part with its own `Config`.
pydantic is imported here, torch is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class PartConfig(BaseModel):
    """Base for every plugin's `Config`: strict keys, validated defaults."""

    model_config = ConfigDict(extra="forbid", validate_default=True)


class PartSpec(BaseModel):
    """`{type: name, **params}` as written in a recipe; params are checked by the part's Config.

    A bare name is shorthand for a part with its defaults: `mask: strokes` is
    `mask: {type: strokes}`, wherever a part is written (top level, nested parts, the infill
    task's `eval.masks`).
    """

    model_config = ConfigDict(extra="allow")

    type: str

    @model_validator(mode="before")
    @classmethod
    def _bare_name(cls, data: Any) -> Any:
        # One rule for every part field, so the shorthand never works in one place and not in
        # another; `pixelzoo.recipe` expands it the same way before checking the parameters.
        return {"type": data} if isinstance(data, str) else data

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        # Editors see what the validator accepts: a name, or a mapping with `type`.
        schema = handler(core_schema)
        return {"anyOf": [{"type": "string", "description": "a part name, with its defaults"},
                          schema]}

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


@dataclass(frozen=True)
class Kind:
    """Annotation marking a `PartSpec` field with the registry kind it names.

    `keep` names keys that the place where the part is used adds beside the part's own
    parameters (`eval.datasets`' display `label`): the recipe validator keeps them in the
    resolved spec and never passes them to the part's `Config`.
    """

    kind: str
    keep: tuple[str, ...] = ()


def spec(type_: str, **params: Any) -> PartSpec:
    """Shorthand for defaults: `Field(default_factory=lambda: spec("linear_add"))`."""
    return PartSpec(type=type_, **params)


#: Seeds run from 0 to 2**32 - 1: every generator pixelzoo seeds (python's, numpy's legacy one,
#: torch's, a DistributedSampler's `seed + epoch`) takes such a seed as it is, without overflow
#: or silent truncation. A recipe field typed `Seed` gets that range and its message.
SEED_MAX = 2**32 - 1
Seed = Annotated[int, Field(ge=0, le=SEED_MAX)]
