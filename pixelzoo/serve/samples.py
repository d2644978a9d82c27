"""Sample faces for the page: a few `toon` faces drawn when the server starts.

They come from the test stream of the built-in `toon` generator (faces no shipped model trained
on), at the generator's full 500x500 size, so each model's own preprocessing turns them into its
grid exactly as it would a user's upload. Nothing is written to disk. Not a dataset: for
training and evaluation data see `pixelzoo.data.toon`.
"""

from __future__ import annotations

SEED = 2024  # fixed: the same faces every time, so the docs' screenshots can name them
COUNT = 6


def sample_faces(count: int = COUNT, seed: int = SEED) -> list[bytes]:
    """`count` PNG-encoded 500x500 RGB cartoon faces."""
    from pixelzoo.data.toon import render_faces
    from pixelzoo.serve.pictures import png_bytes

    return [png_bytes(face.transpose(2, 0, 1)) for face in render_faces(count, seed,
                                                                         split="test")]
