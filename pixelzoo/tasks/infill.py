"""`infill`: fill the holes of an image; the project's main job.

Training: each batch gets holes from the recipe's top-level `mask` generator (drawn with the
engine's per-step generator, so a resumed run repeats them); the model reads the image with the
holes set to HOLE (257) and predicts the true tokens. With `loss: holes` (the default) the
cross-entropy covers the hole sub-pixels only; `loss: all` is the seed's, over every sub-pixel.
A conditional decoder is teacher-forced with the true values in training, and only there. For
`train.cuda_graphs` the step is split into `capture_inputs` (the holes, drawn on the host) and
`capture_loss` (device work on fixed shapes: the hole loss as a mask-weighted mean over the full
logits), which equals `training_loss`.

Evaluation runs on fixed evaluation sets, the same for every model compared: the first
`eval.limit` images of the split, each mask set drawn from `eval.seed` (and the set's name). By
default they are the seed's demo hole (`demo_hole`: rows 15-19, columns 15-24), `seed_blocks` at
the curriculum's final level, and `strokes`; `eval.masks` replaces them. Metrics per set are
those of `pixelzoo.metrics.hole_metrics` (PSNR, SSIM, L1, exact-token accuracy, NLL bits per hole
sub-pixel), keyed `demo_hole/psnr` for the first decoding in `eval.decoding` and
`demo_hole/mean/psnr` for the others. Inference always goes through `model.decode`, which never
sees the truth under a hole; the NLL is of the true value under the distribution the decoder
really predicts at inference (for a conditional decoder, given its own argmax choices for the
earlier channels).

Decodings:

* `greedy`: one pass over the holed image, the argmax at every hole. This is exactly the
  condition the model was trained in (every hole still reads HOLE).
* `mean`: the same pass, the expected intensity sum_v v·p(v) at each hole (the estimate that
  minimises squared error, hence best for PSNR and L1); a conditional decoder conditions each
  channel on the argmax of the earlier ones.
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

`report()` prints one rich table per run: every decoding beside OpenCV's TELEA and NS
(`pixelzoo.baselines`) on the same images and holes, writes labelled PNG grids to
`<run>/samples/<set>.png` (original | holes | model greedy | model mean, when evaluated |
model sampled | TELEA | NS) and returns, for summary.json, the table rows, the loss used and an
`eval_fingerprint` per set.
"""

from __future__ import annotations

import difflib
import hashlib
import math
import zlib
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import Field

from pixelzoo.baselines import METHODS as BASELINE_NAMES
from pixelzoo.baselines import inpaint
from pixelzoo.config import PartConfig
from pixelzoo.data.base import ImageSet
from pixelzoo.errors import PixelzooError
from pixelzoo.metrics import METRICS, hole_metrics
from pixelzoo.tasks.base import Task, TaskConfig
from pixelzoo.tokens import HOLE, PIXELS, add_start_tokens

DECODINGS = ("greedy", "mean", "sample", "schedule")
ONE_PASS = ("greedy", "mean")
DEFAULT_DECODINGS = ["greedy", "mean"]
DEFAULT_EVAL_MASKS: list[dict[str, Any]] = [
    {"type": "demo_hole"}, {"type": "seed_blocks"}, {"type": "strokes"}]
LOSS_TEXT = {
    "holes": "cross-entropy over the hole sub-pixels only (loss: holes)",
    "all": "cross-entropy over every sub-pixel, the seed's (loss: all)",
}
HOLE_COLOUR = (255, 0, 255)  # how holes are drawn in the pictures (magenta)


class ScheduleConfig(PartConfig):
    """The seed's temperature schedule for the `schedule` decoding."""

    start: float = Field(1.0, gt=0, description="temperature of the first hole pixel")
    decay: float = Field(0.95, gt=0, le=1, description="factor per hole pixel")
    min: float = Field(0.1, gt=0, description="floor while sampling")
    steps: int = Field(20, ge=0, description="hole pixels sampled; the rest are greedy")


