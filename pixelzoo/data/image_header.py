"""An image's width and height read from its file header, before anything is decoded.

A PNG of a few kilobytes can claim 50,000 x 50,000 pixels: decoding it asks for gigabytes (or,
compressed well, really fills them). `check_size` reads the size the header claims for the
formats OpenCV decodes (PNG, JPEG, GIF, BMP, WebP, TIFF, PNM) and refuses more than
`MAX_PIXELS` before a decoder runs. A header it cannot parse is left to the decoder, whose own
errors are reported as bad images; this module does not validate files otherwise.
"""

from __future__ import annotations

import re
import struct

#: 64 megapixels: larger than any photo a phone takes, far below what would exhaust memory.
MAX_PIXELS = 64_000_000


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) the header of `data` claims, or None if the format is not recognised."""
    try:
        if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
            return struct.unpack(">II", data[16:24])
        if data[:6] in (b"GIF87a", b"GIF89a"):
            return struct.unpack("<HH", data[6:10])
        if data.startswith(b"BM") and len(data) >= 26:
            w, h = struct.unpack("<ii", data[18:26])
            return abs(w), abs(h)
        if data.startswith(b"\xff\xd8"):
            return _jpeg_size(data)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return _webp_size(data)
        if data[:4] in (b"II*\x00", b"MM\x00*"):
            return _tiff_size(data)
        m = re.match(rb"P[1-7]\s+(?:#[^\n]*\n\s*)*(\d+)\s+(?:#[^\n]*\n\s*)*(\d+)", data[:512])
        if m:
            return int(m.group(1)), int(m.group(2))
    except (struct.error, ValueError, IndexError):
        return None
    return None


def check_size(data: bytes, max_pixels: int = MAX_PIXELS) -> str | None:
    """Why an image must not be decoded (its claimed size), or None."""
    size = image_size(data)
    if size is None:
        return None
    w, h = size
    if w * h > max_pixels:
        return (f"its header claims {w}x{h} pixels, more than the {max_pixels / 1e6:g} "
                "megapixels pixelzoo decodes; shrink the image first")
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length field
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2:i + 4])
        # start of frame: every SOFn but DHT (C4), JPG (C8) and DAC (CC)
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack(">HH", data[i + 5:i + 9])
            return w, h
        i += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    kind = data[12:16]
    if kind == b"VP8X":
        w = int.from_bytes(data[24:27], "little") + 1
        h = int.from_bytes(data[27:30], "little") + 1
        return w, h
    if kind == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if kind == b"VP8 ":
        w, h = struct.unpack("<HH", data[26:30])
        return w & 0x3FFF, h & 0x3FFF
    return None


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    end = "<" if data[:2] == b"II" else ">"
    (offset,) = struct.unpack(end + "I", data[4:8])
    (count,) = struct.unpack(end + "H", data[offset:offset + 2])
    found: dict[int, int] = {}
    for k in range(min(count, 512)):
        entry = data[offset + 2 + 12 * k: offset + 14 + 12 * k]
        tag, kind = struct.unpack(end + "HH", entry[:4])
        if tag in (256, 257):  # ImageWidth, ImageLength: SHORT (3) or LONG (4)
            fmt = end + ("H" if kind == 3 else "I")
            found[tag] = struct.unpack(fmt, entry[8:8 + struct.calcsize(fmt)])[0]
    if 256 in found and 257 in found:
        return found[256], found[257]
    return None
