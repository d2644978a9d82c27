"""Fused kernels for the RowRNN fast paths: plain-torch versions everywhere, Triton on CUDA."""
