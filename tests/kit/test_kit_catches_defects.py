"""The conformance kit fails broken plugins, each with a message that names the problem.

Each class below is a small, realistic mistake a plugin author could make. They are passed to
the kit as classes, which also exercises the kit's temporary registration of unregistered parts.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
import torch
from pydantic import BaseModel
from torch import nn

from pixelzoo.data.base import DataSplits, Dataset, DatasetConfig, Geometry, ImageSet
from pixelzoo.masks.base import MaskConfig, MaskGenerator
from pixelzoo.models.combiners.base import AffineMaps, GatedCellMaps, RowContextCombiner
from pixelzoo.models.combiners.linear_add import LinearAddCombiner
from pixelzoo.models.decoders.base import ChannelDecoder, DecoderConfig
from pixelzoo.models.decoders.conditional import ConditionalDecoder
from pixelzoo.models.decoders.independent import IndependentDecoder
from pixelzoo.registry import COMBINERS, DATASETS, DECODERS, MASKS, TASKS
from pixelzoo.tasks.base import Metric
from pixelzoo.tasks.classification import ClassificationTask
from pixelzoo.testing import check_combiner, check_dataset, check_decoder, check_mask, check_task


# ------------------------------------------------------------------------------ combiners
class LooseConfig(BaseModel):  # forgot extra="forbid"
    pass


class LooseCombiner(LinearAddCombiner):
    Config = LooseConfig  # type: ignore[assignment]


class PeeksRight(LinearAddCombiner):
    """Adds the next pixel of the current row: sees the future in raster order."""

    pointwise = False

    def combine(self, x: torch.Tensor, h_above: torch.Tensor) -> torch.Tensor:
        ahead = torch.cat([x[:, 1:], torch.zeros_like(x[:, :1])], 1)
        return super().combine(x, h_above) + ahead


class IgnoresAbove(RowContextCombiner):
    """Drops the row context: each row is read as if it were the first."""

    def combine(self, x: torch.Tensor, h_above: torch.Tensor) -> torch.Tensor:
        return x


class FalselyPointwise(LinearAddCombiner):
    def combine(self, x: torch.Tensor, h_above: torch.Tensor) -> torch.Tensor:
        return x + self.proj(h_above.flip(-2))  # mirrored row above: causal but not pointwise


class UnusedWeight(LinearAddCombiner):
    def __init__(self, config: Any, **kw: Any):
        super().__init__(config, **kw)
        self.spare = nn.Linear(3, 3)


class Noisy(LinearAddCombiner):
    def combine(self, x: torch.Tensor, h_above: torch.Tensor) -> torch.Tensor:
        return super().combine(x, h_above) + random.random()  # unseeded python RNG


class WrongSize(LinearAddCombiner):
    @property
    def gru_input_size(self) -> int:
        return self.input_size + 1

    def combine(self, x: torch.Tensor, h_above: torch.Tensor) -> torch.Tensor:
        return torch.cat([super().combine(x, h_above), x[..., :1]], -1)[..., :-1]


class TwoFacedCell(RowContextCombiner):
    """scan_row (the reference loop) and cell (the fast path) compute different things."""

    is_cell = True

    def __init__(self, config: Any, *, input_size: int, hidden: int):
        super().__init__(config, input_size=input_size, hidden=hidden)
        self.lin = nn.Linear(input_size + 2 * hidden, hidden)

    def cell(self, x: torch.Tensor, h_left: torch.Tensor, h_above: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.lin(torch.cat([x, h_left, h_above], -1)))

    def scan_row(self, x: torch.Tensor, h_above: torch.Tensor) -> torch.Tensor:
        return super().scan_row(x, h_above) * 0.5


class NoCombine(RowContextCombiner):
    pass


class ClaimsNoBias(LinearAddCombiner):
    """Declares the fast path's affine maps but leaves out the bias that `combine` adds."""

    def affine_maps(self) -> AffineMaps:
        return AffineMaps(above=self.proj.weight)


