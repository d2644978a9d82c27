"""The recipe envelope: the top-level structure every recipe shares.

This is stage one of recipe validation. It fixes the top-level keys (`dataset`, `mask`, `model`,
`task`, `train`, `eval`, `seed`, ...) and the core-owned sections (`train`, `eval`) with
`extra="forbid"`. Component sections are `PartSpec`s (`{type: name, **params}`, or a bare name
for a part with its defaults); their parameters are checked in stage two by each plugin's own
`Config` (see `pixelzoo.recipe`). The JSON schema for editors (`pixelzoo schema`) and the recipe
reference in `docs/` are generated from these classes.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from pixelzoo.config import Kind, PartSpec


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class OptimizerConfig(Strict):
    """The optimizer; Adam at 1e-3 is the seed's."""

    type: Literal["adam", "adamw", "sgd"] = "adam"
    lr: float = Field(1e-3, gt=0, description="learning rate")
    weight_decay: float = Field(0.0, ge=0)
    momentum: float = Field(0.9, ge=0, description="sgd only")


class SchedulerConfig(Strict):
    """Learning-rate schedule, stepped once per optimizer step."""

    type: Literal["constant", "cosine", "onecycle"] = "constant"
    warmup_steps: int = Field(0, ge=0)
    min_lr_ratio: float = Field(0.0, ge=0, le=1, description="cosine floor as a fraction of lr")


class TrainConfig(Strict):
    """How to train: the loop, the optimizer, budgets and checkpoints."""

    epochs: int = Field(10, ge=0, description="passes over the training set")
    batch_size: int = Field(32, ge=1, description="global batch; split across ranks under torchrun")
    steps_per_epoch: int | None = Field(
        None, ge=1, description="cap on optimizer steps per epoch (None: one pass over the data)")
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    scheduler: SchedulerConfig = Field(default_factory=SchedulerConfig)
    clip_grad: float | None = Field(1.0, gt=0, description="max gradient norm; null disables")
    max_minutes: float | None = Field(
        None, gt=0, description="stop training after this wall time (checked between steps)")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Literal["fp32", "bf16"] = Field("fp32", description="bf16 autocast on CUDA")
    tf32: bool = Field(True, description="allow TF32 matmuls on CUDA")
    fast_path: Literal["auto", "reference", "wavefront"] = Field(
        "auto", description="RowRNN implementation: auto picks the fastest that supports the model")
    cuda_graphs: bool = Field(
        False, description="capture the training step in a CUDA graph and replay it (one CUDA "
                           "device, adam or adamw); elsewhere a notice and eager steps")
    num_threads: int | None = Field(None, ge=1, description="torch CPU threads (None: default)")
    checkpoint_every: int | None = Field(
        None, ge=1, description="also write a step checkpoint every N optimizer steps")
    keep: int = Field(3, ge=1, description="how many epoch checkpoints to keep in history")
    log_every: int = Field(10, ge=1, description="progress refresh interval in steps")


class EvalConfig(Strict):
    """What evaluation measures. Masks and baselines are used by the infill task."""

    every: int = Field(1, ge=1, description="evaluate every N epochs (and always at the end)")
    split: Literal["val", "test"] = "val"
    final_split: Literal["val", "test"] = Field("test", description="split for the final table")
    batch_size: int = Field(64, ge=1)
    limit: int | None = Field(None, ge=1, description="evaluate on the first N images only")
    seed: int = Field(1234, description="seed of the fixed evaluation mask set")
    masks: list[Annotated[PartSpec, Kind("masks")]] = Field(
        default_factory=list,
        description="fixed evaluation mask sets (infill), each a name or {type: NAME, ...}, "
                    "e.g. [demo_hole, strokes]; empty: demo_hole, seed_blocks, strokes")
    baselines: list[Literal["telea", "ns"]] = Field(
        default_factory=list, description="OpenCV classic inpainting baselines (infill)")
    decoding: list[str] = Field(
        default_factory=list, description="decodings to evaluate (infill): greedy, mean, sample")
    metric: str | None = Field(
        None, description="metric that picks the `best` checkpoint (task default if null)")
    samples: int = Field(8, ge=0, description="images per sample grid (infill)")


class Recipe(Strict):
    """A whole recipe: data, model, task and training plan."""

    extends: str | None = Field(
        None, description="a base recipe (path relative to this file), deep-merged under this one")
    seed: int = Field(0, description="seeds python, numpy and torch (offset per rank)")
    deterministic: bool = Field(False, description="torch deterministic algorithms")
    dataset: Annotated[PartSpec, Kind("datasets")] = Field(
        description="where images come from, e.g. digits or {type: digits, limit: 64}; "
                    "see Datasets below")
    mask: Annotated[PartSpec, Kind("masks")] | None = Field(
        None, description="training hole masks (infill)")
    model: Annotated[PartSpec, Kind("models")] = Field(description="see Models below")
    task: Annotated[PartSpec, Kind("tasks")] = Field(description="see Tasks below")
    train: TrainConfig = Field(default_factory=TrainConfig, description="see `train` below")
    eval: EvalConfig = Field(default_factory=EvalConfig, description="see `eval` below")
    name: str | None = Field(None, description="display name (defaults to the recipe file stem)")
