"""`classification`: a class label per image; cross-entropy loss, accuracy and loss metrics.

The model (a RowRNN's pooled head, or a timm CNN) maps (B, C, H+1, W+1) tokens to class logits.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import Field

from pixelzoo.config import PartConfig
from pixelzoo.data.base import Geometry, ImageSet
from pixelzoo.errors import PixelzooError
from pixelzoo.tasks.base import Metric, Task, TaskConfig
from pixelzoo.tokens import add_start_tokens


class ClassificationConfig(TaskConfig):
    label_smoothing: float = Field(0.0, ge=0, lt=1)


class ClassificationTask(Task):
    """Cross-entropy on class labels; reports accuracy."""

    Config = ClassificationConfig
    metrics = (
        Metric("accuracy", higher_is_better=True, primary=True, headline=True,
               description="fraction of images whose top class is the label"),
        Metric("loss", higher_is_better=False,
               description="mean cross-entropy (nats, without label smoothing)"),
    )

    def __init__(self, config: ClassificationConfig, **kw: Any):
        super().__init__(config, **kw)
        if self.data.num_classes is None or self.data.train.labels is None:
            raise PixelzooError("task 'classification' needs a dataset with labels; "
                                "this dataset has none (use task: {type: infill})")

    @classmethod
    def sizes(cls, geometry: Geometry, config: PartConfig) -> dict[str, Any]:
        return {**super().sizes(geometry, config), "num_classes": geometry.num_classes}

    # training_loss is the base class's: this split, run eagerly
    def capture_inputs(self, images: torch.Tensor, labels: torch.Tensor | None,
                       rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
        assert labels is not None
        return add_start_tokens(images), labels

    def capture_loss(self, model: torch.nn.Module, *inputs: torch.Tensor) -> torch.Tensor:
        tokens, labels = inputs
        return F.cross_entropy(model(tokens).float(), labels,
                               label_smoothing=self.config.label_smoothing)

    @torch.no_grad()
    def evaluate(self, model: torch.nn.Module, split: ImageSet, device: torch.device,
                 batch_size: int = 64) -> dict[str, float]:
        assert split.labels is not None
        correct, total, loss_sum = 0, 0, 0.0
        for start in range(0, len(split), batch_size):
            self.check_interrupt()
            images = torch.from_numpy(split.images[start:start + batch_size]).to(device)
            labels = torch.from_numpy(split.labels[start:start + batch_size]).to(device)
            logits = model(add_start_tokens(images)).float()
            loss_sum += F.cross_entropy(logits, labels, reduction="sum").item()
            correct += (logits.argmax(-1) == labels).sum().item()
            total += len(labels)
        total = max(total, 1)
        return {"accuracy": correct / total, "loss": loss_sum / total}