class ClaimsGated(TwoFacedCell):
    """Declares the 2-D GRU cell, but its cell is a plain tanh cell."""

    def scan_row(self, x: torch.Tensor, h_above: torch.Tensor) -> torch.Tensor:
        return RowContextCombiner.scan_row(self, x, h_above)

    def gated_cell_maps(self) -> GatedCellMaps:
        h, e = self.hidden, self.input_size
        w = self.lin.weight
        return GatedCellMaps(w.new_zeros(6 * h, e), w.new_zeros(6 * h), w.new_zeros(5 * h, h),
                             w.new_zeros(5 * h, h), w.new_zeros(h, 2 * h))


@pytest.mark.parametrize("cls, check, message", [
    (LooseCombiner, "interface", "forbid unknown keys"),
    (PeeksRight, "causality", "earlier raster position"),
    (IgnoresAbove, "causality", "reached no later row"),
    (FalselyPointwise, "shape", "pointwise = True"),
    (UnusedWeight, "gradient flow", "spare"),
    (Noisy, "determinism", "forward passes"),
    (WrongSize, "shape", "expected"),
    (TwoFacedCell, "shape", "scan_row disagrees with cell"),
    (NoCombine, "interface", "must implement `combine`"),
    (ClaimsNoBias, "fast path", r"affine_maps\(\) does not describe combine\(\)"),
    (ClaimsGated, "fast path", r"gated_cell_maps\(\) does not describe cell\(\)"),
])
def test_broken_combiners_fail(cls: type, check: str, message: str) -> None:
    with pytest.raises(AssertionError, match=rf"failed the {check} check: .*{message}") as err:
        check_combiner(cls)
    assert f"combiner 'kit_{cls.__name__.lower()}'" in str(err.value)
    assert f"kit_{cls.__name__.lower()}" not in COMBINERS  # the temporary name is gone


def test_a_correct_class_passes_and_is_found_by_its_registered_name() -> None:
    check_combiner(LinearAddCombiner)  # registered as 'linear_add': checked under that name

    class Fine(LinearAddCombiner):
        """A correct, unregistered subclass."""

    check_combiner(Fine)


def test_params_are_used_and_refused_params_reported() -> None:
    check_combiner("linear_add", {"bias": False})
    with pytest.raises(AssertionError, match="refuses the parameters"):
        check_combiner("linear_add", {"bais": False})


def test_not_a_combiner() -> None:
    with pytest.raises(AssertionError, match="must subclass"):
        check_combiner(IndependentDecoder)
    with pytest.raises(AssertionError, match="cannot be loaded"):
        check_combiner("no_such_combiner")


# ------------------------------------------------------------------------------ decoders
class PeeksOwnChannel(ConditionalDecoder):
    """Conditions channel c on channel c's own true value: the answer leaks into the logits."""

    def forward(self, h: torch.Tensor, teacher: torch.Tensor | None = None) -> torch.Tensor:
        assert teacher is not None
        return super().forward(h, teacher) + teacher.unsqueeze(-1).to(h.dtype) / 256


class ClaimsConditional(IndependentDecoder):
    conditional = True


class SecretlyConditional(ConditionalDecoder):
    conditional = False


class RemembersTeacher(ConditionalDecoder):
    """Caches the teacher from training and uses it at inference: leaks the truth at holes."""

    def forward(self, h: torch.Tensor, teacher: torch.Tensor | None = None) -> torch.Tensor:
        self.last = teacher
        return super().forward(h, teacher)

    def channel_logits(self, h: torch.Tensor, c: int, previous: list[torch.Tensor]) -> torch.Tensor:
        out = super().channel_logits(h, c, previous)
        last = getattr(self, "last", None)
        if last is not None and last.shape[-2:] == h.shape[-3:-1] and c > 0:
            out = out + last[:, c - 1].unsqueeze(-1).to(out.dtype) / 256
        return out


