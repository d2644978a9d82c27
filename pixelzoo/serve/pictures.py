"""Pictures in and out of `pixelzoo serve`: checked uploads, PNG data URLs, masks, scores.

An upload is checked before it is decoded (size in bytes, then the pixel count read from its
header), so a small file that claims a huge image cannot eat the memory; anything that does not
decode is an `UploadError` with a message for the page. Images travel between page and server as
PNG data URLs in the model's grid, and holes as a string of '0'/'1', one per grid pixel in row
order. Not for model calls (`pixelzoo.serve.adapter`).
"""

from __future__ import annotations

import base64
import io

import numpy as np

from pixelzoo.errors import PixelzooError

MAX_PIXELS = 40_000_000  # about 6300x6300: far above any face photo, far below a memory bomb


class UploadError(PixelzooError):
    """An upload the server will not take; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def check_image_bytes(data: bytes, what: str = "upload") -> None:
    """Raise `UploadError` unless `data` is a decodable image of a sane pixel count."""
    from PIL import Image, UnidentifiedImageError

    from pixelzoo.data.images import BadImage, decode_image

    if not data:
        raise UploadError(f"the {what} is empty")
    try:
        # PIL reads only the header here: the size is known before anything is decoded
        with Image.open(io.BytesIO(data)) as im:
            w, h = im.size
    except UnidentifiedImageError:
        # cv2 would read a few more formats (HDR, EXR, PFM), but without a size check first
        raise UploadError(f"the {what} is not an image this server takes; send a PNG, JPEG, "
                          "BMP, WebP or TIFF file", 415) from None
    except Image.DecompressionBombError:  # PIL's own cap, far above ours
        raise UploadError(f"the {what} claims far more than the limit of {MAX_PIXELS:,} "
                          "pixels", 413) from None
    except Exception as exc:  # a broken header of a known format
        raise UploadError(f"the {what} is not a readable image ({exc})", 415) from None
    if w * h > MAX_PIXELS:
        raise UploadError(f"the {what} is {w}x{h} pixels; the limit is {MAX_PIXELS:,} pixels",
                          413)
    try:
        decode_image(data)
    except BadImage as exc:
        raise UploadError(f"the {what} is not an image this server can read ({exc}); send a "
                          "PNG, JPEG, BMP, WebP or TIFF file", 415) from None


def png_bytes(chw: np.ndarray) -> bytes:
    """uint8 (C, H, W) with C = 1 or 3 (RGB) -> PNG bytes."""
    import cv2

    hwc = chw.transpose(1, 2, 0)
    if hwc.shape[2] == 3:
        hwc = hwc[:, :, ::-1]  # cv2 encodes BGR
    ok, data = cv2.imencode(".png", np.ascontiguousarray(hwc))
    if not ok:
        raise PixelzooError("could not encode a PNG")
    return data.tobytes()


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def image_url(chw: np.ndarray) -> str:
    return data_url(png_bytes(chw))


def decode_grid_image(url: object, channels: int, height: int, width: int) -> np.ndarray:
    """A PNG data URL the page sends back -> uint8 (C, H, W); it must be the model's grid."""
    from pixelzoo.data.images import BadImage, decode_image, to_channels

    if not isinstance(url, str) or not url.startswith("data:image/png;base64,"):
        raise UploadError("'image' must be a PNG data URL (data:image/png;base64,...)")
    try:
        data = base64.b64decode(url.split(",", 1)[1], validate=True)
        raw = decode_image(data)
    except (ValueError, BadImage) as exc:
        raise UploadError(f"'image' is not a readable PNG ({exc})", 415) from None
    if raw.shape[:2] != (height, width):
        raise UploadError(f"'image' is {raw.shape[1]}x{raw.shape[0]}; this model fills "
                          f"{width}x{height} images (send the image /api/image returned)")
    img = to_channels(raw, channels)
    img = img if img.ndim == 3 else img[:, :, None]
    return np.ascontiguousarray(img.transpose(2, 0, 1))


def decode_holes(text: object, height: int, width: int) -> np.ndarray:
    """'0'/'1' string of height*width grid pixels (row order, '1' = hole) -> bool (H, W)."""
    if not isinstance(text, str) or len(text) != height * width or set(text) - {"0", "1"}:
        raise UploadError(f"'mask' must be a string of {height * width} '0'/'1' characters "
                          f"({height} rows of {width}, '1' = hole)")
    holes = np.frombuffer(text.encode("ascii"), np.uint8).reshape(height, width) == ord("1")
    if not holes.any():
        raise UploadError("the mask has no holes: paint some first")
    return holes


def encode_holes(holes: np.ndarray) -> str:
    return "".join("1" if v else "0" for v in holes.reshape(-1))


def hole_psnr(truth: np.ndarray, pred: np.ndarray, holes: np.ndarray) -> float:
    """PSNR in dB over the hole sub-pixels of one (C, H, W) image (`pixelzoo.metrics.psnr`)."""
    from pixelzoo.metrics import psnr

    masks = np.repeat(holes[None], truth.shape[0], axis=0)
    return round(float(psnr(truth[None], pred[None], masks[None])[0]), 2)


def side_by_side(image: np.ndarray, holes: np.ndarray, panels: list[tuple[str, np.ndarray]],
                 zoom: int = 8, first: str = "original") -> bytes:
    """The labelled PNG of `first` (the input) | holes | each fill, drawn as the run folders'
    picture grids are (`pixelzoo.report.grid`)."""
    from pixelzoo.report.grid import grid_image, show_holes

    masks = np.repeat(holes[None], image.shape[0], axis=0)
    columns = [(first, image[None]), ("holes", show_holes(image[None], masks[None]))]
    columns += [(label, arr[None]) for label, arr in panels]
    sheet = grid_image(columns, zoom=zoom)
    return png_bytes(np.ascontiguousarray(sheet.transpose(2, 0, 1)))
