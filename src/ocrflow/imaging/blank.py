"""Pages with nothing to read, found before OCR (a Tesseract reading costs ~0.5 CPU-s a page, a blank one too):
images too small to hold a line of text, and pages without ink.

The ink test runs on a box-averaged copy at about 100 dpi (a few milliseconds): averaging dissolves single
specks of scanner dust and most of the grain, while a stroke of any letter still stands out from the paper. A
pixel is ink when it differs from the paper's level (the median pixel) by more than the paper's own noise
could (`NOISE_SIGMAS` robust standard deviations, at least `MIN_INK_CONTRAST` grey levels: Tesseract still
reads text 20 levels darker than its paper); a page is blank when fewer than `MAX_INK_PIXELS` pixels are -
less than one small letter. Pages with a few dust specks, ruled lines or a
punch hole are not blank by this measure and are read as before: taking a page with text for blank loses
text, the other mistake only costs time.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from ocrflow.document import PageWarning, WarningCode

#: an image narrower or lower than this holds no line of text Tesseract can read (its smallest glyphs are
#: about 10 px high); it is not OCRed
TINY_SIDE_PX = 10
#: the ink test works at about this resolution
WORK_DPI = 100
#: grey levels a pixel must at least differ from the paper by to count as ink
MIN_INK_CONTRAST = 8
#: ...and this many standard deviations of the paper's noise
NOISE_SIGMAS = 6.0
#: fewer ink pixels than this (at WORK_DPI: a dot 0.3 mm across is ~1 px) and the page is blank
MAX_INK_PIXELS = 6
#: without a known resolution, the long side is taken for a letter page's 11 inches
_ASSUMED_LONG_SIDE_IN = 11.0


def nothing_to_read(image: Image.Image, dpi: float | None) -> PageWarning | None:
    """Why this page image needs no OCR (a `tiny_image` or `blank_page` warning), or None: read it."""
    width, height = image.size
    if min(width, height) < TINY_SIDE_PX:
        return PageWarning(code=WarningCode.TINY_IMAGE,
                           message=f"the image is {width}x{height} px: too small to hold text; not OCRed")
    if is_blank(image, dpi):
        return PageWarning(code=WarningCode.BLANK_PAGE, message="the page has no ink; not OCRed")
    return None


def ink_pixels(image: Image.Image, dpi: float | None) -> int:
    """How many pixels of a ~WORK_DPI copy of the page differ from its paper by more than its noise could."""
    pixels = _work_copy(image, dpi)
    counts = np.bincount(pixels.ravel(), minlength=256)
    paper, contrast = _paper_and_contrast(counts)
    lower, upper = max(0, paper - contrast), min(256, paper + contrast + 1)
    return int(pixels.size - counts[lower:upper].sum())


def ink_mask(image: Image.Image, dpi: float | None) -> np.ndarray:
    """Which pixels of a ~WORK_DPI copy of the page (a boolean array, rows down) are ink, as `ink_pixels`
    counts them."""
    pixels = _work_copy(image, dpi)
    paper, contrast = _paper_and_contrast(np.bincount(pixels.ravel(), minlength=256))
    return np.abs(pixels.astype(np.int16) - paper) > contrast


def _work_copy(image: Image.Image, dpi: float | None) -> np.ndarray:
    gray = image if image.mode == "L" else image.convert("L")
    dpi = dpi or max(gray.size) / _ASSUMED_LONG_SIDE_IN
    factor = max(1, round(dpi / WORK_DPI))
    small = gray.reduce(factor) if factor > 1 else gray
    return np.asarray(small, dtype=np.uint8)


def _paper_and_contrast(counts: np.ndarray) -> tuple[int, int]:
    """The paper's grey level (the median pixel) and how far from it a pixel must be to be ink."""
    paper = _median(counts)
    deviations = np.bincount(np.abs(np.arange(256) - paper), weights=counts, minlength=256)
    sigma = 1.4826 * _median(deviations)  # the median absolute deviation, as a standard deviation
    return paper, max(MIN_INK_CONTRAST, round(NOISE_SIGMAS * sigma))


def _median(counts: np.ndarray) -> int:
    """The median grey level of a histogram."""
    return int(np.searchsorted(np.cumsum(counts), counts.sum() / 2))


def is_blank(image: Image.Image, dpi: float | None) -> bool:
    return ink_pixels(image, dpi) < MAX_INK_PIXELS