class TrainInferMismatch(IndependentDecoder):
    def channel_logits(self, h: torch.Tensor, c: int, previous: list[torch.Tensor]) -> torch.Tensor:
        return super().channel_logits(h, c, previous) * 2  # decode scales, forward does not


class FillsWithHole(IndependentDecoder):
    def decode(self, h: torch.Tensor, known: torch.Tensor, pick: Any = None) -> Any:
        filled, logits = super().decode(h, known)
        return known.clone(), logits


class MixesPixels(IndependentDecoder):
    def forward(self, h: torch.Tensor, teacher: torch.Tensor | None = None) -> torch.Tensor:
        return super().forward(h.cumsum(-2), teacher)


class NoForward(ChannelDecoder):
    Config = DecoderConfig


@pytest.mark.parametrize("cls, check, message", [
    (PeeksOwnChannel, "causality", "may only condition on channels before it"),
    (ClaimsConditional, "causality", "ignore channel"),
    (SecretlyConditional, "causality", "unconditional decoder"),
    (RemembersTeacher, "no leakage", "earlier forward|teacher-forced"),
    (TrainInferMismatch, "no leakage", "teacher-forced"),
    (FillsWithHole, "no leakage", "not a pixel value"),
    (MixesPixels, "no leakage", "teacher-forced"),
    (NoForward, "interface", "must implement `forward`"),
])
def test_broken_decoders_fail(cls: type, check: str, message: str) -> None:
    with pytest.raises(AssertionError, match=rf"failed the ({check}) check: .*({message})"):
        check_decoder(cls)
    assert f"kit_{cls.__name__.lower()}" not in DECODERS