class InfillConfig(TaskConfig):
    loss: Literal["holes", "all"] = Field(
        "holes", description="holes: cross-entropy on hole sub-pixels only; all: the seed's")
    temperature: float = Field(1.0, gt=0, description="temperature of the `sample` decoding")
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    refine_chunks: int = Field(
        8, ge=1, description="4-direction sampling: passes of iterative refinement")
    upscale: int = Field(4, ge=1, le=32, description="picture zoom (nearest neighbour)")
    fill_decoding: Literal["greedy", "mean", "sample", "schedule"] = Field(
        "greedy", description="the decoding `pixelzoo infill` uses when neither --decoding nor "
                              "--temperature is given (pick the one that scored best)")


def holed_tokens(images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """uint8 (B, C, H, W) images and bool masks -> (B, C, H+1, W+1) tokens with HOLE at holes."""
    tokens = add_start_tokens(images)
    inner = tokens[:, :, 1:, 1:]
    inner[masks.bool()] = HOLE
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
    """Predict the true tokens under holes; evaluate on fixed hole sets against OpenCV."""

    Config = InfillConfig
    default_metric = "demo_hole/psnr"

    def __init__(self, config: InfillConfig, **kw: Any):
        super().__init__(config, **kw)
        self.config: InfillConfig = config
        if self.eval_config is None:
            from pixelzoo.schema import EvalConfig

            self.eval_config = EvalConfig()
        ev = self.eval_config
        self.decodings = list(ev.decoding) or list(DEFAULT_DECODINGS)
        for i, d in enumerate(self.decodings):
            if d not in DECODINGS:
                close = difflib.get_close_matches(d, DECODINGS, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise PixelzooError(f"eval.decoding[{i}]: unknown decoding '{d}'{hint} "
                                    f"Decodings: {', '.join(DECODINGS)}.")
        self.decodings = list(dict.fromkeys(self.decodings))
        self.baselines = list(dict.fromkeys(ev.baselines)) or list(BASELINE_NAMES)
        self.mask_specs = self._mask_specs()
        names = list(self.mask_specs)
        if "demo_hole" not in names:
            # the class default names a set this recipe does not evaluate
            self.default_metric = f"{names[0]}/psnr"
        self._announced = False
        self._mask_cache: dict[tuple[str, int], np.ndarray] = {}
        self._pred_cache: dict[tuple[str, tuple[int, float]], dict[str, Any]] = {}

    @classmethod
    def for_inference(cls, recipe: Any) -> InfillTask:
        """A task that can `fill` (but has no data to evaluate on), from a resolved recipe."""
        env = recipe.envelope()
        cfg = cls.Config.model_validate({k: v for k, v in recipe.data["task"].items()
                                         if k != "type"})
        return cls(cfg, data=None, mask=None, eval_config=env.eval)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ evaluation sets
    def _mask_specs(self) -> dict[str, dict[str, Any]]:
        raw = self.eval_config.masks or DEFAULT_EVAL_MASKS
        specs: dict[str, dict[str, Any]] = {}
        for item in raw:
            spec = ({"type": item.type, **item.params} if hasattr(item, "params")
                    else dict(item))
            name, n = spec["type"], 1
            while name in specs:  # the same mask type twice: boxes, boxes_2, ...
                n += 1
                name = f"{spec['type']}_{n}"
            specs[name] = spec
        return specs

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
        as the scan itself on a CPU) only runs where the loss looks.
        """
        h = model.features(tokens)  # (B, C, H, W, D)
        pixel = masks.any(1)  # (B, H, W)
        if not pixel.any():
            return h.sum() * 0.0
        hs = h.permute(0, 2, 3, 1, 4)[pixel]  # (N, C, D)
        teacher = target.permute(0, 2, 3, 1)[pixel]  # (N, C)
        logits = model.decoder(hs[:, :, None, None, :], teacher[:, :, None, None])[:, :, 0, 0]
        sel = masks.permute(0, 2, 3, 1)[pixel]  # (N, C): the hole sub-pixels of those pixels
        return F.cross_entropy(logits[sel].float(), teacher[sel])

    # ------------------------------------------------------------------ inference
    @torch.no_grad()
    def _one_pass(self, model: torch.nn.Module, images: np.ndarray, masks: np.ndarray,
                  device: torch.device, batch_size: int) -> dict[str, np.ndarray]:
        """greedy and mean fills plus the log-probability of each true value, in one pass."""
        if not hasattr(model, "decode"):
            raise PixelzooError(f"model {type(model).__name__} has no decode(); infill needs a "
                                "pixel model such as rowrnn")
        model.eval()
        n = len(images)
        greedy = np.empty_like(images)
        mean = np.empty_like(images)
        true_logp = np.empty(images.shape, dtype=np.float32)
        values = torch.arange(PIXELS, device=device, dtype=torch.float32)
        for s in range(0, n, batch_size):
            self.check_interrupt()
            img = torch.from_numpy(images[s:s + batch_size]).to(device)
            m = torch.from_numpy(masks[s:s + batch_size]).to(device)
            filled, logits = model.decode(holed_tokens(img, m))
            logp = torch.log_softmax(logits[..., :PIXELS].float(), dim=-1)
            del logits
            # The truth is read here only to score it, after every prediction is made.
            true_logp[s:s + batch_size] = logp.gather(-1, img.long()[..., None])[..., 0].cpu()
            expect = (logp.exp() * values).sum(-1).round().clamp(0, PIXELS - 1).to(torch.uint8)
            greedy[s:s + batch_size] = torch.where(m, filled.to(torch.uint8), img).cpu().numpy()
            mean[s:s + batch_size] = torch.where(m, expect, img).cpu().numpy()
        return {"greedy": greedy, "mean": mean, "true_logp": true_logp}

    def _schedule(self, decoding: str) -> Any:
        from pixelzoo.models.sampling import TemperatureSchedule

        if decoding == "schedule":
            s = self.config.schedule
            return TemperatureSchedule(start=s.start, decay=s.decay, min=s.min, steps=s.steps)
        return float(self.config.temperature)

    @torch.no_grad()
    def _sampled(self, model: torch.nn.Module, images: np.ndarray, masks: np.ndarray,
                 device: torch.device, decoding: str, batch_size: int,
                 generator: torch.Generator | None = None) -> np.ndarray:
        model.eval()
        temperature = self._schedule(decoding)
        if generator is None:
            generator = torch.Generator().manual_seed(self.eval_config.seed)
        out = np.empty_like(images)
        for s in range(0, len(images), batch_size):
            self.check_interrupt()
            img = torch.from_numpy(images[s:s + batch_size]).to(device)
            m = torch.from_numpy(masks[s:s + batch_size]).to(device)
            tokens = holed_tokens(img, m)
            if _directions(model) == 1:
                filled = _sequential_sampler()(model, tokens, temperature, generator)
            else:
                filled = refine_fill(model, tokens, temperature, generator,
                                     self.config.refine_chunks)
            out[s:s + batch_size] = torch.where(m, filled.to(torch.uint8), img).cpu().numpy()
        return out

    def fill(self, model: torch.nn.Module, images: np.ndarray, masks: np.ndarray,
             device: torch.device | str, decoding: str = "greedy", *, batch_size: int | None = None,
             generator: torch.Generator | None = None) -> np.ndarray:
        """Fill the holes of uint8 (n, C, H, W) `images` (bool `masks`) -> uint8 (n, C, H, W).

        Known sub-pixels are returned unchanged. `decoding` is greedy, mean, sample or schedule.
        """
        if decoding not in DECODINGS:
            raise PixelzooError(f"unknown decoding '{decoding}'; choose {', '.join(DECODINGS)}")
        device = torch.device(device)
        images = np.ascontiguousarray(images, dtype=np.uint8)
        masks = np.ascontiguousarray(masks, dtype=bool)
        bs = batch_size or self.eval_config.batch_size
        if decoding in ONE_PASS:
            return self._one_pass(model, images, masks, device, bs)[decoding]
        return self._sampled(model, images, masks, device, decoding, bs, generator)

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
            cached = self._one_pass(model, images, masks, device, batch_size)
            self._pred_cache[key] = cached
        for d in decodings:
            if d not in cached:
                cached[d] = self._sampled(model, images, masks, device, d, batch_size)
        return cached

    @torch.no_grad()
    def evaluate(self, model: torch.nn.Module, split: ImageSet, device: torch.device,
                 batch_size: int = 64) -> dict[str, float]:
        out: dict[str, float] = {}
        primary = self.decodings[0]
        for name, (images, masks) in self.eval_sets(split).items():
            preds = self._predictions(model, name, images, masks, device, batch_size,
                                      self.decodings)
            for d in self.decodings:
                logp = preds["true_logp"] if d == primary else None
                metrics = hole_metrics(images, preds[d], masks, true_logp=logp)
                prefix = f"{name}/" if d == primary else f"{name}/{d}/"
                out.update({f"{prefix}{k}": v for k, v in metrics.items()})
        return out

    # ------------------------------------------------------------------ report
    def report(self, model: torch.nn.Module, split: ImageSet, device: torch.device,
               run_dir: Path | None) -> dict[str, Any]:
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
                m = hole_metrics(images, preds[d], masks, true_logp=preds["true_logp"])
                rows.append({"mask_set": name, "method": f"model ({d})", "kind": "model",
                             "decoding": d, **m})
            filled_baselines = {}
            for b in self.baselines:
                self.check_interrupt()  # OpenCV's inpainting of a whole set can take a while
                filled_baselines[b] = inpaint(images, masks, b)
                m = hole_metrics(images, filled_baselines[b], masks)
                rows.append({"mask_set": name, "method": BASELINE_NAMES[b], "kind": "baseline",
                             "decoding": None, **m, "nll_bits": None})
            k = min(ev.samples, len(images))
            if run_dir is not None and k > 0:
                sampled = (preds["sample"][:k] if "sample" in preds else
                           self._sampled(model, images[:k], masks[:k], device, "sample",
                                         ev.batch_size))
                panels = [("original", images[:k]), ("holes", None),
                          ("model (greedy)", preds["greedy"][:k])]
                if "mean" in decodings:  # the decoding that scores best on PSNR: show it too
                    panels.append(("model (mean)", preds["mean"][:k]))
                panels.append((f"model (sampled T={self.config.temperature:g})", sampled))
                panels += [(BASELINE_NAMES[b], filled_baselines[b][:k]) for b in self.baselines]
                path = Path(run_dir) / "samples" / f"{name}.png"
                save_grid(path, images[:k], masks[:k], panels, self.config.upscale)
                pictures.append(str(path.relative_to(run_dir)))
        self._print_table(rows, len(next(iter(sets.values()))[0]) if sets else 0, run_dir)
        return {
            "table_printed": True,
            "loss": self.config.loss,
            "loss_description": LOSS_TEXT[self.config.loss],
            "decodings": decodings,
            "sampling_strategy": self.sampling_strategy(model),
            "infill_table": rows,
            "eval_fingerprint": prints,
            "eval_sets": set_info,
            "eval_seed": ev.seed,
            "samples": pictures,
        }

    def sampling_strategy(self, model: torch.nn.Module) -> str:
        """One line saying how `sample` and `schedule` fill holes for this model."""
        if _directions(model) == 1:
            fn = _sequential_sampler()
            return (f"scan-order sampling, one hole pixel at a time "
                    f"({fn.__module__}.{fn.__name__})")
        return (f"iterative refinement in {self.config.refine_chunks} raster-order chunks "
                "(one forward per chunk)")

    def _print_table(self, rows: list[dict[str, Any]], n_images: int,
                     run_dir: Path | None) -> None:
        from rich.console import Console

        console = Console(highlight=False)
        console.print(infill_table(rows, title=f"infill on {n_images} evaluation images "
                                                f"per mask set ({LOSS_TEXT[self.config.loss]})"))
        if run_dir is not None:
            console.print(f"pictures: {Path(run_dir) / 'samples'}   run folder: {run_dir}")


# ---------------------------------------------------------------------- helpers
def _rank() -> int:
    import os

    return int(os.environ.get("RANK", "0") or 0)


def _can_gather(model: torch.nn.Module) -> bool:
    """True for a plain (not DDP-wrapped) RowRNN whose forward is features -> decoder.

    Under DDP the loss must go through the wrapper's forward for gradients to be synchronised,
    so the full-logits path is used there.
    """
    from pixelzoo.models.rowrnn import RowRNN

    return (isinstance(model, RowRNN) and type(model).forward is RowRNN.forward
            and model.decoder is not None)


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
    holes = (grid[:, :, 1:, 1:] == HOLE).any(1).reshape(b, -1)  # (B, HW)
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
        inner = grid[:, :, 1:, 1:]
        filled, _ = model.decoder.decode(feats, inner, pick)
        grid[:, :, 1:, 1:] = torch.where(sel & (inner == HOLE), filled, inner)
    return grid[:, :, 1:, 1:]


def infill_table(rows: list[dict[str, Any]], title: str | None = None) -> Any:
    """A rich table of infill rows (mask set, method, metrics), best per set in bold."""
    from rich.table import Table

    from pixelzoo.metrics import HIGHER_IS_BETTER

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


def _tile(img: np.ndarray, zoom: int) -> np.ndarray:
    """(C, H, W) uint8 -> (H*zoom, W*zoom, 3) RGB."""
    hwc = img.transpose(1, 2, 0)
    if hwc.shape[2] == 1:
        hwc = np.repeat(hwc, 3, axis=2)
    elif hwc.shape[2] != 3:
        hwc = hwc[:, :, :3] if hwc.shape[2] > 3 else np.concatenate(
            [hwc, np.zeros((*hwc.shape[:2], 3 - hwc.shape[2]), np.uint8)], axis=2)
    return np.repeat(np.repeat(hwc, zoom, axis=0), zoom, axis=1)


def show_holes(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(C, H, W) image with every pixel that has a hole in any channel painted magenta."""
    out = image.copy()
    pixel = mask.any(0)
    colour = np.array(HOLE_COLOUR[:image.shape[0]] if image.shape[0] <= 3 else
                      [HOLE_COLOUR[0]] * image.shape[0], dtype=np.uint8)
    if image.shape[0] == 1:
        colour = np.array([128], np.uint8)
    out[:, pixel] = colour[:, None]
    return out


def save_grid(path: Path, images: np.ndarray, masks: np.ndarray,
              panels: list[tuple[str, np.ndarray | None]], zoom: int) -> None:
    """Write a labelled PNG: one row per image, one column per panel (None = the holed input)."""
    import cv2

    from pixelzoo.engine.atomic import atomic_write_bytes

    n, _, h, w = images.shape
    th, tw, gap = h * zoom, w * zoom, 4
    header = 22
    width = len(panels) * (tw + gap) + gap
    height = header + n * (th + gap) + gap
    sheet = np.full((height, width, 3), 255, np.uint8)
    font_scale = max(0.3, min(0.45, tw / 320))
    for j, (label, _) in enumerate(panels):
        x = gap + j * (tw + gap)
        text = label
        if cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1)[0][0] > tw:
            text = label.split(" (")[0]  # "model (greedy)" -> "model" only when it cannot fit
        cv2.putText(sheet, text, (x + 2, header - 7), cv2.FONT_HERSHEY_SIMPLEX, font_scale,
                    (0, 0, 0), 1, cv2.LINE_AA)
    for i in range(n):
        y = header + gap + i * (th + gap)
        for j, (_, arr) in enumerate(panels):
            x = gap + j * (tw + gap)
            img = show_holes(images[i], masks[i]) if arr is None else arr[i]
            sheet[y:y + th, x:x + tw] = _tile(img, zoom)
    # flat cartoon colours compress ~20x at the highest level, for a few ms more
    ok, data = cv2.imencode(".png", np.ascontiguousarray(sheet[:, :, ::-1]),
                            [cv2.IMWRITE_PNG_COMPRESSION, 9])
    if not ok:
        raise PixelzooError(f"could not encode the picture {path}")
    atomic_write_bytes(path, data.tobytes())

