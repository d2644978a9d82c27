"""pixelzoo: a pluggable model zoo for pixel recurrent networks (RowRNNs).

The top-level package stays light on purpose: importing it (and listing plugins) never imports
torch, so the command line answers instantly and plugin discovery stays cheap. Heavy parts live in
sub-packages that are imported only when a recipe needs them.
"""

from pixelzoo.errors import PixelzooError, RecipeError

__version__ = "0.1.0"

__all__ = ["PixelzooError", "RecipeError", "__version__"]
