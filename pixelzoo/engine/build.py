"""The one door to a model: assembling a recipe's parts, and building a model from weights.

`build_all` and its `build_*` steps assemble a resolved recipe's dataset, masks, task and model
with the sizes the core owns: the dataset's geometry and class count flow into the task and the
model; no recipe repeats them. A recipe whose model names weights (`model: {weights:
toon_infill}`, or a finished run's folder) gets them loaded here, so `pixelzoo run` fine-tunes
(or, with `train.epochs: 0`, evaluates: on `eval.datasets` too) them. `build_eval_datasets` loads
the recipe's extra evaluation datasets and checks they have the model's image size.

`create_model` is the builder every other caller uses, in the spirit of timm's `create_model`
and torchvision's `get_model(weights=...)`: a fresh model by name, a recipe's model (`pixelzoo
show`), or a model from weights: shipped weights by tag (hash checked), a run folder
(`find_weights` picks its weights), or a `.safetensors` file. It returns the model with a
`ModelInfo` as `model.pixelzoo`: where the weights came from and what inputs they expect.
`load_run` adds the task for inference (`pixelzoo infill`, `compare` grids, `pixelzoo.fill`).

Not here: training (`pixelzoo.engine.trainer`), the files' format (`pixelzoo.engine.checkpoint`),
preparing a user's image (`pixelzoo.api`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pixelzoo.data.base import DataSplits
from pixelzoo.errors import CheckpointError, PixelzooError
from pixelzoo.recipe import ResolvedRecipe, build_part


@dataclass
class Parts:
    data: DataSplits
    mask: Any
    task: Any
    model: Any


def build_data(recipe: ResolvedRecipe) -> DataSplits:
    spec = dict(recipe.data["dataset"])
    return build_part("datasets", spec).load()


def build_mask(spec: dict[str, Any] | None, data: DataSplits) -> Any:
    if spec is None:
        return None
    return build_part("masks", spec, channels=data.channels, height=data.height,
                      width=data.width)


def build_task(recipe: ResolvedRecipe, data: DataSplits, mask: Any = None) -> Any:
    return build_part("tasks", recipe.data["task"], data=data, mask=mask,
                      eval_config=recipe.envelope().eval)


def build_model(recipe: ResolvedRecipe, task: Any) -> Any:
    """The recipe's model on the task's sizes; with `model.weights`, those weights loaded."""
    return _recipe_model(recipe, task.model_kwargs())


def _recipe_model(recipe: ResolvedRecipe, sizes: dict[str, Any]) -> Any:
    spec = model_section(recipe.data)
    model = build_part("models", spec, **sizes)
    source = recipe.data["model"].get("weights")
    if source:
        _load_recipe_weights(model, recipe, str(source))
    else:
        model.pixelzoo = _info(spec, sizes, task=recipe.data["task"]["type"], recipe=recipe.data)
    return model


@dataclass
class EvalDataset:
    """One of `eval.datasets`, loaded: its label, its resolved spec and its splits."""

    label: str
    spec: dict[str, Any]
    data: DataSplits


def build_eval_datasets(recipe: ResolvedRecipe, data: DataSplits) -> list[EvalDataset]:
    """The recipe's extra evaluation datasets (`eval.datasets`), loaded and checked to have the
    images the model reads (the recipe's own dataset's channels and size).

    Only the final split is scored, on its first `eval.limit` images, so a dataset loads no more
    than that many per split (the same first images: a dataset's `limit` takes the first N of
    each split after splitting), and a generated set does not draw thousands of training images
    nobody looks at. The spec returned is the recipe's, as written.
    """
    from pixelzoo.schema import dataset_labels

    ev = recipe.data.get("eval") or {}
    specs = list(ev.get("datasets") or [])
    limit = ev.get("limit")
    parts, problems = [], []
    want = (data.channels, data.height, data.width)
    for i, (label, given) in enumerate(zip(dataset_labels(specs), specs, strict=True)):
        spec = {k: v for k, v in given.items() if k != "label"}
        load_spec = dict(spec)
        if limit is not None and "limit" in load_spec:  # no more than are scored
            load_spec["limit"] = min(limit, load_spec["limit"] or limit)
        part = build_part("datasets", load_spec)
        g = part.geometry()  # checked for every set before any is loaded
        if (g.channels, g.height, g.width) != want:
            problems.append(
                f"eval.datasets[{i}] ({label}): its images are {g.channels}x{g.height}x{g.width} "
                f"(channels x height x width) but the model reads {want[0]}x{want[1]}x{want[2]}, "
                f"the recipe's dataset's; give it the same size (size: {want[1]}) or leave it out")
        parts.append((label, spec, part))
    if problems:
        from pixelzoo.errors import RecipeError

        raise RecipeError(problems, source=str(recipe.source) if recipe.source else None)
    return [EvalDataset(label, spec, part.load()) for label, spec, part in parts]


def build_all(recipe: ResolvedRecipe, data: DataSplits | None = None) -> Parts:
    data = data if data is not None else build_data(recipe)
    mask = build_mask(recipe.data.get("mask"), data)
    task = build_task(recipe, data, mask)
    model = build_model(recipe, task)
    return Parts(data, mask, task, model)


def architecture(recipe: ResolvedRecipe, model: Any) -> dict[str, Any]:
    """What must match for weights to load: the model section plus the data geometry."""
    arch = {"model": model_section(recipe.data)}
    for key in ("channels", "height", "width", "num_classes"):
        if hasattr(model, key):
            arch[key] = getattr(model, key)
    return arch


def count_parameters(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())


# ------------------------------------------------------------------------------ the one builder
#: Sizes the core owns; `create_model` takes them as keywords beside the model's parameters.
CORE_SIZES = ("channels", "height", "width", "num_classes")
#: The geometry of a fresh model when neither weights nor a recipe give one: the toon faces'.
DEFAULT_SIZES: dict[str, Any] = {"channels": 3, "height": 36, "width": 36, "num_classes": None}


def model_section(recipe_data: dict[str, Any]) -> dict[str, Any]:
    """A resolved recipe's model section as the model's `Config` takes it: without `weights`."""
    return {k: v for k, v in recipe_data["model"].items() if k != "weights"}


@dataclass
class ModelInfo:
    """What a model built here carries as `model.pixelzoo`: its make and the inputs it expects.

    `source` is the shipped tag, run folder or weights file the weights came from (None for a
    fresh model); `recipe` the resolved recipe they were trained with, when known; `meta` the
    shipped weights' record (`pixelzoo/weights/<tag>/meta.json`), else empty.
    """

    name: str
    spec: dict[str, Any]
    channels: int
    height: int
    width: int
    num_classes: int | None = None
    task: str | None = None
    source: str | None = None
    tag: str | None = None
    weights_file: str | None = None
    recipe: dict[str, Any] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    # the task that fills or predicts with this model, built once on first use (`inference_task`)
    _task: Any = field(default=None, repr=False, compare=False)

    @property
    def preprocessing(self) -> dict[str, Any]:
        """How an image of another size becomes the model's input, as the training data did:
        `crop` (a centre square of that side, "square" for the largest, None for none), then an
        area resize to `size`. A `mixture` takes its first component's (they share a geometry,
        and the first is the one its test split starts with)."""
        dataset = (self.recipe or {}).get("dataset") or {}
        parts = [d for d in dataset.get("datasets") or [] if isinstance(d, dict)]
        if parts and "size" not in dataset:
            dataset = parts[0]
        size = int(dataset.get("size", self.height) or self.height)
        return {"crop": dataset.get("crop"), "size": size}

    @property
    def fill_decoding(self) -> str | None:
        """The decoding the recipe names for filling (`task.fill_decoding`), if any."""
        value = ((self.recipe or {}).get("task") or {}).get("fill_decoding")
        return str(value) if value else None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view (for a web page or a log)."""
        return {"name": self.name, "model": self.spec, "channels": self.channels,
                "height": self.height, "width": self.width, "num_classes": self.num_classes,
                "task": self.task, "source": self.source, "tag": self.tag,
                "weights_file": self.weights_file, "preprocessing": self.preprocessing,
                "fill_decoding": self.fill_decoding, "meta": self.meta}


