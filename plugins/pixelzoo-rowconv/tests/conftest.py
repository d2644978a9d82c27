"""Test settings for the plugin's own suite.

The models under test are tiny, so one intra-op thread is fastest; more threads only contend
with each other (and with anything else running) for the same cores.
"""

import torch

torch.set_num_threads(1)
