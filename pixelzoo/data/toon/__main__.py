"""`python -m pixelzoo.data.toon`: draw the contact sheets in docs/."""

from pixelzoo.data.toon.sheet import _main

_main()
