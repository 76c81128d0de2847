"""Find how a page's text lines lie (turned 0/90 degrees, skewed a few degrees) from its projection profile,
and the exact rotation that uprights it for OCR - plus the inverse, to map OCR boxes back onto the page.

The profile method: text lines make the ink's row histogram spiky; it is spikiest when the rows run along
the lines. Scoring candidate angles on a downsampled page costs a few milliseconds. Only the ink's edges are
profiled (ink pixels with paper beside them): a solid shape - a drawn disc, a photo, a black scan border - would
otherwise outweigh the text (OCRmyPDF's aspect.pdf, a disc above one line of text, read as turned 90 degrees
and skewed 9.7).

The profile tells lines from columns, not up from down, and on some pages (a 150-dpi book page with a large
illustration, narrow columns) it barely prefers one family of turns (0/180 or 90/270) over the other: when it
prefers turning such a page, the estimate names the best alignment of the other family as a rival, and the
engine decides between them (`engines.tesseract`). A large skew the profile does not clearly prefer over none
has "not deskewed" as its rival.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

_WORK_WIDTH = 700          # the profile is computed on a page about this many pixels wide
_MAX_POINTS = 60_000       # ink pixels sampled
_COARSE = np.arange(-10.0, 10.01, 0.5)
#: the best turn family must profile this many times spikier than the other to be taken without a check
TURN_MARGIN = 1.5
#: a skew larger than this (degrees) is checked against not deskewing unless it profiles this much better
LARGE_SKEW = 3.0
SKEW_MARGIN = 1.3


@dataclass(frozen=True)
class Alignment:
    """How to upright a page: rotate it counter-clockwise by `turn + skew` degrees."""

    turn: int      # 0/90/180/270: the text is turned this far clockwise
    skew: float    # small residual angle in degrees, counter-clockwise positive

    @property
    def angle(self) -> float:
        return self.turn + self.skew

    @property
    def is_identity(self) -> bool:
        return self.turn == 0 and abs(self.skew) < 0.05


@dataclass(frozen=True)
class AlignmentEstimate:
    """The profile's best alignment, and the ones it cannot rule out (best first)."""

    best: Alignment
    rivals: tuple[Alignment, ...] = ()
    #: the other turn family is among the rivals: the profile could not tell lines from columns
    turn_unclear: bool = False


def _ink_points(image: Image.Image) -> np.ndarray | None:
    scale = min(1.0, _WORK_WIDTH / max(image.width, image.height) * 1.4)
    small = image.convert("L")
    if scale < 1.0:
        small = small.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                             Image.Resampling.BOX)
    pixels = np.asarray(small, dtype=np.uint8)
    threshold = min(160, int(pixels.mean()) - 40)
    ink = pixels < threshold
    inside = ink.copy()  # ink with ink on all four sides
    inside[1:, :] &= ink[:-1, :]
    inside[:-1, :] &= ink[1:, :]
    inside[:, 1:] &= ink[:, :-1]
    inside[:, :-1] &= ink[:, 1:]
    ys, xs = np.nonzero(ink & ~inside)
    if len(xs) < 200:
        return None  # a blank page: nothing to align
    if len(xs) > _MAX_POINTS:
        pick = np.random.default_rng(0).choice(len(xs), _MAX_POINTS, replace=False)
        xs, ys = xs[pick], ys[pick]
    return np.stack([xs.astype(np.float64), ys.astype(np.float64)])


def _score(points: np.ndarray, degrees: float) -> float:
    """Spikiness of the row profile after rotating the page counter-clockwise by `degrees`."""
    theta = math.radians(degrees)
    # image coordinates have y pointing down; a counter-clockwise turn on screen maps (x, y) to:
    rows = points[0] * math.sin(theta) + points[1] * math.cos(theta)
    histogram = np.bincount((rows - rows.min()).astype(np.int64))
    return float(np.dot(histogram, histogram))


def estimate_alignment(image: Image.Image) -> Alignment:
    """The turn (0 or 90; 180/270 need the OCR engine's view) and skew that upright the text."""
    return profile_alignment(image).best


def profile_alignment(image: Image.Image) -> AlignmentEstimate:
    """The best turn (0 or 90) and skew by the profile, with the rivals it cannot rule out."""
    points = _ink_points(image)
    if points is None:
        return AlignmentEstimate(Alignment(0, 0.0))
    families = {turn: _best_in_family(points, turn) for turn in (0, 90)}
    (best_score, best), (other_score, other) = sorted(families.values(), key=lambda found: -found[0])
    rivals = []
    # turning a page is a correction that must be sure; reading one as it is costs little when it is wrong (a
    # weak reading gets a second look at other turns)
    turn_unclear = best.turn != 0 and best_score < other_score * TURN_MARGIN
    if turn_unclear:
        rivals.append(other)
    if abs(best.skew) > LARGE_SKEW and best_score < _score(points, best.turn) * SKEW_MARGIN:
        rivals.append(Alignment(best.turn, 0.0))
    return AlignmentEstimate(best, tuple(rivals), turn_unclear)


def _best_in_family(points: np.ndarray, turn: int) -> tuple[float, Alignment]:
    coarse = max(_COARSE, key=lambda a: _score(points, turn + a))
    fine = max(np.arange(coarse - 0.5, coarse + 0.51, 0.1), key=lambda a: _score(points, turn + a))
    skew = -round(float(fine), 1)  # the profile angle is the content's tilt; uprighting undoes it
    return _score(points, turn + fine), Alignment(turn, 0.0 if abs(skew) < 0.15 else skew)


def upright(image: Image.Image, alignment: Alignment) -> Image.Image:
    """The page rotated so its text runs left to right; for OCR only, never for output."""
    if alignment.is_identity:
        return image
    if abs(alignment.skew) < 0.05:
        transpose = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180,
                     270: Image.Transpose.ROTATE_270}[alignment.turn]
        return image.transpose(transpose)
    return image.rotate(alignment.angle, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=255)


@dataclass(frozen=True)
class BackMapping:
    """Maps points of the uprighted image back onto the original page image."""

    angle: float
    source_size: tuple[int, int]
    upright_size: tuple[int, int]

    def point(self, x: float, y: float) -> tuple[float, float]:
        theta = math.radians(self.angle)
        cx, cy = self.upright_size[0] / 2, self.upright_size[1] / 2
        dx, dy = x - cx, y - cy
        # undo a counter-clockwise screen rotation (y down) by theta
        ox = dx * math.cos(theta) - dy * math.sin(theta)
        oy = dx * math.sin(theta) + dy * math.cos(theta)
        return ox + self.source_size[0] / 2, oy + self.source_size[1] / 2


def back_mapping(source: Image.Image, uprighted: Image.Image, alignment: Alignment) -> BackMapping:
    return BackMapping(alignment.angle, source.size, uprighted.size)
