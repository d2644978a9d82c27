"""`toon`'s palettes and attribute lists: the discrete choices behind every classic face.

Colours are RGB tuples, drawn from short lists as in the Cartoon Set, where colour is a
categorical attribute rather than a continuum; `ATTRIBUTES` names every attribute and its number
of variants. The `varied` style (`pixelzoo.data.toon.style`) draws colours outside these lists.
"""

from __future__ import annotations

CANVAS = 500
WHITE = (255, 255, 255)

# --- palettes (RGB) ---------------------------------------------------------------------------
# Discrete palettes, as in the Cartoon Set: colour is a categorical attribute, not a continuum.
SKIN_TONES: list[tuple[int, int, int]] = [
    (255, 229, 206), (250, 214, 186), (242, 200, 164), (236, 188, 150), (224, 172, 130),
    (204, 152, 110), (184, 132, 92), (160, 110, 74), (134, 90, 60), (108, 70, 46), (84, 54, 38),
]
HAIR_COLORS: list[tuple[int, int, int]] = [
    (34, 30, 32), (72, 46, 32), (116, 74, 44), (166, 118, 72), (150, 60, 34),
    (214, 112, 52), (234, 198, 116), (238, 226, 192), (150, 150, 156), (64, 96, 184),
    (226, 112, 164), (122, 70, 160),
]
# Natural colours dominate, dyed ones (blue, pink, purple) are rarer; likewise below.
_HAIR_COLOR_P = [14, 14, 12, 9, 7, 6, 9, 5, 7, 2.5, 2.5, 2.5]
EYE_COLORS: list[tuple[int, int, int]] = [
    (94, 60, 36), (60, 40, 28), (70, 120, 180), (80, 130, 80), (120, 120, 130),
]
GLASSES_COLORS: list[tuple[int, int, int]] = [
    (24, 24, 26), (104, 62, 36), (196, 160, 72), (168, 170, 178), (186, 40, 44), (40, 70, 150),
]
_TINTS = [None, (150, 110, 60), (40, 44, 52)]  # clear, tinted, dark (sunglasses)
_TINT_ALPHA = [0.0, 0.35, 0.88]
_MOUTH_DARK = (112, 40, 40)
_MOUTH_INSIDE = (120, 30, 40)
_TONGUE = (226, 110, 120)
_INK = (36, 30, 32)
_HAIR_TIES = [(220, 50, 60), (60, 150, 220), (250, 200, 40), (120, 200, 90)]

HAIR_STYLES: list[str] = [
    "bald", "buzz", "short", "side_swept", "middle_part", "bowl", "spiky", "curly", "afro",
    "mohawk", "quiff", "bob", "long", "long_wavy", "ponytail", "bun", "pigtails", "balding",
    "long_bangs", "shoulder_curly",
]
_HAIR_STYLE_P = [4, 5, 7, 7, 5, 5, 5, 5, 4, 3, 5, 6, 6, 5, 5, 4, 4, 4, 5, 4]
FACE_SHAPES = ["oval", "round", "square", "long", "heart", "pear", "diamond"]
EYE_SHAPES = ["round", "almond", "narrow", "wide", "dot"]
EYEBROW_SHAPES = ["straight", "arched", "angled", "soft", "raised", "flat_thick"]
NOSES = ["arc", "button", "hook", "shadow"]
MOUTHS = ["smile", "grin", "neutral", "o", "smirk", "laugh"]
FACIAL_HAIR = ["none", "stubble", "moustache", "handlebar", "goatee", "circle_beard",
               "full_beard", "chin_strap"]
GLASSES = ["none", "round", "rectangle", "oval", "cat_eye", "aviator", "browline"]

# Attribute name -> number of variants, in the spirit of the Cartoon Set's
# `"attribute", variant, total` CSV lines. Every face carries one int per attribute.
ATTRIBUTES: dict[str, int] = {
    "face_shape": len(FACE_SHAPES),
    "chin_length": 3,
    "face_color": len(SKIN_TONES),
    "hair": len(HAIR_STYLES),
    "hair_color": len(HAIR_COLORS),
    "eye_shape": len(EYE_SHAPES),
    "eye_color": len(EYE_COLORS),
    "eye_lid": 3,
    "eye_lashes": 2,
    "eye_slant": 3,
    "eye_eyebrow_distance": 3,
    "eyebrow_shape": len(EYEBROW_SHAPES),
    "eyebrow_thickness": 3,
    "nose": len(NOSES),
    "mouth": len(MOUTHS),
    "facial_hair": len(FACIAL_HAIR),
    "glasses": len(GLASSES),
    "glasses_color": len(GLASSES_COLORS),
    "glasses_tint": len(_TINTS),
}
