"""Datasets: each a registered plugin that yields uint8 (C, H, W) images and optional labels."""
