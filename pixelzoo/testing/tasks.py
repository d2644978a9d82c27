"""Conformance checks for tasks: sizes, a finite training loss that backpropagates, declared
metrics from `evaluate`, the capture split, interrupt checks and determinism.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from pixelzoo.errors import RecipeError
from pixelzoo.recipe import build_part, recipe_from_dict
from pixelzoo.testing._kit import (SEED, _check_config_class, _check_recipe, _quiet_torch, _recipe,
                                   _resolve)


def kit_data(channels: int = 3, size: int = 8, num_classes: int = 3, n: int = 6,
             seed: int = SEED) -> Any:
    """Tiny labelled `DataSplits` (blocky random images, `n` per split, twice as many to train)."""
    from pixelzoo.data.base import DataSplits, ImageSet

    rng = np.random.default_rng(seed)

    def split(k: int) -> ImageSet:
        small = rng.integers(0, 256, (k, channels, size // 2, size // 2), dtype=np.uint8)
        images = np.repeat(np.repeat(small, 2, axis=2), 2, axis=3)
        return ImageSet(images, rng.integers(0, num_classes, k).astype(np.int64))

    return DataSplits(train=split(2 * n), val=split(n), test=split(n), num_classes=num_classes,
                      class_names=[str(c) for c in range(num_classes)])


def check_task(task: str | type, params: dict[str, Any] | None = None, *, data: Any = None,
               mask: dict[str, Any] | str | None = "boxes",
               model: dict[str, Any] | None = None) -> None:
    """Check a task (see `pixelzoo.tasks.base.Task`).

    Interface and Config; the declared `metrics` (a non-empty tuple of `Metric` records with
    distinct names, at most one primary) and `metric_names` for the Config, each covered by a
    declaration, with the primary among them; `model_kwargs` (the data's geometry, agreeing with
    the class's `sizes`, and a model builds from them); `training_loss` a finite scalar whose
    gradient reaches the model; the capture split, where the task provides it, equal to
    `training_loss` on fixed-shape tensors; determinism given the numpy generator (the loss; the
    torch seed must not matter) and across two builds (the evaluation); `evaluate` calling
    `check_interrupt` and returning every declared metric, finite, and no undeclared key;
    `report` returning a JSON-serialisable dict; and building from a recipe, where a misspelt
    `eval.metric` is refused. `data` defaults to `kit_data()` (3x8x8 images with 3 classes),
    `mask` is the training hole generator (a mask spec, None for none), `model` the model spec
    (default: a tiny `rowrnn`). Pass `params` that suit tiny images (the infill task's default
    evaluation hole `demo_hole` lies outside an 8x8 image, say).
    """
    import json
    import math
    import tempfile
    from pathlib import Path

    from pixelzoo.data.base import Geometry
    from pixelzoo.schema import EvalConfig
    from pixelzoo.tasks.base import Metric, Task

    with _resolve("tasks", task, params) as p, _quiet_torch():
        p.expect(isinstance(p.cls, type) and issubclass(p.cls, Task), "interface",
                 "it must subclass pixelzoo.tasks.base.Task")
        _check_config_class(p)
        declared = p.cls.metrics
        p.expect(isinstance(declared, tuple) and declared
                 and all(isinstance(m, Metric) for m in declared), "metrics",
                 "the class attribute `metrics` must be a non-empty tuple of "
                 "pixelzoo.tasks.base.Metric records")
        names = [m.name for m in declared]
        p.expect(len(set(names)) == len(names), "metrics", f"metric names repeat: {names}")
        p.expect(sum(m.primary for m in declared) <= 1, "metrics",
                 "more than one metric is marked primary")
        cfg = p.cls.Config.model_validate(p.params)
        with p.stage("metrics"):
            keys = list(p.cls.metric_names(cfg))
            primary = p.cls.primary_metric_for(cfg)
        p.expect(keys and all(isinstance(k, str) for k in keys), "metrics",
                 f"metric_names() must list the keys evaluate() returns, got {keys!r}")
        undeclared = [k for k in keys if "*" not in k and p.cls.metric(k) is None]
        p.expect(not undeclared, "metrics", f"metric_names() lists {undeclared}, which no "
                                            f"declared Metric covers ({names})")
        p.expect(primary in keys or any(Metric(k, True).matches(primary) for k in keys),
                 "metrics", f"the primary metric '{primary}' is not among metric_names(): {keys}")

        data = data if data is not None else kit_data()
        spec = model or {"type": "rowrnn", "embed": 6, "hidden": 7, "layers": 1}
        ev = EvalConfig(limit=None, batch_size=4, seed=SEED)

        def build() -> Any:
            gen = None
            if mask is not None:
                gen = build_part("masks", mask, channels=data.channels, height=data.height,
                                 width=data.width)
            return p.build(data=data, mask=gen, eval_config=ev)

        with p.stage("interface"):
            inst = build()
            sizes = inst.model_kwargs()
        p.expect(isinstance(inst, p.cls), "interface", "build_part did not return an instance")
        p.expect(isinstance(sizes, dict) and {"channels", "height", "width"} <= set(sizes),
                 "model_kwargs", f"model_kwargs() must give channels, height and width: {sizes}")
        got = (sizes["channels"], sizes["height"], sizes["width"])
        p.expect(got == (data.channels, data.height, data.width), "model_kwargs",
                 f"model_kwargs() gives {got} for {data.channels}x{data.height}x{data.width} "
                 "images")
        geo = Geometry(data.channels, data.height, data.width, data.num_classes)
        with p.stage("model_kwargs"):
            from_class = p.cls.sizes(geo, cfg)
        p.expect(from_class == sizes, "model_kwargs",
                 f"sizes() gives {from_class} but model_kwargs() {sizes}: `pixelzoo show` counts "
                 "the model with sizes(), so override sizes() rather than model_kwargs()")
        with p.stage("model_kwargs"):
            net = build_part("models", spec, **sizes)

        images = torch.from_numpy(data.train.images[:4])
        labels = (torch.from_numpy(data.train.labels[:4])
                  if data.train.labels is not None else None)
        with p.stage("training loss"):
            net.train()
            torch.manual_seed(1)
            loss, logs = inst.training_loss(net, images, labels, np.random.default_rng(7))
        p.expect(isinstance(loss, torch.Tensor) and loss.ndim == 0, "training loss",
                 f"training_loss must return (scalar tensor, dict), got {type(loss).__name__}")
        p.expect(isinstance(logs, dict), "training loss", "the second value must be a dict")
        p.expect(bool(torch.isfinite(loss)), "training loss", f"the loss is {loss.item()}")
        with p.stage("gradient flow"):
            net.zero_grad(set_to_none=True)
            loss.backward()
        grads = [q.grad for q in net.parameters() if q.grad is not None]
        p.expect(grads, "gradient flow", "the loss reaches no model parameter")
        p.expect(all(bool(torch.isfinite(g).all()) for g in grads), "gradient flow",
                 "non-finite gradients")
        p.expect(any(bool(g.any()) for g in grads), "gradient flow", "every gradient is zero")
        with p.stage("determinism"):
            torch.manual_seed(2)  # another torch seed: a task draws from its numpy generator
            again, _ = inst.training_loss(net, images, labels, np.random.default_rng(7))
        p.expect(torch.equal(loss.detach(), again.detach()), "determinism",
                 f"two losses with equally seeded generators differ: {loss.item()} vs "
                 f"{again.item()}")

        if inst.supports_capture():
            with p.stage("capture split"):
                inputs = inst.capture_inputs(images, labels, np.random.default_rng(7))
                captured = inst.capture_loss(net, *inputs)
                other = inst.capture_inputs(torch.from_numpy(data.train.images[4:8]), labels,
                                            np.random.default_rng(8))
            p.expect(all(isinstance(t, torch.Tensor) for t in inputs), "capture split",
                     "capture_inputs must return tensors only")
            shapes = [(tuple(t.shape), t.dtype) for t in inputs]
            p.expect(shapes == [(tuple(t.shape), t.dtype) for t in other], "capture split",
                     "capture_inputs' shapes depend on the data; a CUDA graph replays fixed "
                     "shapes")
            p.expect(torch.allclose(captured.detach().double(), loss.detach().double(),
                                    rtol=1e-4, atol=1e-6), "capture split",
                     f"capture_loss gives {captured.item()} but training_loss {loss.item()}")

        calls = []
        with p.stage("evaluate"):
            net.eval()
            inst.interrupt_check = lambda: calls.append(1)
            try:
                metrics = inst.evaluate(net, data.val, torch.device("cpu"), 4)
            finally:
                inst.interrupt_check = None
        p.expect(calls, "evaluate", "evaluate never calls check_interrupt(), so a stop signal "
                                    "would wait for the whole evaluation")
        p.expect(isinstance(metrics, dict), "evaluate", "evaluate must return a dict")
        missing = [k for k in keys if "*" not in k and k not in metrics]
        p.expect(not missing, "evaluate", f"declared metrics missing from evaluate(): {missing}")
        unmatched = [k for k in keys if "*" in k and not any(Metric(k, True).matches(m)
                                                             for m in metrics)]
        p.expect(not unmatched, "evaluate", f"no key of evaluate() matches {unmatched}")
        extra = [k for k in metrics if p.cls.metric(k) is None]
        p.expect(not extra, "evaluate", f"evaluate() returns undeclared keys {extra}; declare "
                                        "them in `metrics`")
        bad = {k: v for k, v in metrics.items()
               if not (isinstance(v, (int, float)) and math.isfinite(float(v)))}
        p.expect(not bad, "evaluate", f"metrics that are not finite numbers: {bad}")
        p.expect(primary in metrics, "evaluate", f"the primary metric '{primary}' is missing")
        with p.stage("determinism"):
            twice = build().evaluate(net, data.val, torch.device("cpu"), 4)
        p.expect(twice == metrics, "determinism",
                 "two builds evaluate the same weights differently")

        with p.stage("report"), tempfile.TemporaryDirectory() as tmp:
            out = inst.report(net, data.test, torch.device("cpu"), Path(tmp))
            p.expect(isinstance(out, dict), "report", "report() must return a dict")
            try:
                json.dumps(out)
            except (TypeError, ValueError) as exc:
                raise p.fail("report", f"report() returned what summary.json cannot hold: "
                                       f"{exc}") from exc

        with p.stage("recipe"):
            _check_recipe(p, "task")
            good = _recipe("task", p.spec())
            good["eval"] = {"metric": primary}
            recipe_from_dict(good, name="kit")
            bad_metric = _recipe("task", p.spec())
            bad_metric["eval"] = {"metric": primary + "_kit_typo"}
            try:
                recipe_from_dict(bad_metric, name="kit")
            except RecipeError as exc:
                p.expect("eval.metric" in str(exc), "recipe",
                         f"a misspelt eval.metric is refused without its path: {exc}")
            else:
                raise p.fail("recipe", f"eval.metric: '{primary}_kit_typo' was accepted; "
                                       "metric_names() must list only the keys evaluate() returns")
