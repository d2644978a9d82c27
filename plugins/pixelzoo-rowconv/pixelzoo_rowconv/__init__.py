"""pixelzoo-rowconv: a third-party pixelzoo plugin package.

It adds two parts through entry points, with no change to pixelzoo itself: the `row_conv`
row-context combiner (PixelRNN's Row LSTM state-to-state convolution over the row above, in
`pixelzoo_rowconv.combiner`) and the `rowconv_scribble` hole mask (in `pixelzoo_rowconv.scribble`).
This module stays import-light on purpose: pixelzoo imports each part's own module only when a
recipe asks for it.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pixelzoo-rowconv")
except PackageNotFoundError:  # running from a source checkout that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
