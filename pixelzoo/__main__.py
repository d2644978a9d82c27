"""`python -m pixelzoo` (and `torchrun -m pixelzoo run ...`) runs the command line."""

import sys

from pixelzoo.cli import main

sys.exit(main())
