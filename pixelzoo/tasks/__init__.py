"""Tasks: what a model is trained to do and how it is evaluated (classification, infill)."""
