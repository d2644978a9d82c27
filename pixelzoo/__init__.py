"""pixelzoo: a pluggable model zoo for pixel recurrent networks (RowRNNs).

The top-level package stays light on purpose: importing it (and listing plugins) never imports
torch, so the command line answers instantly and plugin discovery stays cheap. Heavy parts live in
sub-packages that are imported only when a recipe needs them. The Python API
(`pixelzoo.create_model`, `pixelzoo.fill`, `pixelzoo.list_weights`, from `pixelzoo.api`) is
exported lazily: its module is imported on first use of one of its names.
"""

from typing import Any

from pixelzoo.errors import PixelzooError, RecipeError

__version__ = "0.1.0"

#: Names served from `pixelzoo.api` on first use (PEP 562), so `import pixelzoo` stays light.
_API = ("create_model", "fill", "list_weights")

__all__ = ["PixelzooError", "RecipeError", "__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        from pixelzoo import api

        return getattr(api, name)
    raise AttributeError(f"module 'pixelzoo' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_API})
