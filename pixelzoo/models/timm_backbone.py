"""`timm` model: a CNN from timm's zoo as a classifier, for side-by-side comparison with RowRNNs.

`model: {type: timm, name: resnet18}` builds `timm.create_model(name)` with `in_chans` and
`num_classes` taken from the dataset, trained from scratch: pixelzoo never downloads weights, so
`pretrained: true` is refused. The model reads the same (B, C, H+1, W+1) token grids as a RowRNN;
it strips the START border, scales the 0..255 values to floats and normalises them, and upsamples
tiny images (8x8 digits) to `min_size`, since a ResNet's stride-32 trunk would otherwise shrink
them to nothing. Classification only: a CNN here has no per-pixel decoder for infill.
"""

from __future__ import annotations

import difflib
import math
from typing import Any, Literal

import timm
import torch
import torch.nn.functional as F
from pydantic import Field, field_validator
from torch import nn

from pixelzoo.config import PartConfig
from pixelzoo.errors import PixelzooError
from pixelzoo.tokens import PIXELS, strip_start_tokens


def unknown_model_message(name: str) -> str:
    """'unknown timm model ...; did you mean ...' with the closest names in timm's zoo."""
    close = difflib.get_close_matches(name, timm.list_models(), n=3, cutoff=0.6)
    msg = f"unknown timm model '{name}'"
    if close:
        msg += "; did you mean " + ", ".join(f"'{c}'" for c in close) + "?"
    return msg + (" Names come from timm.list_models() (e.g. resnet18, resnet50, efficientnet_b0);"
                  " hub names are refused, since pixelzoo never downloads weights.")


class TimmConfig(PartConfig):
    name: str = Field("resnet18", description="a timm architecture, as in timm.list_models()")
    pretrained: bool = Field(
        False, description="must stay false: trained from scratch, nothing is downloaded")
    drop_rate: float = Field(0.0, ge=0, lt=1, description="dropout before the classifier")
    drop_path_rate: float = Field(0.0, ge=0, lt=1, description="stochastic depth, where supported")
    min_size: int | None = Field(
        32, ge=1, description="upsample images whose shorter side is below this (None: never)")
    interpolation: Literal["nearest", "bilinear", "bicubic"] = Field(
        "bilinear", description="how small images are upsampled")
    small_stem: bool = Field(
        False, description="drop the stem's max-pool (ResNet-style models) to keep tiny images' "
                           "resolution")
    mean: float = Field(0.5, description="subtracted from every channel after scaling to 0..1")
    std: float = Field(0.25, gt=0, description="divides every channel after the mean")

    @field_validator("pretrained")
    @classmethod
    def _no_downloads(cls, value: bool) -> bool:
        if value:
            raise ValueError("pretrained weights are not supported: pixelzoo trains timm models "
                             "from scratch and never downloads weights; set pretrained: false")
        return value

    @field_validator("name")
    @classmethod
    def _known_name(cls, value: str) -> str:
        if not timm.is_model(value):
            raise ValueError(unknown_model_message(value))
        return value


class TimmClassifier(nn.Module):
    """A timm CNN reading pixelzoo token grids: tokens (B, C, H+1, W+1) -> class logits (B, K)."""

    Config = TimmConfig

    def __init__(self, config: TimmConfig, *, channels: int, height: int, width: int,
                 num_classes: int | None = None):
        super().__init__()
        if num_classes is None:
            raise PixelzooError("model 'timm' is a classifier: use it with task: {type: "
                                "classification} (pixel tasks such as infill need a RowRNN)")
        if not timm.is_model(config.name):  # a Config built without validation
            raise PixelzooError(f"model.name: {unknown_model_message(config.name)}")
        self.config = config
        self.channels, self.height, self.width = channels, height, width
        self.num_classes = num_classes
        self.net = timm.create_model(config.name, pretrained=False, in_chans=channels,
                                     num_classes=num_classes, drop_rate=config.drop_rate,
                                     **({"drop_path_rate": config.drop_path_rate}
                                        if config.drop_path_rate else {}))
        if config.small_stem:
            if not isinstance(getattr(self.net, "maxpool", None), nn.Module):
                raise PixelzooError(f"model.small_stem: timm model '{config.name}' has no stem "
                                    "max-pool to drop (ResNet-style models have one); set "
                                    "small_stem: false")
            self.net.maxpool = nn.Identity()
        self.input_size = self._input_size(height, width)

    def _input_size(self, height: int, width: int) -> tuple[int, int]:
        target = self.config.min_size
        if target is None or min(height, width) >= target:
            return height, width
        scale = target / min(height, width)
        return math.ceil(height * scale), math.ceil(width * scale)

    def images(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, C, H+1, W+1) tokens -> normalised float images at the network's input size."""
        # A classifier never sees HOLE tokens in pixelzoo's tasks; clamping keeps a stray one
        # (or a START token) from producing values outside the pixel range.
        dtype = next(self.net.parameters()).dtype
        pixels = strip_start_tokens(tokens).clamp(max=PIXELS - 1).to(dtype) / (PIXELS - 1)
        x = (pixels - self.config.mean) / self.config.std
        if tuple(x.shape[-2:]) != self.input_size:
            mode = self.config.interpolation
            x = F.interpolate(x, size=self.input_size, mode=mode,
                              **({} if mode == "nearest" else {"align_corners": False}))
        return x

    def forward(self, tokens: torch.Tensor, teacher: torch.Tensor | None = None) -> torch.Tensor:
        if tokens.dim() != 4 or tokens.shape[1] != self.channels:
            raise ValueError(f"expected tokens (B, {self.channels}, H+1, W+1), got "
                             f"{tuple(tokens.shape)}")
        return self.net(self.images(tokens))

    def describe(self) -> dict[str, Any]:
        """The key architecture choices, for tables."""
        h, w = self.input_size
        return {
            "model": "timm",
            "name": self.config.name,
            "decoder": "classifier",
            "input": f"{h}x{w}",
            "small_stem": self.config.small_stem,
        }