def _info(spec: dict[str, Any], sizes: dict[str, Any], **kw: Any) -> ModelInfo:
    return ModelInfo(str(spec.get("type")), dict(spec), int(sizes["channels"]),
                     int(sizes["height"]), int(sizes["width"]), sizes.get("num_classes"), **kw)


@dataclass
class WeightsSource:
    """Where a set of weights is: the file, a label for messages, the recipe they came with."""

    file: Path
    label: str
    recipe: dict[str, Any] | None = None
    tag: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def _read_config(path: Path) -> dict[str, Any]:
    from pixelzoo.safe_yaml import read_yaml_file

    # a run folder may come from a stranger: read like a recipe (encoding, size, aliases)
    data, _ = read_yaml_file(path)
    if not isinstance(data, dict):
        raise PixelzooError(f"{path}: not a recipe")
    return data


def _evaluated_weights(config: dict[str, Any]) -> str | None:
    """The shipped tag a run only evaluated (`model.weights` with `train.epochs: 0`), if any."""
    model = config.get("model") if isinstance(config.get("model"), dict) else {}
    train = config.get("train") if isinstance(config.get("train"), dict) else {}
    tag = model.get("weights")
    return str(tag) if tag and train.get("epochs") == 0 else None


def find_weights(folder: str | Path, *, _depth: int = 0) -> Path:
    """The weights a folder stands for: its `model.safetensors` (shipped weights), else the
    run's `checkpoints/best.safetensors`, else `last`; a run that only evaluated shipped weights
    or another run's (`model.weights` with `train.epochs: 0`) stands for those (shipped ones
    hash checked)."""
    folder = Path(folder)
    for cand in (folder / "model.safetensors", folder / "checkpoints" / "best.safetensors",
                 folder / "checkpoints" / "last.safetensors"):
        if cand.is_file():
            return cand
    config = folder / "config.yaml"
    tag = _evaluated_weights(_read_config(config)) if config.is_file() else None
    if tag:
        from pixelzoo import weights as shipped

        if Path(tag).is_dir() and Path(tag).resolve() != folder.resolve() and _depth < 8:
            return find_weights(tag, _depth=_depth + 1)  # it evaluated another run's weights
        return shipped.get(tag).verify()
    raise PixelzooError(f"{folder}: no weights found (looked for model.safetensors and "
                        "checkpoints/best.safetensors or last.safetensors); has the run trained "
                        "at least one epoch?")


