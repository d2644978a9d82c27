"""`infill`: fill the holes of an image; the project's main job.

Training: each batch gets holes from the recipe's top-level `mask` generator (drawn with the
engine's per-step generator, so a resumed run repeats them); the model reads the image with the
holes set to HOLE (257) and predicts the true tokens. With `loss: holes` (the default) the
cross-entropy covers the hole sub-pixels only; `loss: all` is the seed's, over every sub-pixel.
A conditional decoder is teacher-forced with the true values in training, and only there. For
`train.cuda_graphs` the step is split into `capture_inputs` (the holes, drawn on the host) and
`capture_loss` (device work on fixed shapes: the hole loss as a mask-weighted mean over the full
logits), which equals `training_loss`.

Evaluation runs on fixed evaluation sets, the same for every model compared: the first `eval.limit`
images of the split, each mask set drawn from `eval.seed` (and the set's name). The task's own
settings say what is measured (`task.eval`, see `pixelzoo.tasks.infill_config`): by default the
seed's demo hole (`demo_hole`: rows 15-19, columns 15-24), `seed_blocks` at the curriculum's final
level, and `strokes`; `task.eval.masks` replaces them. Metrics per set are those of
`pixelzoo.metrics.hole_metrics` (PSNR, SSIM, L1, exact-token accuracy, NLL bits per hole sub-pixel),
keyed `demo_hole/psnr` for the first decoding in `task.eval.decodings` and `demo_hole/mean/psnr` for
the others; `metrics` declares them, `metric_names` lists them. Inference always goes through
`model.decode`, which never sees the truth under a hole; the NLL is of the true value under the
distribution the decoder really predicts at inference (for a conditional decoder, given its own
argmax choices for the earlier channels).

Decodings:

* `greedy`: one pass over the holed image, the argmax at every hole. This is exactly the
  condition the model was trained in (every hole still reads HOLE).
* `mean`: the same pass, the expected intensity sum_v v·p(v) at each hole (the estimate that
  minimises squared error, hence best for PSNR and L1); a conditional decoder conditions each
  channel on the argmax of the earlier ones.
* `fused`: the same pass, the expected intensity under the model's distribution times a
  Gaussian prior around a classic method's fill (`task.fused`: `prior`, default biharmonic, and
  `sigma`, on the 0..255 scale): a confident model keeps its own answer, an unsure one (a face
  unlike its training data) leans on the smooth fill. The classic method reads the known pixels
  only, as the model does.
* `sample`: temperature sampling (`task.temperature`) of hole pixels in scan order, each sample
  conditioning the ones after it. One-direction models use `sample_holes` (the incremental
  sampler where installed, else the slow, exact `sample_holes_slow`).
* `schedule`: the same with the seed's schedule (`task.schedule`): the first `steps` hole pixels
  at a temperature falling from `start` by `decay` per pixel to `min`, the rest greedy.

Four-direction models see context from every side, so "scan order" has no single meaning for
them. Their strategy is iterative refinement in K chunks (`task.refine_chunks`): each image's
hole pixels are split, in raster order, into K near-equal chunks; pass k runs the model on the
current image (chunks < k filled, the rest still HOLE) and samples chunk k. K = 1 is one-pass
sampling; K = the number of holes is fully sequential. Each pass costs one forward.

`report()` prints one rich table per run: every decoding beside the classic baselines
(`task.eval.baselines`, `pixelzoo.baselines`) on the same images and holes, writes labelled PNG
grids (`pixelzoo.report.grid`) to
`<run>/samples/<set>.png` (original | holes | model greedy | model mean, when evaluated |
model sampled | TELEA | NS) and returns, for summary.json, the table rows, the loss used and an
`eval_fingerprint` per set. `report_dataset()` does the same on each of the recipe's extra
evaluation datasets (`eval.datasets`), with the same holes, its grids in `<run>/samples/<label>/`.
"""

from __future__ import annotations

