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

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pixelzoo.config import Kind, PartSpec, Seed


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

    type: Literal["constant", "cosine", "onecycle"] = Field(
        "constant", description="constant or cosine after a linear warm-up; onecycle: torch's "
                                "OneCycleLR peaking at lr (momentum not cycled)")
    warmup_steps: int = Field(
        0, ge=0, description="linear warm-up steps; for onecycle the rising phase (0: 30% of "
                             "the run)")
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
        "auto", description="RowRNN scan: auto takes the wavefront where the model supports it, "
                            "else the reference loop; the run says which it took")
    cuda_graphs: bool = Field(
        False, description="capture the training step in a CUDA graph and replay it (one CUDA "
                           "device, adam or adamw); elsewhere a notice and eager steps")
    num_threads: Annotated[int, Field(ge=1)] | Literal["auto"] | None = Field(
        "auto", description="torch CPU threads: auto takes the cores the load average leaves "
                            "free (one on a busy machine) and lowers the count if other "
                            "processes take cores mid-run; a number is used as given; null "
                            "keeps torch's default (see docs/performance.md, on a busy machine)")
    checkpoint_every: int | None = Field(
        None, ge=1, description="also write a step checkpoint every N optimizer steps")
    keep: int = Field(3, ge=1, description="how many epoch checkpoints to keep in history")
    log_every: int = Field(10, ge=1, description="progress refresh interval in steps")
    callbacks: list[Annotated[PartSpec, Kind("callbacks")]] = Field(
        default_factory=list,
        description="loop behaviours run in this order, each a name or {type: NAME, ...}, "
                    "e.g. [{type: ema, decay: 0.999}]; see Callbacks below")

    @field_validator("num_threads", mode="before")
    @classmethod
    def _threads(cls, v: object) -> object:
        # one clear message instead of one per member of the union
        ok = v is None or v == "auto" or (isinstance(v, int) and not isinstance(v, bool) and v >= 1)
        if not ok:
            raise ValueError("expected a whole number of threads (1 or more), auto or null")
        return v


class EvalConfig(Strict):
    """What evaluation shares across tasks: when, on which images, and the metric for `best`.

    What a task measures on those images is the task's own (`task.eval` for infill: masks,
    decodings, baselines, samples; see Tasks below).
    """

    every: int = Field(1, ge=1, description="evaluate every N epochs (and always at the end)")
    split: Literal["val", "test"] = "val"
    final_split: Literal["val", "test"] = Field("test", description="split for the final table")
    batch_size: int = Field(64, ge=1)
    limit: int | None = Field(None, ge=1, description="evaluate on the first N images only")
    seed: Seed = Field(1234, description="seed of the task's fixed evaluation randomness (the "
                                        "infill hole sets)")
    metric: str | None = Field(
        None, description="metric that picks the `best` checkpoint, one the task reports "
                          "(checked when the recipe is read); null: the task's primary metric")
    datasets: list[Annotated[PartSpec, Kind("datasets", keep=("label",))]] = Field(
        default_factory=list,
        description="extra datasets scored at the final evaluation beside the recipe's own "
                    "(out-of-distribution sets), on their final_split split, each a name or "
                    "{type: NAME, ...} with an optional display `label` (default: the type; "
                    "type_2, ... for repeats); their images must have the model's size. The "
                    "same holes, seed and eval.limit as the own split (a dataset's own `limit` "
                    "can make a set smaller); never used for `best`, which follows the own "
                    "split; e.g. [lineart, toon_transformed, skimage_photos]")

    @field_validator("datasets")
    @classmethod
    def _dataset_labels(cls, value: list[PartSpec]) -> list[PartSpec]:
        dataset_labels(value)  # raises ValueError on a bad or repeated label
        return value


#: Joins an extra evaluation dataset's label to a metric key in tables and `compare`:
#: `lineart:demo_hole/psnr` is `demo_hole/psnr` on the `lineart` dataset.
DATASET_SEP = ":"


def dataset_labels(specs: list[PartSpec] | list[dict]) -> list[str]:  # type: ignore[type-arg]
    """The display label of each `eval.datasets` entry: its `label`, else its type (type_2,
    type_3, ... for repeats). Labels name picture folders and prefix metric keys
    (`LABEL:METRIC`), so each is a plain name without '/', '\\' or ':', and they are unique."""
    out: list[str] = []
    for i, item in enumerate(specs):
        if isinstance(item, PartSpec):
            given, type_ = item.params.get("label"), item.type
        elif isinstance(item, dict):
            given, type_ = item.get("label"), item.get("type")
        else:
            given, type_ = None, item
        if given is not None:
            if not isinstance(given, str) or not given:
                raise ValueError(f"[{i}].label: expected a non-empty name, got {given!r}")
            problem = name_problem(given) or (
                f"must not hold '{DATASET_SEP}' (it joins the label to metric keys)"
                if DATASET_SEP in given else None)
            if problem:
                raise ValueError(f"[{i}].label {given!r}: {problem}")
            if given in out:
                raise ValueError(f"[{i}].label {given!r}: another dataset has this label")
            out.append(given)
            continue
        label, n = str(type_), 1
        while label in out:
            n += 1
            label = f"{type_}_{n}"
        out.append(label)
    return out


class Recipe(Strict):
    """A whole recipe: data, model, task and training plan."""

    extends: str | None = Field(
        None, description="a base recipe (path relative to this file), deep-merged under this one")
    seed: Seed = Field(0, description="seeds python, numpy and torch (offset per rank)")
    deterministic: bool = Field(False, description="torch deterministic algorithms")
    dataset: Annotated[PartSpec, Kind("datasets")] = Field(
        description="where images come from, e.g. digits or {type: digits, limit: 64}; "
                    "see Datasets below")
    mask: Annotated[PartSpec, Kind("masks")] | None = Field(
        None, description="training hole masks (infill)")
    augment: list[Annotated[PartSpec, Kind("augmentations")]] = Field(
        default_factory=list,
        description="augmentations of the training batches, applied on the fly in order "
                    "(never to evaluation), e.g. [hue, flip, {type: scale_shift, scale: 0.1}]")
    model: Annotated[PartSpec, Kind("models")] = Field(description="see Models below")
    task: Annotated[PartSpec, Kind("tasks")] = Field(description="see Tasks below")
    train: TrainConfig = Field(default_factory=TrainConfig, description="see `train` below")
    eval: EvalConfig = Field(default_factory=EvalConfig, description="see `eval` below")
    name: str | None = Field(
        None, description="display name and the run folder's name under --out (defaults to the "
                          "recipe file stem): a plain folder name, no '/', '\\' or '..'")

    @field_validator("name")
    @classmethod
    def _plain_name(cls, v: str | None) -> str | None:
        # The run folder is `<--out>/<name>/<time>`: a name holding a path would put it (and
        # everything the run writes) outside the folder the user asked for.
        problem = name_problem(v) if v else None
        if problem:
            raise ValueError(problem)
        return v


NAME_MAX = 100


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a run folder's name inside `--out`, or None if it can."""
    if len(name) > NAME_MAX:
        return f"at most {NAME_MAX} characters, since it names the run folder"
    if name in (".", "..") or any(c in name for c in "/\\") or any(ord(c) < 32 for c in name):
        return ("must be a plain folder name (the run folder is <--out>/<name>/<time>), without "
                "'/', '\\', control characters, or '.' and '..' alone")
    return None
