"""`toon`: a built-in procedural cartoon-face generator, an offline stand-in for the Cartoon Set.

The Cartoon Set (500x500 PNG faces on a white background) is what the seed trained its infill
model on, but it is a download; `toon` draws faces of the same kind with cv2 so that every recipe,
test and benchmark runs offline. Each face is a flat-shaded head centred on a white canvas, with
random face shape, chin length, skin tone, hair style and colour, eyes (shape, colour, lids,
lashes, slant), eyebrows, nose, mouth, facial hair and glasses. Images are rendered at 500x500
and then take the same preprocessing path as `cartoonset` (`preprocess_rgb`: centre crop 300,
area resize to 36), and the discrete choices behind each face are returned as per-image attribute
labels, like the Cartoon Set's CSVs. Image i of a seed depends only on (seed, split, i), never on
how many images are generated; train, val and test draw from separate seed streams, so the test
faces are faces the training set never contained. Run `python -m pixelzoo.data.toon --sheet
docs/toon_contact_sheet.png` to redraw the contact sheets in `docs/`.

That is the default `style: classic`, the faces of every table measured before it had a choice.
`style: varied` draws the same faces (same shapes, same attributes) in any skin and hair colour,
with ink outlines, soft or cel shading and coloured backgrounds, so that `toon` is not one style.

The package, by concern: `palette` (colours, attribute lists), `draw` (cv2 helpers), `head`,
`hair` and `features` (the parts of a face), `face` (attributes and drawing), `style` (the
`varied` look), `dataset` (the registered dataset and its cache) and `sheet` (contact sheets).
"""

from __future__ import annotations

from pixelzoo.data.toon.dataset import ToonDataset, generate
from pixelzoo.data.toon.face import (draw_face, face_rng, render_face, render_faces,
                                     sample_attributes)
from pixelzoo.data.toon.palette import (ATTRIBUTES, CANVAS, EYE_COLORS, FACE_SHAPES, HAIR_COLORS,
                                        HAIR_STYLES, SKIN_TONES)
from pixelzoo.data.toon.sheet import contact_sheet

__all__ = ["ATTRIBUTES", "CANVAS", "EYE_COLORS", "FACE_SHAPES", "HAIR_COLORS", "HAIR_STYLES",
           "SKIN_TONES", "ToonDataset", "contact_sheet", "draw_face", "face_rng", "generate",
           "render_face", "render_faces", "sample_attributes"]
