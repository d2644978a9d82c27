"""`skimage_photos`: crops of the photographs bundled with scikit-image, a non-cartoon sanity set.

An evaluation set as far from `toon` as a 36x36 image gets: real photographs (an astronaut, a
cat, a cup of coffee, a rocket, a motorcycle, deep-sky and microscope images, and grey ones such
as the cameraman, coins, the moon, grass, gravel and brick). Where cartoons are flat colour
regions with sharp edges, photos have texture, noise, soft shading and no outlines; the grey
photos are repeated on R, G and B, so their pixels are all greys. Each image is a square crop of
one photo (photo, side and place drawn from the image's own seed stream; the side from 36 pixels
to the photo's whole short side), area-resized to `size`. The photos are read from the files that
ship inside the installed scikit-image, never downloaded: a photo that the installed version
lacks is a `DataError` naming it. Splits draw crops of the same photos from separate seed
streams, so crops of one photo can overlap across splits: a set for evaluation, not training.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field

from pixelzoo.data.base import Dataset, DataSplits, Geometry
from pixelzoo.data.cache import source_digest
from pixelzoo.data.generated import GeneratedConfig, image_rng, load_generated
from pixelzoo.data.preprocess import bgr_to_rgb, resize, to_chw
from pixelzoo.errors import DataError

# Photo name -> its file inside the scikit-image package (`skimage/data/`). These ship with the
# wheel itself (checked on scikit-image 0.22 to 0.26); the larger sets it fetches with pooch are
# deliberately not listed.
PHOTOS: dict[str, str] = {
    "astronaut": "astronaut.png",
    "chelsea": "chelsea.png",
    "coffee": "coffee.png",
    "rocket": "rocket.jpg",
    "motorcycle": "motorcycle_left.png",
    "hubble_deep_field": "hubble_deep_field.jpg",
    "immunohistochemistry": "ihc.png",
    "retina": "retina.jpg",
    "camera": "camera.png",
    "coins": "coins.png",
    "moon": "moon.png",
    "grass": "grass.png",
    "gravel": "gravel.png",
    "brick": "brick.png",
}
PhotoName = Literal["astronaut", "chelsea", "coffee", "rocket", "motorcycle",
                    "hubble_deep_field", "immunohistochemistry", "retina", "camera", "coins",
                    "moon", "grass", "gravel", "brick"]
MIN_SIDE = 36


def photo_path(name: str) -> Path:
    """Where the installed scikit-image keeps photo `name`; DataError if it has none."""
    import skimage

    path = Path(str(resources.files("skimage") / "data" / PHOTOS[name]))
    if not path.is_file():
        raise DataError(f"skimage_photos: scikit-image {skimage.__version__} does not ship "
                        f"'{PHOTOS[name]}' (photo '{name}'); remove it from dataset.photos")
    return path


def read_photo(name: str) -> np.ndarray:
    """Photo `name` as uint8 (H, W, 3) RGB; grey photos repeated on the three channels."""
    import cv2

    path = photo_path(name)
    img = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise DataError(f"skimage_photos: cannot decode {path}")
    if img.dtype != np.uint8:  # 16-bit files, should one appear: keep the top 8 bits
        img = (img >> 8).astype(np.uint8)
    if img.ndim == 2:
        return np.repeat(img[:, :, None], 3, axis=2)
    return bgr_to_rgb(img)


def crop_photos(photos: list[np.ndarray], rngs: list[np.random.Generator], size: int
                ) -> np.ndarray:
    """One random square crop per generator, of a random photo, resized: (n, 3, size, size)."""
    out = np.empty((len(rngs), 3, size, size), np.uint8)
    for i, rng in enumerate(rngs):
        photo = photos[int(rng.integers(len(photos)))]
        h, w = photo.shape[:2]
        short = min(h, w)
        # Log-uniform sides: as many close-ups as wide views.
        side = int(round(np.exp(rng.uniform(np.log(MIN_SIDE), np.log(short)))))
        top, left = int(rng.integers(h - side + 1)), int(rng.integers(w - side + 1))
        out[i] = to_chw(resize(photo[top:top + side, left:left + side], size))
    return out


class SkimagePhotosDataset(Dataset):
    """Square crops of scikit-image's bundled photographs (no cartoon at all)."""

    class Config(GeneratedConfig):
        photos: list[PhotoName] = Field(
            default_factory=lambda: list(PHOTOS), min_length=1,
            description="which bundled photos to crop (all by default)")

    config: Config

    def geometry(self) -> Geometry:
        return Geometry(3, self.config.size, self.config.size, None)

    def load(self) -> DataSplits:
        c = self.config
        photos: list[np.ndarray] = []

        def make(split: str, n: int) -> np.ndarray:
            if not photos:
                photos.extend(read_photo(name) for name in c.photos)
            rngs = [image_rng("skimage_photos", c.seed, split, i) for i in range(n)]
            return crop_photos(photos, rngs, c.size)

        # The files' sizes stand for their content: a new scikit-image with other photos under
        # the same names misses the cache rather than reusing old crops.
        files = {name: photo_path(name).stat().st_size for name in c.photos}
        return load_generated("skimage_photos", c, make, {
            "code": source_digest(Path(__file__), Path(__file__).with_name("generated.py")),
            "size": c.size, "photos": files})
