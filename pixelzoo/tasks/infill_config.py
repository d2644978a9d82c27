"""The infill task's settings: its `Config`, the decodings, the evaluation sets and their keys.

Everything a recipe's `task: {type: infill, ...}` section can say lives here, validated by
`InfillConfig` (stage two of recipe validation), including what the evaluation measures::

    task:
      type: infill
      loss: holes
      eval:
        masks: [demo_hole, seed_blocks, strokes]   # fixed evaluation hole sets
        decodings: [greedy, mean]                  # the first one's metrics are <set>/<metric>
        baselines: [telea, ns]                     # classic inpainting beside the model
        samples: 8                                 # images per picture grid

The core `eval` section keeps what every task shares (split, limit, seed, batch size, metric).
This module imports no torch, so the command line (`pixelzoo infill --decoding`) and the recipe
reference can read the decodings without loading the model code; the task itself is
`pixelzoo.tasks.infill`.
"""

from __future__ import annotations

import difflib
import typing
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from pixelzoo.baselines import METHODS as BASELINES
from pixelzoo.config import Kind, PartConfig, PartSpec, spec
from pixelzoo.metrics import METRICS

#: How holes are filled; the one list of decodings (see `pixelzoo.tasks.infill` for each).
Decoding = Literal["greedy", "mean", "fused", "sample", "schedule"]
DECODINGS: tuple[str, ...] = typing.get_args(Decoding)
#: Decodings computed in one forward pass (the others sample hole pixels one after another).
ONE_PASS = ("greedy", "mean", "fused")
LOSS_TEXT = {
    "holes": "cross-entropy over the hole sub-pixels only (loss: holes)",
    "all": "cross-entropy over every sub-pixel, the seed's (loss: all)",
}


class ScheduleConfig(PartConfig):
    """The seed's temperature schedule for the `schedule` decoding."""

    start: float = Field(1.0, gt=0, description="temperature of the first hole pixel")
    decay: float = Field(0.95, gt=0, le=1, description="factor per hole pixel")
    min: float = Field(0.1, gt=0, description="floor while sampling")
    steps: int = Field(20, ge=0, description="hole pixels sampled; the rest are greedy")


class InfillEvalConfig(PartConfig):
    """What the infill task evaluates: fixed hole sets, decodings, baselines and pictures."""

    masks: list[Annotated[PartSpec, Kind("masks")]] = Field(
        default_factory=lambda: [spec("demo_hole"), spec("seed_blocks"), spec("strokes")],
        min_length=1,
        description="fixed evaluation hole sets, each a mask name or {type: NAME, ...}; a set "
                    "is named after its mask (boxes, boxes_2, ... for repeats)")
    decodings: list[Decoding] = Field(
        default_factory=lambda: ["greedy", "mean"], min_length=1,
        description="decodings to score: " + ", ".join(DECODINGS) + "; the first one's "
                    "metrics are keyed SET/METRIC, the others' SET/DECODING/METRIC")
    baselines: list[str] = Field(
        default_factory=lambda: list(BASELINES),
        description="classic inpainting methods scored beside the model: "
                    + ", ".join(BASELINES) + " ([] for none)")
    samples: int = Field(8, ge=0, description="images per picture grid in <run>/samples/ "
                                              "(0: no grids)")

    @field_validator("decodings")
    @classmethod
    def _unique_decodings(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @field_validator("baselines")
    @classmethod
    def _known_baselines(cls, value: list[str]) -> list[str]:
        for name in value:
            if name not in BASELINES:
                close = difflib.get_close_matches(name, list(BASELINES), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise ValueError(f"unknown baseline '{name}'{hint} (baselines: "
                                 f"{', '.join(BASELINES)})")
        return list(dict.fromkeys(value))


class FusedConfig(PartConfig):
    """The `fused` decoding: the model's distribution times a Gaussian around a classic fill."""

    prior: Literal["telea", "ns", "biharmonic"] = Field(
        "biharmonic", description="the classic method whose fill centres the prior")
    # 24: chosen for the shipped weights on validation splits, never on the test splits the
    # tables report (recipes/levers/sigma.yaml; the sweep is in docs/results.md)
    sigma: float = Field(24.0, gt=0, le=255,
                         description="the prior's standard deviation, on the 0..255 scale: "
                                     "smaller trusts the classic fill more")


class InfillConfig(PartConfig):
    loss: Literal["holes", "all"] = Field(
        "holes", description="holes: cross-entropy on hole sub-pixels only; all: the seed's")
    temperature: float = Field(1.0, gt=0, description="temperature of the `sample` decoding")
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    fused: FusedConfig = Field(default_factory=FusedConfig,
                               description="the prior of the `fused` decoding")
    refine_chunks: int = Field(
        8, ge=1, description="4-direction sampling: passes of iterative refinement")
    upscale: int = Field(4, ge=1, le=32, description="picture zoom (nearest neighbour)")
    fill_decoding: Decoding = Field(
        "greedy", description="the decoding `pixelzoo infill` uses when neither --decoding nor "
                              "--temperature is given (pick the one that scored best)")
    eval: InfillEvalConfig = Field(
        default_factory=InfillEvalConfig,
        description="what evaluation measures: masks, decodings, baselines, samples")


def eval_set_specs(config: InfillConfig) -> dict[str, dict[str, Any]]:
    """Evaluation set name -> its mask spec, in recipe order (boxes, boxes_2, ... for repeats)."""
    specs: dict[str, dict[str, Any]] = {}
    for item in config.eval.masks:
        part = {"type": item.type, **item.params}
        name, n = item.type, 1
        while name in specs:
            n += 1
            name = f"{item.type}_{n}"
        specs[name] = part
    return specs


def metric_prefix(set_name: str, decoding: str, first: str) -> str:
    """'demo_hole/' for the first decoding, 'demo_hole/mean/' for the others."""
    return f"{set_name}/" if decoding == first else f"{set_name}/{decoding}/"


def metric_names(config: InfillConfig) -> list[str]:
    """Every key `InfillTask.evaluate` returns for `config`, the primary one first.

    Per set and decoding, the hole metrics of `pixelzoo.metrics.hole_metrics`; the NLL only for
    the first decoding (it is the model's, whichever way its distribution is then decoded).
    """
    decodings = config.eval.decodings
    names = []
    for set_name in eval_set_specs(config):
        for d in decodings:
            prefix = metric_prefix(set_name, d, decodings[0])
            names += [prefix + m for m in METRICS if d == decodings[0] or m != "nll_bits"]
    return names