def _check_task(recipe: dict[str, Any] | None, label: str, task: str | None) -> None:
    found = ((recipe or {}).get("task") or {}).get("type")
    if task is not None and found is not None and found != task:
        raise PixelzooError(f"{label}: this run was trained for task '{found}', not {task}")


def resolve_weights(source: str | Path, *, task: str | None = None) -> WeightsSource:
    """A shipped tag (its hash checked), a run folder, or a `.safetensors` file -> its weights.

    With `task`, a run trained for another task is refused before any weights are read.
    """
    from pixelzoo import weights as shipped

    path = Path(source)
    if path.is_dir():
        config = path / "config.yaml"
        if not config.is_file():
            raise PixelzooError(f"{path}: not a run folder (no config.yaml in it)")
        recipe = _read_config(config)
        _check_task(recipe, str(path), task)
        file = find_weights(path)
        tag = _evaluated_weights(recipe)
        if tag and shipped.is_weights_name(tag) and not Path(tag).exists() \
                and file.parent == shipped.get(tag).folder:  # an evaluation of shipped weights
            return WeightsSource(file, str(path), recipe, tag, shipped.get(tag).meta)
        return WeightsSource(file, str(path), recipe)
    if path.is_file():
        if path.suffix != ".safetensors":
            raise PixelzooError(f"{path}: expected a run folder, a .safetensors weights file or "
                                "a shipped weights name, got another file")
        # a run's checkpoints/x.safetensors, or a folder holding model.safetensors + config.yaml
        config = next((d / "config.yaml" for d in (path.parent, path.parent.parent)
                       if (d / "config.yaml").is_file()), None)
        recipe = _read_config(config) if config is not None else None
        _check_task(recipe, str(path), task)
        return WeightsSource(path, str(path), recipe)
    name = str(source)
    if shipped.is_weights_name(name):
        w = shipped.get(name)
        recipe = w.config()
        _check_task(recipe, f"weights '{w.tag}'", task)
        return WeightsSource(w.verify(), w.tag, recipe, w.tag, w.meta)
    listing = ", ".join(shipped.names()) or "(none)"
    close = shipped.suggest(name)
    hint = f"; did you mean '{close}'?" if close else ""
    raise PixelzooError(f"'{source}' is neither a run folder nor a shipped weights name{hint} "
                        f"(shipped: {listing}); pass a folder such as "
                        "runs/cartoon_infill/<timestamp>")


def _ready(model: Any, device: Any) -> Any:
    """On `device`, on the fastest scan that computes the same numbers."""
    from pixelzoo.models.scan import select

    if device is not None:
        model.to(device)
    select(model, "auto")
    return model


