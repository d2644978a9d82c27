"""`toon`'s faces: sample the attributes behind one face and draw it, each face from its own
seed stream."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pixelzoo.data.splits import SPLITS
from pixelzoo.data.toon.draw import _fill, _shade
from pixelzoo.data.toon.features import (_draw_brows, _draw_eyes, _draw_facial_hair,
                                         _draw_glasses, _draw_mouth, _draw_nose)
from pixelzoo.data.toon.hair import _HairPlan
from pixelzoo.data.toon.head import _Head
from pixelzoo.data.toon.style import Look, finish_look, sample_look
from pixelzoo.data.toon.palette import (_HAIR_COLOR_P, _HAIR_STYLE_P, CANVAS, EYE_COLORS,
                                        EYE_SHAPES, EYEBROW_SHAPES, FACE_SHAPES, FACIAL_HAIR,
                                        GLASSES, GLASSES_COLORS, HAIR_COLORS, HAIR_STYLES,
                                        MOUTHS, NOSES, SKIN_TONES)

# Each split draws from its own seed stream, so val and test faces are never training faces.
_STREAM = {name: i for i, name in enumerate(SPLITS)}
_LOOK_STREAM = 1  # the fourth word of a look's seed: apart from the face's own three


def sample_attributes(rng: np.random.Generator) -> dict[str, int]:
    """Draw the discrete choices behind one face (one int per name in `ATTRIBUTES`)."""
    def pick(n: int, p: Sequence[float] | None = None) -> int:
        if p is None:
            return int(rng.integers(n))
        w = np.asarray(p, dtype=np.float64)
        return int(rng.choice(n, p=w / w.sum()))

    return {
        "face_shape": pick(len(FACE_SHAPES)),
        "chin_length": pick(3),
        "face_color": pick(len(SKIN_TONES)),
        "hair": pick(len(HAIR_STYLES), _HAIR_STYLE_P),
        "hair_color": pick(len(HAIR_COLORS), _HAIR_COLOR_P),
        "eye_shape": pick(len(EYE_SHAPES), [5, 5, 3, 4, 2]),
        "eye_color": pick(len(EYE_COLORS)),
        "eye_lid": pick(3, [6, 3, 2]),
        "eye_lashes": pick(2),
        "eye_slant": pick(3),
        "eye_eyebrow_distance": pick(3),
        "eyebrow_shape": pick(len(EYEBROW_SHAPES)),
        "eyebrow_thickness": pick(3),
        "nose": pick(len(NOSES)),
        "mouth": pick(len(MOUTHS)),
        # Most faces are clean-shaven and glasses-free, as in the real set.
        "facial_hair": pick(len(FACIAL_HAIR), [14, 1.5, 1.5, 1, 1, 1, 1.5, 1]),
        "glasses": pick(len(GLASSES), [14, 1.5, 1.5, 1.5, 1, 1, 1]),
        "glasses_color": pick(len(GLASSES_COLORS)),
        "glasses_tint": pick(3, [6, 2, 2]),
    }


def draw_face(attrs: dict[str, int], rng: np.random.Generator, look: Look | None = None
              ) -> np.ndarray:
    """Render the face `attrs` describes; `rng` supplies the continuous details (sizes, offsets).

    Returns a (500, 500, 3) uint8 RGB image on a white background. With a `look` (the `varied`
    style) its colours replace the palette's, and its background, shading and outline are laid
    on top; the shapes, and every draw from `rng`, are those of the classic face.
    """
    img = np.full((CANVAS, CANVAS, 3), 255, dtype=np.uint8)
    head = _Head(rng, attrs["face_shape"], attrs["chin_length"])
    skin = SKIN_TONES[attrs["face_color"]] if look is None else look.skin
    hair_c = HAIR_COLORS[attrs["hair_color"]] if look is None else look.hair
    hair = _HairPlan(rng, head, attrs["hair"])

    hair.draw_back(img, hair_c)
    _fill(img, head.outline, skin)
    _draw_nose(img, rng, head, attrs["nose"], skin)
    _draw_facial_hair(img, rng, head, attrs["facial_hair"], hair_c, skin, before_mouth=True)
    _draw_mouth(img, rng, head, attrs["mouth"])
    _draw_facial_hair(img, rng, head, attrs["facial_hair"], hair_c, skin, before_mouth=False)
    eyes = _draw_eyes(img, rng, head, attrs, skin, None if look is None else look.iris)
    brow_c = _shade(hair_c, 0.8) if attrs["hair"] != 0 or rng.random() < 0.5 else (70, 50, 40)
    _draw_brows(img, rng, head, attrs, eyes, brow_c)
    hair.draw_front(img, hair_c, skin)
    if attrs["glasses"]:
        _draw_glasses(img, rng, head, attrs, eyes, None if look is None else look.frame)
    if look is not None:
        img = finish_look(img, look, centre=(head.cx, head.cy))
    return img


def render_face(rng: np.random.Generator) -> np.ndarray:
    """One random face: a (500, 500, 3) uint8 RGB image on a white background."""
    return draw_face(sample_attributes(rng), rng)


def face_rng(seed: int, index: int, split: str = "train") -> np.random.Generator:
    """The generator for face `index` of `split` under `seed`: independent of any other face."""
    # SeedSequence hashes the whole tuple, so neighbouring seeds and indices give unrelated
    # streams, and the split id keeps val/test faces out of the training stream.
    return np.random.default_rng(np.random.SeedSequence([seed % 2**63, _STREAM[split], index]))


def look_rng(seed: int, index: int, split: str = "train") -> np.random.Generator:
    """The generator for the `varied` look of face `index`: a stream apart from `face_rng`'s, so
    a varied face has the shapes of the classic face with the same index."""
    return np.random.default_rng(np.random.SeedSequence([seed % 2**63, _STREAM[split], index,
                                                         _LOOK_STREAM]))


def render_faces(n: int, seed: int, start: int = 0, *, split: str = "train",
                 style: str = "classic") -> np.ndarray:
    """Faces start..start+n-1 of `split` under `seed`, as (n, 500, 500, 3) uint8 RGB."""
    out = np.empty((n, CANVAS, CANVAS, 3), dtype=np.uint8)
    for k in range(n):
        rng = face_rng(seed, start + k, split)
        attrs = sample_attributes(rng)
        look = None
        if style == "varied":
            look = sample_look(look_rng(seed, start + k, split), attrs)
        out[k] = draw_face(attrs, rng, look)
    return out
