"""The one place that turns a device name ("auto", "cpu", "cuda", "cuda:1") into a torch device.

`train.device`, `pixelzoo infill --device` and the comparison grids all choose the same way:
"auto" is the first CUDA device when there is one, else the CPU; a CUDA device asked for on a
machine without one is a user error that names the setting, not a crash deep in torch. Not for
placing a distributed rank on its GPU: that is `engine.distributed`'s `LOCAL_RANK` business.
"""

from __future__ import annotations

import torch

from pixelzoo.errors import PixelzooError


def pick_device(name: str | torch.device = "auto", *, key: str = "device") -> torch.device:
    """`name` as a torch device; "auto" picks CUDA when available. `key` names the setting in
    the error for a CUDA device that is not there (e.g. "train.device", "--device")."""
    text = str(name)
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(text)
    except RuntimeError:
        raise PixelzooError(f"{key}: unknown device {text!r} (use auto, cpu or cuda)") from None
    if device.type not in ("cpu", "cuda"):  # meta, xla, ...: torch knows them, pixelzoo not
        raise PixelzooError(f"{key}: device {text!r} is not supported (use auto, cpu or cuda)")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise PixelzooError(f"{key}: {text!r} was asked for but no CUDA device is available "
                            "(use auto)")
    if device.type == "cuda" and device.index is not None \
            and device.index >= torch.cuda.device_count():
        raise PixelzooError(f"{key}: {text!r} was asked for but this machine has "
                            f"{torch.cuda.device_count()} CUDA device(s), numbered from 0")
    return device
