"""A cleaned copy of a page for a second reading: noise filtered, then binarized against the local background.

Tesseract binarizes a page with one global (Otsu) threshold, which noise, uneven lighting and faint print
(thermal receipts, a blurred fax) defeat. The copy here is filtered with a 3 x 3 median (salt-and-pepper and
grain go, strokes stay) and thresholded by Sauvola's rule: a pixel is ink when it is darker than its
neighbourhood's mean lowered by a share of how little that neighbourhood varies, T = m * (1 + k * (s / R - 1)).
Always on it helps one kind of damage and hurts another, so the engine reads it only as a second look at a
weak page and keeps whichever reading is better (`engines.tesseract`).
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

#: Sauvola's k: how far below the local mean a pixel must be, where the neighbourhood is flat
SAUVOLA_K = 0.2
#: Sauvola's R: the dynamic range of the standard deviation (8-bit grey)
SAUVOLA_R = 128.0
#: the neighbourhood's side, in inches (about two letter heights of 10-pt print)
WINDOW_INCHES = 0.1
#: the neighbourhood statistics are taken at about this resolution
_STATS_DPI = 75
#: without a known resolution, the long side is taken for a letter page's 11 inches
_ASSUMED_LONG_SIDE_IN = 11.0


def cleaned(gray: Image.Image, dpi: float | None) -> Image.Image:
    """The page median-filtered and Sauvola-binarized: black ink (0) on white (255), the same size.

    The neighbourhood statistics are taken on a copy reduced to about `_STATS_DPI` (they vary over a window's
    width, not a pixel's) and the threshold enlarged back, so the copy costs a few full-size arrays at most."""
    gray = gray if gray.mode == "L" else gray.convert("L")
    dpi = dpi or max(gray.size) / _ASSUMED_LONG_SIDE_IN
    filtered = gray.filter(ImageFilter.MedianFilter(3))
    pixels = np.asarray(filtered, dtype=np.float32)
    factor = max(1, round(dpi / _STATS_DPI))
    small_mean = np.asarray(filtered.reduce(factor), dtype=np.float32) if factor > 1 else pixels
    squares = Image.fromarray(pixels * pixels, mode="F")
    small_squares = np.asarray(squares.reduce(factor) if factor > 1 else squares, dtype=np.float32)
    window = max(3, round(WINDOW_INCHES * dpi / factor) | 1)
    mean = _box_mean(small_mean, window)
    spread = np.sqrt(np.maximum(_box_mean(small_squares, window) - mean * mean, 0.0))
    small_threshold = mean * (1.0 + SAUVOLA_K * (spread / SAUVOLA_R - 1.0))
    threshold = Image.fromarray(small_threshold.astype(np.float32), mode="F").resize(gray.size, Image.BILINEAR)
    return Image.fromarray(np.where(pixels > np.asarray(threshold), 255, 0).astype(np.uint8))


def _box_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Each pixel's mean over the window centred on it (the window clipped at the edges), from a summed-area
    table."""
    half = window // 2
    rows, cols = values.shape
    table = np.zeros((rows + 1, cols + 1), dtype=np.float64)
    np.cumsum(np.cumsum(values, axis=0, dtype=np.float64), axis=1, out=table[1:, 1:])
    r0 = np.clip(np.arange(rows) - half, 0, rows)
    r1 = np.clip(np.arange(rows) + half + 1, 0, rows)
    c0 = np.clip(np.arange(cols) - half, 0, cols)
    c1 = np.clip(np.arange(cols) + half + 1, 0, cols)
    total = table[r1][:, c1] - table[r0][:, c1] - table[r1][:, c0] + table[r0][:, c0]
    return (total / np.outer(r1 - r0, c1 - c0)).astype(np.float32)