def create_model(name_or_recipe: str | Path | ResolvedRecipe | None = None, *,
                 weights: str | Path | None = None, device: Any = None, **overrides: Any) -> Any:
    """The one builder: a fresh model, a recipe's model, or a model from weights.

    - `create_model("rowrnn", hidden=64)`: a fresh model; `channels`, `height`, `width` and
      `num_classes` may be given too (default: RGB 36x36, the toon faces).
    - `create_model(weights="toon_infill")` (or `"rowrnn.toon_infill"`, a run folder, a
      `.safetensors` file): the model those weights fit, loaded and in eval mode. A name or
      parameters given beside them must match the weights' architecture.
    - `create_model(recipe)` (a `ResolvedRecipe` or a recipe path): the recipe's model on its
      dataset's geometry, without loading the data; with the recipe's `model.weights`, loaded.

    The model carries a `ModelInfo` as `model.pixelzoo`, is moved to `device` if one is given,
    and runs on the fastest scan that computes the same numbers.
    """
    if isinstance(name_or_recipe, ResolvedRecipe) or (
            isinstance(name_or_recipe, (str, Path))
            and Path(name_or_recipe).suffix.lower() in (".yaml", ".yml")):
        if weights is not None or overrides:
            raise PixelzooError("create_model: with a recipe, name the weights and parameters "
                                "in the recipe (model: {weights: TAG}, or --set overrides)")
        return _ready(_from_recipe(name_or_recipe), device)
    name = None if name_or_recipe is None else str(name_or_recipe)
    if weights is None and name is not None and "." in name:
        from pixelzoo import weights as shipped

        if shipped.is_weights_name(name):  # timm's ARCH.TAG
            name, weights = None, name
    if weights is not None:
        return _ready(_from_weights(name, weights, overrides), device)
    sizes = {**DEFAULT_SIZES, **{k: overrides.pop(k) for k in CORE_SIZES if k in overrides}}
    spec = {"type": name or "rowrnn", **overrides}
    model = build_part("models", spec, **sizes)
    model.pixelzoo = _info(spec, sizes)
    return _ready(model, device)


def _from_recipe(recipe: str | Path | ResolvedRecipe) -> Any:
    if not isinstance(recipe, ResolvedRecipe):
        from pixelzoo.recipe import load_recipe

        recipe = load_recipe(recipe)
    from pixelzoo.registry import registry_for

    # the dataset's geometry, not its images: `pixelzoo show` answers without loading data
    geometry = build_part("datasets", recipe.data["dataset"]).geometry()
    task = recipe.data["task"]
    cls = registry_for("tasks").get(task["type"])
    config = cls.Config.model_validate({k: v for k, v in task.items() if k != "type"})
    return _recipe_model(recipe, cls.sizes(geometry, config))


def _from_weights(name: str | None, weights: str | Path, overrides: dict[str, Any],
                  *, task: str | None = None) -> Any:
    from pixelzoo import weights as shipped
    from pixelzoo.engine.checkpoint import apply_weights, read_weights

    src = resolve_weights(weights, task=task)
    state, arch = read_weights(src.file)
    if not arch or not all(k in arch for k in ("channels", "height", "width")):
        raise CheckpointError(f"{src.file}: the weights do not record the image size they were "
                              "trained for (not a pixelzoo checkpoint?)")
    # The weights' own record of the model wins over config.yaml: defaults added to a part's
    # Config since training must not change the model the weights belong to.
    spec = arch.get("model") or (model_section(src.recipe) if src.recipe else None)
    if not spec:
        raise CheckpointError(f"{src.file}: the weights do not record their model")
    core = {k: overrides.pop(k) for k in CORE_SIZES if k in overrides}
    problems = []
    if name is not None and name != spec.get("type"):
        problems.append(f"'{name}' does not fit the weights {src.label}, a '{spec.get('type')}'")
    for key, given, recorded in shipped.conflicts(overrides, spec):
        problems.append(f"{'.'.join(key)}={given!r} does not fit the weights {src.label}, "
                        f"trained with {recorded!r}")
    for key, given in core.items():
        if given != arch.get(key):
            problems.append(f"{key}={given!r} does not fit the weights {src.label}, trained with "
                            f"{arch.get(key)!r}")
    if problems:
        raise shipped.WeightsError("create_model: " + "; ".join(problems)
                                   + " (weights fix the architecture)")
    spec = shipped.overlay(spec, overrides)
    sizes = {k: arch.get(k) for k in CORE_SIZES}
    model = build_part("models", spec, **sizes)
    apply_weights(src.file, model, state)
    recipe_task = ((src.recipe or {}).get("task") or {}).get("type") or src.meta.get("task")
    model.pixelzoo = _info(spec, sizes, task=recipe_task, source=src.label, tag=src.tag,
                           weights_file=str(src.file), recipe=src.recipe, meta=src.meta)
    return model.eval()


