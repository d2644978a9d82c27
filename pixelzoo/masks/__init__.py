"""Hole masks: registered generators of boolean (C, H, W) hole maps."""