import hashlib
import math
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from pixelzoo.baselines import METHODS as BASELINE_NAMES
from pixelzoo.baselines import inpaint
from pixelzoo.config import PartConfig
from pixelzoo.data.base import ImageSet
from pixelzoo.errors import PixelzooError
from pixelzoo.metrics import HIGHER_IS_BETTER, METRICS, hole_metrics
from pixelzoo.report.grid import save_grid, show_holes
from pixelzoo.tasks.base import Metric, Task
from pixelzoo.tasks.infill_config import (  # noqa: F401 - re-exported: the task's settings
    DECODINGS,
    LOSS_TEXT,
    ONE_PASS,
    InfillConfig,
    InfillEvalConfig,
    ScheduleConfig,
    eval_set_specs,
    metric_names,
    metric_prefix,
)
from pixelzoo.tokens import HOLE, PIXELS, add_start_tokens, strip_start_tokens

_METRIC_TEXT = {"psnr": "PSNR in dB", "ssim": "SSIM", "l1": "mean absolute error (0..255)",
                "accuracy": "exact-value accuracy", "nll_bits": "NLL in bits per sub-pixel"}


def holed_tokens(images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """uint8 (B, C, H, W) images and bool masks -> (B, C, H+1, W+1) tokens with HOLE at holes."""
    tokens = add_start_tokens(images)
    strip_start_tokens(tokens)[masks.bool()] = HOLE
    return tokens


def fingerprint(images: np.ndarray, masks: np.ndarray) -> str:
    """A short hash of an evaluation set's images and holes (what `compare` checks)."""
    h = hashlib.sha256()
    h.update(f"{images.shape}|{images.dtype}|{masks.shape}".encode())
    h.update(np.ascontiguousarray(images).tobytes())
    h.update(np.packbits(masks.astype(bool)).tobytes())
    return h.hexdigest()[:16]


def _directions(model: torch.nn.Module) -> int:
    return int(getattr(getattr(model, "config", None), "directions", 1) or 1)


def _sequential_sampler() -> Any:
    """`sample_holes` from the incremental sampler when installed, else the slow oracle."""
    try:
        from pixelzoo.models.incremental import sample_holes
    except ImportError:
        from pixelzoo.models.sampling import sample_holes_slow as sample_holes
    return sample_holes


class InfillTask(Task):
    """Predict the true tokens under holes; evaluate on fixed hole sets beside classic methods."""

    Config = InfillConfig
    # One record per hole metric, each key <set>/<metric> or <set>/<decoding>/<metric>; which
    # way is better comes from the metrics' own definitions (pixelzoo.metrics).
    metrics = tuple(
        Metric(f"*/{k}", higher_is_better=HIGHER_IS_BETTER[k], primary=k == "psnr",
               headline=k in ("psnr", "ssim"),
               description=f"{_METRIC_TEXT[k]} on the holes, keyed SET/{k} (first decoding) "
                           f"or SET/DECODING/{k}")
        for k in METRICS)
    eval_set_keys = ("eval.masks",)

    def __init__(self, config: InfillConfig, **kw: Any):
        super().__init__(config, **kw)
        self.config: InfillConfig = config
        self.decodings = list(config.eval.decodings)
        self.baselines = list(config.eval.baselines)
        self.mask_specs = eval_set_specs(config)
        self._announced = False
        self._mask_cache: dict[tuple[str, int], np.ndarray] = {}
        self._pred_cache: dict[tuple[str, tuple[int, float]], dict[str, Any]] = {}

    @classmethod
    def metric_names(cls, config: PartConfig) -> list[str]:
        assert isinstance(config, InfillConfig)
        return metric_names(config)

    @classmethod
    def compare_extras(cls, records: Any, console: Any = None) -> Any:
        from pixelzoo.report.infill import InfillExtras

        return InfillExtras(list(records), console)

    @classmethod
    def for_inference(cls, recipe: Any) -> InfillTask:
        """A task that can `fill` (but has no data to evaluate on), from a resolved recipe."""
        env = recipe.envelope()
        cfg = cls.Config.model_validate({k: v for k, v in recipe.data["task"].items()
                                         if k != "type"})
        return cls(cfg, data=None, mask=None, eval_config=env.eval)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ evaluation sets
    def _set_masks(self, name: str, n: int) -> np.ndarray:
        key = (name, n)
        if key not in self._mask_cache:
            from pixelzoo.engine.build import build_mask

            gen = build_mask(self.mask_specs[name], self.data)
            gen.final_level()  # curricula are evaluated at their hardest level
            # Seeded by the eval seed and the set's name only, so every model compared (and every
            # epoch) sees the same holes, and adding a set does not move the others.
            rng = np.random.default_rng([self.eval_config.seed, zlib.crc32(name.encode())])
            self._mask_cache[key] = gen(n, rng).astype(bool)
        return self._mask_cache[key]

    def eval_sets(self, split: str | ImageSet) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Set name -> (uint8 images (n, C, H, W), bool holes (n, C, H, W)), fixed by eval.seed.

        `split` is 'val' or 'test' (the first `eval.limit` images of it) or an `ImageSet`.
        """
        if isinstance(split, str):
            if self.data is None:
                raise PixelzooError("this infill task was built for inference only (no data); "
                                    "pass the images as an ImageSet")
            if split not in ("train", "val", "test"):
                raise PixelzooError(f"unknown split '{split}'; use val or test")
            data = getattr(self.data, split)
            if len(data) == 0 and split == "val":
                data = self.data.test
            data = data.take(self.eval_config.limit)
        else:
            data = split
        images = data.images
        return {name: (images, self._set_masks(name, len(images))) for name in self.mask_specs}

    # ------------------------------------------------------------------ training
    def training_loss(self, model: torch.nn.Module, images: torch.Tensor,
                      labels: torch.Tensor | None, rng: np.random.Generator
                      ) -> tuple[torch.Tensor, dict[str, float]]:
        inputs = self.capture_inputs(images, labels, rng)
        if self.config.loss == "all":
            return self.capture_loss(model, *inputs), {}
        tokens, target, masks = inputs
        # Eager steps take cheaper routes to the same value as capture_loss: the decoder at hole
        # pixels only, or a slice of the logits; both have data-dependent shapes.
        if _can_gather(model):
            return self._hole_loss_gathered(model, tokens, target, masks), {}
        logits = model(tokens, teacher=target)
        sel = masks.bool()
        if not sel.any():
            return logits.sum() * 0.0, {}
        return F.cross_entropy(logits[sel].float(), target[sel]), {}

    def capture_inputs(self, images: torch.Tensor, labels: torch.Tensor | None,
                       rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
        """(holed tokens, true tokens, hole masks) for `loss: holes`; no masks for `loss: all`."""
        if self.mask is None:
            raise PixelzooError("task 'infill' needs training holes: add a top-level `mask:` to "
                                "the recipe, e.g. mask: {type: seed_blocks}")
        if not self._announced:
            self._announced = True
            if _rank() == 0:
                print(f"infill: training loss is {LOSS_TEXT[self.config.loss]}")
        masks = torch.from_numpy(self.mask(images.shape[0], rng)).to(images.device)
        tokens = holed_tokens(images, masks)
        target = images.long()
        return (tokens, target, masks) if self.config.loss == "holes" else (tokens, target)

    def capture_loss(self, model: torch.nn.Module, *inputs: torch.Tensor) -> torch.Tensor:
        """Cross-entropy over the full logits; `loss: holes` weights it by the masks.

        sum(ce * mask) / max(sum(mask), 1) is the mean over the hole sub-pixels without
        selecting them (a selection's size is data-dependent), and 0 for a batch without holes.
        """
        tokens, target = inputs[:2]
        logits = model(tokens, teacher=target)
        flat, truth = logits.reshape(-1, logits.shape[-1]).float(), target.reshape(-1)
        if len(inputs) == 2:
            return F.cross_entropy(flat, truth)
        ce = F.cross_entropy(flat, truth, reduction="none")
        weight = inputs[2].reshape(-1).to(ce.dtype)
        return (ce * weight).sum() / weight.sum().clamp(min=1.0)

    @staticmethod
    def _hole_loss_gathered(model: torch.nn.Module, tokens: torch.Tensor, target: torch.Tensor,
                            masks: torch.Tensor) -> torch.Tensor:
        """The hole loss with the decoder run at hole pixels only.

        Identical to slicing the full (B, C, H, W, 258) logits, but the output layer (as costly
        as the scan itself on a CPU) only runs where the loss looks. A decoder with `log_prob`
        (the logistic mixtures) gives the truth's log-probability without forming all 256 bins.
        """
        pixel = masks.any(1)  # (B, H, W)
        if not pixel.any():
            return model.features(tokens).sum() * 0.0
        hs = model.features_at(tokens, pixel)  # (N, C, D), read at those pixels only
        teacher = target.permute(0, 2, 3, 1)[pixel]  # (N, C)
        sel = masks.permute(0, 2, 3, 1)[pixel]  # (N, C): the hole sub-pixels of those pixels
        if hasattr(model.decoder, "log_prob"):  # e.g. logistic mixtures: the truth's log P alone
            logp = model.decoder.log_prob(hs[:, :, None, None, :], teacher[:, :, None, None])
            return -logp[:, :, 0, 0][sel].float().mean()
        logits = model.decoder(hs[:, :, None, None, :], teacher[:, :, None, None])[:, :, 0, 0]
        if bool(sel.all()):  # whole-pixel holes: the same mean without copying a selection
            return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(),
                                   teacher.reshape(-1))
        return F.cross_entropy(logits[sel].float(), teacher[sel])

    # ------------------------------------------------------------------ inference
    @torch.no_grad()
    def _one_pass(self, model: torch.nn.Module, images: np.ndarray, masks: np.ndarray,
                  device: torch.device, batch_size: int, fused: bool = False
                  ) -> dict[str, np.ndarray]:
        """greedy and mean fills plus the log-probability of each true value, in one pass; with
        `fused`, the `fused` fill too (it costs a classic fill of each batch).

        `true_logp` is NaN outside the holes: only hole pixels are decoded (`_decode_holes`).
        """
        if not hasattr(model, "decode"):
            raise PixelzooError(f"model {type(model).__name__} has no decode(); infill needs a "
                                "pixel model such as rowrnn")
        model.eval()
        greedy = images.copy()
        mean = images.copy()
        fused_fill = images.copy() if fused else None
        prior_cfg = self.config.fused
        true_logp = np.full(images.shape, np.nan, dtype=np.float32)
        values = torch.arange(PIXELS, device=device, dtype=torch.float32)
        for s in range(0, len(images), batch_size):
            self.check_interrupt()
            img = torch.from_numpy(images[s:s + batch_size]).to(device)
            m = torch.from_numpy(masks[s:s + batch_size]).to(device)
            pixel = m.any(1)  # (B, H, W): the pixels with at least one hole sub-pixel
            if not pixel.any():
                continue
            filled, logits = _decode_holes(model, holed_tokens(img, m), pixel)  # (N, C), (N, C, V)
            logp = torch.log_softmax(logits[..., :PIXELS].float(), dim=-1)
            del logits
            hole = m.permute(0, 2, 3, 1)[pixel]  # (N, C): which sub-pixels of those are holes
            truth = img.permute(0, 2, 3, 1)[pixel]  # (N, C)
            # The truth is read here only to score it, after every prediction is made.
            scored = logp.gather(-1, truth.long()[..., None])[..., 0]
            expect = (logp.exp() * values).sum(-1).round().clamp(0, PIXELS - 1).to(torch.uint8)
            where = tuple(i.cpu().numpy() for i in pixel.nonzero(as_tuple=True))
            b, r, c = where[0] + s, where[1], where[2]
            outs = [(greedy, torch.where(hole, filled.to(torch.uint8), truth)),
                    (mean, torch.where(hole, expect, truth)),
                    (true_logp, torch.where(hole, scored, torch.nan))]
            if fused_fill is not None:
                # the classic fill reads the known pixels only (the truth under a hole is not
                # passed on: the holes are blanked first)
                known = np.where(masks[s:s + batch_size], 0, images[s:s + batch_size])
                prior = inpaint(known, masks[s:s + batch_size], prior_cfg.prior)
                centre = torch.from_numpy(prior.transpose(0, 2, 3, 1)[where]).to(device)
                outs.append((fused_fill, torch.where(
                    hole, fused_mean(logp, centre, prior_cfg.sigma), truth)))
            for out, vals in outs:
                out.transpose(0, 2, 3, 1)[b, r, c] = vals.cpu().numpy()
        preds = {"greedy": greedy, "mean": mean, "true_logp": true_logp}
        if fused_fill is not None:
            preds["fused"] = fused_fill
        return preds

    def _schedule(self, decoding: str, temperature: float | None = None) -> Any:
        from pixelzoo.models.sampling import TemperatureSchedule

        if decoding == "schedule":
            s = self.config.schedule
            return TemperatureSchedule(start=s.start, decay=s.decay, min=s.min, steps=s.steps)
        return float(self.config.temperature if temperature is None else temperature)

    @torch.no_grad()
    def _sampled(self, model: torch.nn.Module, images: np.ndarray, masks: np.ndarray,
                 device: torch.device, decoding: str, batch_size: int,
                 generator: torch.Generator | None = None,
                 temperature: float | None = None) -> np.ndarray:
        model.eval()
        schedule = self._schedule(decoding, temperature)
        if generator is None:
            generator = torch.Generator().manual_seed(self.eval_config.seed)
        out = np.empty_like(images)
        for s in range(0, len(images), batch_size):
            self.check_interrupt()
            img = torch.from_numpy(images[s:s + batch_size]).to(device)
            m = torch.from_numpy(masks[s:s + batch_size]).to(device)
            tokens = holed_tokens(img, m)
            if _directions(model) == 1:
                filled = _sequential_sampler()(model, tokens, schedule, generator)
            else:
                filled = refine_fill(model, tokens, schedule, generator,
                                     self.config.refine_chunks)
            out[s:s + batch_size] = torch.where(m, filled.to(torch.uint8), img).cpu().numpy()
        return out

    def fill(self, model: torch.nn.Module, images: np.ndarray, masks: np.ndarray,
             device: torch.device | str, decoding: str = "greedy", *, batch_size: int | None = None,
             generator: torch.Generator | None = None,
             temperature: float | None = None) -> np.ndarray:
        """Fill the holes of uint8 (n, C, H, W) `images` (bool `masks`) -> uint8 (n, C, H, W).

        Known sub-pixels are returned unchanged. `decoding` is greedy, mean, fused, sample or
        schedule; `temperature` is this call's for `sample` (default `task.temperature`). It is
        an argument, not a setting changed for the call, so threads can fill with one task at
        once.
        """
        if decoding not in DECODINGS:
            raise PixelzooError(f"unknown decoding '{decoding}'; choose {', '.join(DECODINGS)}")
        device = torch.device(device)
        images = np.ascontiguousarray(images, dtype=np.uint8)
        masks = np.ascontiguousarray(masks, dtype=bool)
        bs = batch_size or self.eval_config.batch_size
        if decoding in ONE_PASS:
            return self._one_pass(model, images, masks, device, bs,
                                  fused=decoding == "fused")[decoding]
        return self._sampled(model, images, masks, device, decoding, bs, generator, temperature)

    def _predictions(self, model: torch.nn.Module, name: str, images: np.ndarray,
                     masks: np.ndarray, device: torch.device, batch_size: int,
                     decodings: list[str]) -> dict[str, Any]:
        """Fills per decoding (and true log-probs), cached per (set, weights) between the final
        evaluation and the report, which run on the same best weights."""
        weights = _weights_key(model)
        key = (fingerprint(images, masks) + name, weights)
        cached = self._pred_cache.get(key)
        if cached is None:
            # only the current weights' predictions are worth keeping
            for old in [k for k in self._pred_cache if k[1] != weights]:
                del self._pred_cache[old]
            cached = self._one_pass(model, images, masks, device, batch_size,
                                    fused="fused" in decodings)
            self._pred_cache[key] = cached
        elif "fused" in decodings and "fused" not in cached:
            cached.update(self._one_pass(model, images, masks, device, batch_size, fused=True))
        for d in decodings:
            if d not in cached:
                cached[d] = self._sampled(model, images, masks, device, d, batch_size)
        return cached

    @staticmethod
    def _model_metrics(preds: dict[str, Any], decoding: str, images: np.ndarray,
                       masks: np.ndarray) -> dict[str, float]:
        """`hole_metrics` of one decoding's fill (NLL included), computed once per cached set of
        predictions: the final evaluation and the report score the very same fills (SSIM, in
        float64, is the costly part of both)."""
        done = preds.setdefault("metrics", {})
        if decoding not in done:
            done[decoding] = hole_metrics(images, preds[decoding], masks,
                                          true_logp=preds["true_logp"])
        return dict(done[decoding])

    @torch.no_grad()
    def evaluate(self, model: torch.nn.Module, split: ImageSet, device: torch.device,
                 batch_size: int = 64) -> dict[str, float]:
        out: dict[str, float] = {}
        primary = self.decodings[0]
        for name, (images, masks) in self.eval_sets(split).items():
            preds = self._predictions(model, name, images, masks, device, batch_size,
                                      self.decodings)
            for d in self.decodings:
                metrics = self._model_metrics(preds, d, images, masks)
                if d != primary:  # the NLL is the model's: keyed once, under the first decoding
                    metrics.pop("nll_bits", None)
                prefix = metric_prefix(name, d, primary)
                out.update({f"{prefix}{k}": v for k, v in metrics.items()})
        return out

    # ------------------------------------------------------------------ report
    def report(self, model: torch.nn.Module, split: ImageSet, device: torch.device,
               run_dir: Path | None) -> dict[str, Any]:
        ev = self.eval_config
        return {
            "table_printed": True,
            "loss": self.config.loss,
            "loss_description": LOSS_TEXT[self.config.loss],
            "decodings": list(self.decodings),
            "sampling_strategy": self.sampling_strategy(model),
            **self._report(model, split, device, run_dir, None),
            "eval_seed": ev.seed,
        }

    def report_dataset(self, model: torch.nn.Module, split: ImageSet, device: torch.device,
                       run_dir: Path | None, label: str) -> dict[str, Any]:
        """The same table and grids on an extra evaluation dataset, pictures in samples/LABEL/."""
        return {"table_printed": True, **self._report(model, split, device, run_dir, label)}

    def _report(self, model: torch.nn.Module, split: ImageSet, device: torch.device,
                run_dir: Path | None, label: str | None) -> dict[str, Any]:
        """Table rows, fingerprints, set sizes and picture grids on `split` (the own split when
        `label` is None, else the extra dataset `label`'s); prints the table."""
        ev = self.eval_config
        sets = self.eval_sets(split)
        decodings = list(self.decodings)
        rows: list[dict[str, Any]] = []
        pictures: list[str] = []
        prints: dict[str, str] = {}
        set_info: dict[str, Any] = {}
        for name, (images, masks) in sets.items():
            prints[name] = fingerprint(images, masks)
            set_info[name] = {"mask": self.mask_specs[name], "images": int(len(images)),
                              "hole_fraction": float(masks.mean()) if masks.size else 0.0}
            preds = self._predictions(model, name, images, masks, device, ev.batch_size,
                                      decodings)
            for d in decodings:
                # the NLL is the model's, whichever way its distribution is then decoded
                m = self._model_metrics(preds, d, images, masks)
                rows.append({"mask_set": name, "method": f"model ({d})", "kind": "model",
                             "decoding": d, **m})
            filled_baselines = {}
            for b in self.baselines:
                self.check_interrupt()  # OpenCV's inpainting of a whole set can take a while
                filled_baselines[b] = inpaint(images, masks, b)
                m = hole_metrics(images, filled_baselines[b], masks)
                rows.append({"mask_set": name, "method": BASELINE_NAMES[b], "kind": "baseline",
                             "decoding": None, **m, "nll_bits": None})
            k = min(self.config.eval.samples, len(images))
            if run_dir is not None and k > 0:
                sampled = (preds["sample"][:k] if "sample" in preds else
                           self._sampled(model, images[:k], masks[:k], device, "sample",
                                         ev.batch_size))
                panels = [("original", images[:k]), ("holes", None),
                          ("model (greedy)", preds["greedy"][:k])]
                for d in ("mean", "fused"):  # the decodings that score best on PSNR
                    if d in decodings:
                        panels.append((f"model ({d})", preds[d][:k]))
                panels.append((f"model (sampled T={self.config.temperature:g})", sampled))
                panels += [(BASELINE_NAMES[b], filled_baselines[b][:k]) for b in self.baselines]
                folder = Path(run_dir) / "samples"
                path = (folder if label is None else folder / label) / f"{name}.png"
                save_grid(path, [(label, show_holes(images[:k], masks[:k]) if arr is None
                                  else arr) for label, arr in panels], zoom=self.config.upscale)
                pictures.append(str(path.relative_to(run_dir)))
        self._print_table(rows, len(next(iter(sets.values()))[0]) if sets else 0, run_dir,
                          label)
        return {"infill_table": rows, "eval_fingerprint": prints, "eval_sets": set_info,
                "samples": pictures}

    def sampling_strategy(self, model: torch.nn.Module) -> str:
        """One line saying how `sample` and `schedule` fill holes for this model."""
        if _directions(model) == 1:
            fn = _sequential_sampler()
            return (f"scan-order sampling, one hole pixel at a time "
                    f"({fn.__module__}.{fn.__name__})")
        return (f"iterative refinement in {self.config.refine_chunks} raster-order chunks "
                "(one forward per chunk)")

    def _print_table(self, rows: list[dict[str, Any]], n_images: int,
                     run_dir: Path | None, label: str | None = None) -> None:
        from rich.console import Console

        console = Console(highlight=False)
        if label is None:
            title = (f"infill on {n_images} evaluation images per mask set "
                     f"({LOSS_TEXT[self.config.loss]})")
        else:  # one of eval.datasets: the same holes on another dataset's images
            title = (f"infill on '{label}' (eval.datasets): {n_images} images per mask set, the "
                     "same holes")
        console.print(infill_table(rows, title=title))
        if run_dir is not None and label is None:
            console.print(f"pictures: {Path(run_dir) / 'samples'}   run folder: {run_dir}")
        elif run_dir is not None:
            console.print(f"pictures: {Path(run_dir) / 'samples' / label}")


# ---------------------------------------------------------------------- helpers
def _rank() -> int:
    import os

    return int(os.environ.get("RANK", "0") or 0)


def fused_mean(logp: torch.Tensor, centre: torch.Tensor, sigma: float) -> torch.Tensor:
    """The `fused` estimate: the mean of p(v) * N(v; centre, sigma^2), renormalised over 0..255.

    `logp` (..., 256) is the model's log-distribution of a sub-pixel, `centre` (...) a classic
    method's value there. Where the model is sure, its peak wins; where it spreads its mass
    (faces unlike its training data), the classic fill decides. uint8, rounded.
    """
    values = torch.arange(PIXELS, device=logp.device, dtype=torch.float32)
    prior = -0.5 * ((values - centre[..., None].float()) / sigma) ** 2
    q = torch.softmax(logp.float() + prior, dim=-1)
    return (q * values).sum(-1).round().clamp(0, PIXELS - 1).to(torch.uint8)


def _can_gather(model: torch.nn.Module) -> bool:
    """True for a plain (not DDP-wrapped) RowRNN whose forward is features -> decoder.

    Under DDP the loss must go through the wrapper's forward for gradients to be synchronised,
    so the full-logits path is used there.
    """
    from pixelzoo.models.rowrnn import RowRNN

    return (isinstance(model, RowRNN) and type(model).forward is RowRNN.forward
            and model.decoder is not None)


def _decode_holes(model: torch.nn.Module, tokens: torch.Tensor, pixel: torch.Tensor
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """`model.decode(tokens)` read at the True pixels of `pixel` (B, H, W): ((N, C) tokens,
    (N, C, V) logits), in `pixel.nonzero()` order.

    A RowRNN's decoder is per pixel, so it runs at hole pixels only (from `features_at`), which
    equals slicing the full decode: on a CPU the output layer over all H*W pixels costs more
    than the scan when holes cover a few percent of the image. Other models decode everything.
    """
    from pixelzoo.models.rowrnn import RowRNN

    if _can_gather(model) and type(model).decode is RowRNN.decode:
        hs = model.features_at(tokens, pixel)[:, :, None, None, :]  # (N, C, 1, 1, D)
        known = strip_start_tokens(tokens).permute(0, 2, 3, 1)[pixel][:, :, None, None]
        filled, logits = model.decoder.decode(hs, known)
        return filled[:, :, 0, 0], logits[:, :, 0, 0]
    filled, logits = model.decode(tokens)
    return filled.permute(0, 2, 3, 1)[pixel], logits.permute(0, 2, 3, 1, 4)[pixel]


def _weights_key(model: torch.nn.Module) -> tuple[int, float]:
    """Which weights a model holds right now (cheap: one sum per tensor)."""
    with torch.no_grad():
        total = sum(float(p.detach().double().sum()) for p in model.parameters())
    return id(model), total


@torch.no_grad()
def refine_fill(model: torch.nn.Module, tokens: torch.Tensor, temperature: Any,
                generator: torch.Generator | None, chunks: int) -> torch.Tensor:
    """Fill every HOLE of (B, C, H+1, W+1) tokens by iterative refinement in `chunks` passes.

    Each image's hole pixels are ranked in raster order and split into `chunks` near-equal
    chunks; pass k runs the model on the current grid and samples chunk k's pixels (channels in
    order, a conditional decoder seeing its own earlier-channel samples). A pixel's temperature
    comes from the schedule at its rank, as in the sequential sampler. Returns (B, C, H, W).
    """
    from pixelzoo.models.sampling import as_schedule, pick_tokens

    schedule = as_schedule(temperature)
    grid = tokens.clone()
    b, _, hp, wp = grid.shape
    h, w = hp - 1, wp - 1
    holes = (strip_start_tokens(grid) == HOLE).any(1).reshape(b, -1)  # (B, HW)
    rank = holes.long().cumsum(1) - 1
    count = holes.sum(1, keepdim=True).clamp(min=1)
    chunk = torch.where(holes, rank * chunks // count, torch.full_like(rank, -1))
    table = torch.tensor([schedule(k) for k in range(h * w)], device=grid.device,
                         dtype=torch.float32)
    temps = table[rank.clamp(min=0)].reshape(-1)  # (B*HW,)
    gen_device = generator.device if generator is not None else torch.device("cpu")

    def pick(logits: torch.Tensor, c: int) -> torch.Tensor:
        u = torch.rand(temps.shape[0], generator=generator, device=gen_device).to(logits.device)
        flat = logits.reshape(-1, logits.shape[-1])
        return pick_tokens(flat, temps, u).reshape(logits.shape[:-1])

    for k in range(chunks):
        sel = (chunk == k).reshape(b, 1, h, w)
        if not sel.any():
            continue
        feats = model.features(grid)
        inner = strip_start_tokens(grid)
        filled, _ = model.decoder.decode(feats, inner, pick)
        inner.copy_(torch.where(sel & (inner == HOLE), filled, inner))
    return strip_start_tokens(grid)


def infill_table(rows: list[dict[str, Any]], title: str | None = None) -> Any:
    """A rich table of infill rows (mask set, method, metrics), best per set in bold."""
    from rich.table import Table

    heads = {"psnr": "PSNR dB ↑", "ssim": "SSIM ↑", "l1": "L1 ↓", "accuracy": "exact ↑",
             "nll_bits": "NLL bits ↓"}
    table = Table(title=title)
    table.add_column("mask set")
    table.add_column("method")
    for k in METRICS:
        table.add_column(heads[k], justify="right")
    best: dict[tuple[str, str], float] = {}
    for r in rows:
        for k in METRICS:
            v = r.get(k)
            if v is None or not math.isfinite(v):
                continue
            key = (r["mask_set"], k)
            if key not in best or (v > best[key] if HIGHER_IS_BETTER[k] else v < best[key]):
                best[key] = v
    last = None
    for r in rows:
        cells = []
        for k in METRICS:
            v = r.get(k)
            if v is None or (isinstance(v, float) and not math.isfinite(v)):
                cells.append("–")
                continue
            text = f"{v:.3f}" if k in ("ssim", "accuracy", "nll_bits") else f"{v:.2f}"
            cells.append(f"[bold]{text}[/bold]" if best.get((r["mask_set"], k)) == v else text)
        name = r["mask_set"] if r["mask_set"] != last else ""
        if last is not None and r["mask_set"] != last:
            table.add_section()
        last = r["mask_set"]
        table.add_row(name, r["method"], *cells)
    return table