def _load_recipe_weights(model: Any, recipe: ResolvedRecipe, source: str) -> None:
    """Load the weights a recipe's `model.weights` names (shipped weights, hash checked, or a
    finished run's folder, as the recipe validator found it) into the model built for it."""
    from pixelzoo import weights as shipped
    from pixelzoo.engine.checkpoint import (ArchitectureMismatch, apply_weights,
                                            check_architecture, read_weights)

    # its errors name the folder or tag (a run without weights, a damaged file); weights for
    # another task are refused below, by what they do not fit
    src = resolve_weights(source)
    state, found = read_weights(src.file)
    try:
        check_architecture(src.file, architecture(recipe, model), found)
    except ArchitectureMismatch as exc:
        detail = str(exc).split(":\n", 1)[-1]
        raise shipped.WeightsError(f"model.weights: the weights '{src.label}' do not fit this "
                                   f"recipe's model and data (expected is the recipe's, found "
                                   f"the weights'):\n{detail}") from None
    apply_weights(src.file, model, state)
    sizes = {k: getattr(model, k, None) for k in CORE_SIZES}
    model.pixelzoo = _info(model_section(recipe.data), sizes, task=recipe.data["task"]["type"],
                           source=src.label, tag=src.tag, weights_file=str(src.file),
                           recipe=recipe.data, meta=src.meta)


# ------------------------------------------------------------------------------ inference
@dataclass
class LoadedRun:
    """A model with its weights loaded and the task that runs it for inference."""

    model: Any
    task: Any

    @property
    def info(self) -> ModelInfo:
        return self.model.pixelzoo


def inference_task(model: Any, task: str | None = None) -> Any:
    """The task that runs `model` for inference (`fill` for infill), from its recipe's settings.

    Built once per model. `task` names the one the caller needs; a model trained for another is
    refused. A model with no recipe (fresh, or a bare weights file) gets the task's defaults.
    """
    from pixelzoo.recipe import recipe_from_dict
    from pixelzoo.registry import registry_for

    info: ModelInfo = model.pixelzoo
    if info._task is not None and (task is None or info.task in (None, task)):
        return info._task
    name = task or info.task
    if name is None:
        raise PixelzooError("this model was not trained for a task; name one")
    _check_task({"task": {"type": info.task}} if info.task else None, info.source or info.name,
                name)
    cls = registry_for("tasks").get(name)
    if info.recipe is not None:
        data = {**info.recipe, "model": info.spec}  # the run's own tag need not exist any more
        recipe = recipe_from_dict(data, name=Path(info.source or "model").name)
    else:
        # the task's own defaults; the dataset is a placeholder the envelope asks for (never
        # loaded: an inference task has no data)
        recipe = recipe_from_dict({"dataset": "toon", "model": info.spec, "task": {"type": name}},
                                  name=info.name)
    info._task = cls.for_inference(recipe)
    return info._task


def load_run(source: str | Path, *, device: Any = "cpu", task: str | None = None) -> LoadedRun:
    """A run folder, shipped weights or weights file, ready for inference on `device`.

    With `task`, a run trained for another task is refused before its weights are read.
    """
    model = _ready(_from_weights(None, source, {}, task=task), device)
    return LoadedRun(model, inference_task(model, task))


def weights_recipe(weights: str, base: dict[str, Any] | None = None,
                   overrides: list[str] | None = None) -> ResolvedRecipe:
    """A recipe that evaluates shipped weights without training (`train.epochs: 0`).

    On `base`'s data and evaluation sets (a compared recipe's or run's resolved recipe), or on
    the weights' own `config.yaml` when there is none; `overrides` that set the model or the
    training are left out, since the weights fix the one and skip the other.
    """
    import copy

    from pixelzoo import weights as shipped
    from pixelzoo.recipe import apply_overrides, recipe_from_dict

    w = shipped.get(weights)
    data = copy.deepcopy(base if base is not None else w.config())
    data.pop("extends", None)
    kept = [o for o in overrides or []
            if o.split("=", 1)[0].strip().split(".")[0] not in ("model", "train", "name")]
    data = apply_overrides(data, kept)
    task = (data.get("task") or {}).get("type") if isinstance(data.get("task"), dict) \
        else data.get("task")
    if w.task and task and task != w.task:
        raise shipped.WeightsError(f"weights '{w.tag}' are for task '{w.task}'; the compared "
                                   f"recipes are for '{task}'")
    data["model"] = {"weights": w.tag}
    data["train"] = {**(data.get("train") or {}), "epochs": 0}
    data["name"] = w.tag
    return recipe_from_dict(data, name=w.tag)
