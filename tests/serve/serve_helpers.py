"""Small helpers for the `pixelzoo serve` tests (imported by them): PNGs, data URLs, masks."""

from __future__ import annotations

import base64

import cv2
import numpy as np


def png(chw_or_hw: np.ndarray) -> bytes:
    arr = chw_or_hw if chw_or_hw.ndim == 2 else chw_or_hw.transpose(1, 2, 0)[:, :, ::-1]
    ok, data = cv2.imencode(".png", np.ascontiguousarray(arr))
    assert ok
    return data.tobytes()


def from_url(url: str) -> np.ndarray:
    """A PNG data URL -> uint8 (C, H, W) RGB."""
    assert url.startswith("data:image/png;base64,")
    bgr = cv2.imdecode(np.frombuffer(base64.b64decode(url.split(",", 1)[1]), np.uint8),
                       cv2.IMREAD_COLOR)
    return np.ascontiguousarray(bgr[:, :, ::-1].transpose(2, 0, 1))


def to_url(chw: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(png(chw)).decode()


def holes_string(holes: np.ndarray) -> str:
    return "".join("1" if v else "0" for v in holes.reshape(-1))


def box(top: int, left: int, h: int, w: int, size: int = 36) -> np.ndarray:
    m = np.zeros((size, size), bool)
    m[top:top + h, left:left + w] = True
    return m