# ------------------------------------------------------------------------------ masks
class FloatMask(MaskGenerator):
    Config = MaskConfig

    def __call__(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self._empty(n).astype(np.float32)


class GlobalRngMask(MaskGenerator):
    Config = MaskConfig

    def __call__(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return np.random.random((n, self.channels, self.height, self.width)) < 0.3


class TransposedMask(MaskGenerator):
    Config = MaskConfig

    def __call__(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return np.zeros((n, self.channels, self.width, self.height), dtype=bool)


@pytest.mark.parametrize("cls, check, message", [
    (FloatMask, "shape", "bool numpy array"),
    (GlobalRngMask, "determinism", "equally seeded"),
    (TransposedMask, "shape", r"\(4, 1, 7, 9\)|\(1, 28, 28\)"),
])
def test_broken_masks_fail(cls: type, check: str, message: str) -> None:
    geometries = ((3, 36, 36), (1, 9, 7))
    with pytest.raises(AssertionError, match=rf"failed the {check} check: .*{message}"):
        check_mask(cls, geometries=geometries)
    assert f"kit_{cls.__name__.lower()}" not in MASKS


# ------------------------------------------------------------------------------ datasets
def _splits(labels: np.ndarray | None, num_classes: int | None, side: int = 4) -> DataSplits:
    rng = np.random.default_rng(0)

    def part(n: int) -> ImageSet:
        return ImageSet(rng.integers(0, 256, (n, 1, side, side), dtype=np.uint8),
                        None if labels is None else labels[:n])

    return DataSplits(part(6), part(2), part(2), num_classes=num_classes)


class WrongGeometry(Dataset):
    Config = DatasetConfig

    def load(self) -> DataSplits:
        return _splits(np.zeros(6, dtype=np.int64), 3)

    def geometry(self) -> Geometry:
        return Geometry(3, 4, 4, 3)


class LabelsOutOfRange(Dataset):
    Config = DatasetConfig

    def load(self) -> DataSplits:
        return _splits(np.full(6, 7, dtype=np.int64), 3)


class IgnoresLimit(Dataset):
    Config = DatasetConfig

    def load(self) -> DataSplits:
        return _splits(None, None)


class Fine(IgnoresLimit):
    def load(self) -> DataSplits:
        s = _splits(None, None)
        n = self.config.limit
        return DataSplits(s.train.take(n), s.val.take(n), s.test.take(n))


class Unseeded(Fine):
    def load(self) -> DataSplits:
        s = super().load()
        s.train.images[0, 0, 0, 0] = np.random.randint(0, 256)
        s.train.images[0, 0, 0, 1] = np.random.randint(0, 256)
        return s


@pytest.mark.parametrize("cls, check, message", [
    (WrongGeometry, "shape", "geometry"),
    (LabelsOutOfRange, "shape", "labels outside"),
    (IgnoresLimit, "Config validation", "limit: 2"),
    (Unseeded, "determinism", "different train"),
])
def test_broken_datasets_fail(cls: type, check: str, message: str) -> None:
    with pytest.raises(AssertionError, match=rf"failed the {check} check: .*{message}"):
        check_dataset(cls)
    assert f"kit_{cls.__name__.lower()}" not in DATASETS


def test_a_correct_dataset_passes() -> None:
    check_dataset(Fine)


# ------------------------------------------------------------------------------ tasks
class NoMetrics(ClassificationTask):
    metrics = ()


class UndeclaredKey(ClassificationTask):
    """Reports an extra key it never declared: compare could not tell which way is better."""

    def evaluate(self, model: Any, split: Any, device: Any, batch_size: int = 64) -> Any:
        return {**super().evaluate(model, split, device, batch_size), "top3": 1.0}


class PromisesMore(ClassificationTask):
    """Declares (and lists) a metric that evaluate() never returns."""

    metrics = (*ClassificationTask.metrics, Metric("top3", True))


class TorchRngLoss(ClassificationTask):
    """Draws label noise from torch's global generator instead of the step's numpy one."""

    def capture_inputs(self, images: Any, labels: Any, rng: np.random.Generator) -> Any:
        tokens, labels = super().capture_inputs(images, labels, rng)
        return tokens, torch.randint(0, 3, labels.shape)


class SplitDisagrees(ClassificationTask):
    """Its eager loss is not the captured one (label smoothing forgotten in one of them)."""

    def training_loss(self, model: Any, images: Any, labels: Any, rng: Any) -> Any:
        loss, logs = super().training_loss(model, images, labels, rng)
        return loss * 1.5, logs


class NeverInterruptible(ClassificationTask):
    def check_interrupt(self) -> None:
        pass  # the engine's stop signal is never looked at


class NanMetric(ClassificationTask):
    def evaluate(self, model: Any, split: Any, device: Any, batch_size: int = 64) -> Any:
        return {**super().evaluate(model, split, device, batch_size), "loss": float("nan")}


class ShowMiscounts(ClassificationTask):
    """Overrides model_kwargs but not sizes(): `pixelzoo show` would build another model."""

    def model_kwargs(self) -> dict[str, Any]:
        return {**super().model_kwargs(), "num_classes": 5}


@pytest.mark.parametrize("cls, check, message", [
    (NoMetrics, "metrics", "non-empty tuple"),
    (UndeclaredKey, "evaluate", r"undeclared keys \['top3'\]"),
    (PromisesMore, "evaluate", r"missing from evaluate\(\): \['top3'\]"),
    (TorchRngLoss, "determinism", "equally seeded"),
    (SplitDisagrees, "capture split", "capture_loss gives"),
    (NeverInterruptible, "evaluate", "never calls check_interrupt"),
    (NanMetric, "evaluate", "not finite"),
    (ShowMiscounts, "model_kwargs", r"sizes\(\) gives"),
])
def test_broken_tasks_fail(cls: type, check: str, message: str) -> None:
    with pytest.raises(AssertionError, match=rf"failed the {check} check: .*{message}"):
        check_task(cls)
    assert f"kit_{cls.__name__.lower()}" not in TASKS


def test_a_correct_task_passes_as_a_class() -> None:
    class Fine(ClassificationTask):
        pass

    check_task(Fine, {"label_smoothing": 0.1})
