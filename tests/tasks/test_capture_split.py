"""The tasks' split for CUDA graphs: `capture_loss(model, *capture_inputs(...))` is the training
loss. Values and every parameter's gradient must equal `training_loss`'s for the same step
generator, for both built-in tasks and both infill losses; a task without the split says so."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from pixelzoo.data.base import DataSplits, ImageSet
from pixelzoo.recipe import build_part
from pixelzoo.tasks.base import Task

from infill_helpers import make_task, tiny_data, tiny_model


class Wrapped(torch.nn.Module):
    """A model the infill task cannot look inside (as under DDP): its full-logits path."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, *args: Any, **kw: Any) -> torch.Tensor:
        return self.model(*args, **kw)


def assert_same_loss_and_grads(task: Task, model: torch.nn.Module, images: torch.Tensor,
                               labels: torch.Tensor | None, seed: int = 7) -> None:
    eager, _ = task.training_loss(model, images, labels, np.random.default_rng(seed))
    inputs = task.capture_inputs(images, labels, np.random.default_rng(seed))
    split = task.capture_loss(model, *inputs)
    assert split.shape == ()
    assert split.item() == pytest.approx(eager.item(), rel=1e-6, abs=1e-7)
    params = list(model.parameters())
    for a, b, p in zip(torch.autograd.grad(eager, params, allow_unused=True),
                       torch.autograd.grad(split, params, allow_unused=True), params):
        # a parameter the eager route does not reach gets no gradient there, zeros here
        a = torch.zeros_like(p) if a is None else a
        b = torch.zeros_like(p) if b is None else b
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("gather", [True, False], ids=["rowrnn", "wrapped"])
@pytest.mark.parametrize("decoder", ["independent", "conditional"])
@pytest.mark.parametrize("loss", ["holes", "all"])
def test_infill_split_equals_training_loss(loss: str, decoder: str, gather: bool) -> None:
    task = make_task(loss=loss)
    model = tiny_model(decoder=decoder)
    images = torch.from_numpy(tiny_data(4, seed=1).train.images)
    assert_same_loss_and_grads(task, model if gather else Wrapped(model), images, None)


def test_infill_inputs_have_fixed_shapes_and_a_batch_without_holes_is_zero() -> None:
    task = make_task(loss="holes")
    images = torch.from_numpy(tiny_data(4, seed=2).train.images)
    shapes = {tuple(tuple(t.shape) for t in task.capture_inputs(images, None,
                                                                np.random.default_rng(s)))
              for s in range(5)}
    assert len(shapes) == 1  # holes of any size: the same tensors to copy into a graph
    tokens, target, masks = task.capture_inputs(images, None, np.random.default_rng(0))
    assert tokens.shape == (4, 3, 9, 9) and target.shape == masks.shape == images.shape
    assert task.mask is not None
    task.mask = lambda n, rng: np.zeros((n, 3, 8, 8), dtype=bool)  # type: ignore[assignment]
    model = tiny_model()
    assert task.capture_loss(model, *task.capture_inputs(images, None,
                                                         np.random.default_rng(0))).item() == 0.0
    assert_same_loss_and_grads(task, model, images, None)
    assert_same_loss_and_grads(task, Wrapped(model), images, None)


def _classification(smoothing: float) -> tuple[Task, torch.nn.Module, torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(0)

    def split(n: int) -> ImageSet:
        return ImageSet(rng.integers(0, 256, (n, 1, 6, 6), dtype=np.uint8),
                        rng.integers(0, 3, n).astype(np.int64))

    data = DataSplits(train=split(5), val=split(5), test=split(5), num_classes=3)
    task = build_part("tasks", {"type": "classification", "label_smoothing": smoothing},
                      data=data)
    torch.manual_seed(0)
    model = build_part("models", {"type": "rowrnn", "embed": 4, "hidden": 6, "layers": 1,
                                  "directions": 1}, **task.model_kwargs())
    return (task, model, torch.from_numpy(data.train.images),
            torch.from_numpy(data.train.labels))


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_classification_split_equals_training_loss(smoothing: float) -> None:
    task, model, images, labels = _classification(smoothing)
    assert task.supports_capture()
    assert_same_loss_and_grads(task, model, images, labels)


def test_a_task_without_the_split_says_so_and_one_with_only_the_split_trains() -> None:
    class Eager(Task):  # a third-party task written before the split existed
        def training_loss(self, model, images, labels, rng):  # type: ignore[no-untyped-def]
            return model(images).sum(), {}

    class SplitOnly(Task):  # the base class's training_loss runs the split eagerly
        def capture_inputs(self, images, labels, rng):  # type: ignore[no-untyped-def]
            return (images.float() * float(rng.integers(1, 4)),)

        def capture_loss(self, model, *inputs):  # type: ignore[no-untyped-def]
            return model(inputs[0]).square().mean()

    data = tiny_data(2)
    assert not Eager(Task.Config(), data=data).supports_capture()
    task = SplitOnly(Task.Config(), data=data)
    assert task.supports_capture()
    lin = torch.nn.Linear(8, 1)
    images = torch.from_numpy(data.train.images)
    loss, extra = task.training_loss(lin, images, None, np.random.default_rng(3))
    want = lin(images.float() * float(np.random.default_rng(3).integers(1, 4))).square().mean()
    assert extra == {} and loss.item() == pytest.approx(want.item())
    with pytest.raises(NotImplementedError):
        Task(Task.Config(), data=data).training_loss(lin, images, None, np.random.default_rng(0))
