"""The second engine: RapidOCR (PP-OCRv6 small detector and recognizer on onnxruntime), whose models ship inside
the `rapidocr` wheel - it runs offline, with no download at first use.

It reads what Tesseract reads badly (receipts, photos, noisy or faint scans), at several times Tesseract's CPU,
so it is run only on the pages Tesseract flags (`engines.layered`). Its lines come back sorted top to bottom,
which interleaves columns: `engines.reading_order` groups them into blocks and orders those. Words are split
from the recognizer's character positions (RapidOCR's word boxes), so every word has its own box, inside its
line's box.

onnxruntime and the models are imported and loaded on first use only, once per process, and shared by every
thread: an `OCRFLOW_SECOND_ENGINE=off` process never imports them. One page is read at a time (a lock): the
engine runs on weak pages only, and two readings at once took the process past 1.4 GB.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from collections.abc import Sequence
from importlib import metadata
from typing import Any

import numpy as np
from PIL import Image

from ocrflow.document import BBox, Block, Line, Point, Word
from ocrflow.engines.base import RecognizedPage
from ocrflow.engines.reading_order import Rect, order_rects, table_rows
from ocrflow.errors import OcrEngineError
from ocrflow.geometry import clamp01, union_boxes
from ocrflow.imaging.alignment import Alignment, back_mapping, upright

IDENTITY = Alignment(0, 0.0)
#: the longest side RapidOCR reads a page at (its own `max_side_len`)
MAX_SIDE = 2000
#: a detector box whose darkest and lightest pixels differ less than this has no ink clear enough to fit to
MIN_INK_CONTRAST = 40
#: recognizer scores below this are dropped as noise (RapidOCR's own default)
MIN_LINE_SCORE = 0.5

_LOAD_LOCK = threading.Lock()
_READERS: dict[int, Any] = {}
#: one page at a time: a reading's working memory is ~0.5 GB on a full page, two at once passed 1.4 GB peak
_RUN_LOCK = threading.Lock()


def _libc_trim():
    """glibc's malloc_trim, which hands freed heap back to the system (onnxruntime's buffers of one page's
    shapes otherwise stay: 0.7 GB resident after six pages instead of 0.2), or nothing off glibc."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


_TRIM = _libc_trim()


def _reader(threads: int) -> Any:
    """The process's RapidOCR pipeline (models loaded once). Every option is set here, never per call: a call's
    options would change the shared object under the other threads."""
    with _LOAD_LOCK:
        if threads not in _READERS:
            try:
                from rapidocr import RapidOCR
            except ImportError as exc:  # an install without the package: say so, typed
                raise OcrEngineError(f"the second engine is not installed ({exc.name})") from None
            _READERS[threads] = RapidOCR(params={
                "Global.log_level": "error",
                "Global.return_word_box": True,
                "Global.use_cls": False,  # pages arrive uprighted (Tesseract found the turn)
                # the detector reads the page at its size (at most MAX_SIDE) instead of scaling its short side up
                # to 736 px: a 460 x 1,000 px receipt cost 2.5 CPU-s, now 1.6, its words read as well or better
                # (4 receipts: bag-of-words error 7.9 % -> 6.8 %; phototest blurred at radius 3: 9.2 % -> 10.0 %)
                "Det.limit_type": "max", "Det.limit_side_len": MAX_SIDE,
                "EngineConfig.onnxruntime.intra_op_num_threads": threads,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            })
        return _READERS[threads]


class RapidOcrEngine:
    name = "rapidocr"

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads

    @property
    def version(self) -> str:
        try:
            return metadata.version("rapidocr")
        except metadata.PackageNotFoundError:
            return "not installed"

    def load(self) -> None:
        """Import onnxruntime and load the models now (a cold start measured, or paid before the first page)."""
        _reader(self.threads)

    def recognize(self, image: Image.Image, languages: Sequence[str], dpi: float | None = None,
                  alignment: Alignment = IDENTITY) -> RecognizedPage:
        """Read `image` uprighted by `alignment` (the turn and skew Tesseract settled on); boxes on `image` as
        given. The models read Latin script of every language Tesseract has here, so `languages` is not used."""
        uprighted = upright(image, alignment)
        mapping = back_mapping(image, uprighted, alignment)
        # RapidOCR shrinks a page to MAX_SIDE before reading it: shrunk here, from grey, the full-size colour
        # copies (3 bytes a pixel, twice) are never made - 1.3 GB peak RSS on an 800-dpi page otherwise
        small, scale = shrunk(uprighted)
        grey = np.asarray(small if small.mode == "L" else small.convert("L"))
        reader = _reader(self.threads)
        with _RUN_LOCK:
            output = reader(np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2)))
            if _TRIM is not None:
                _TRIM(0)
        width, height = image.size
        rotated = not alignment.is_identity

        def place(points: Sequence[Sequence[float]]) -> tuple[BBox, list[Point] | None]:
            corners = [mapping.point(float(x) / scale, float(y) / scale) for x, y in points]
            polygon = [Point(x=clamp01(x / width), y=clamp01(y / height)) for x, y in corners]
            bbox = BBox(x0=min(p.x for p in polygon), y0=min(p.y for p in polygon),
                        x1=max(p.x for p in polygon), y1=max(p.y for p in polygon))
            return bbox, polygon if rotated else None

        boxes = output.boxes if output.boxes is not None else []
        words_of_lines = output.word_results or [()] * len(boxes)
        kept = [(box, text, float(score), words) for box, text, score, words
                in zip(boxes, output.txts or (), output.scores or (), words_of_lines, strict=False)
                if text.strip() and score >= MIN_LINE_SCORE]
        # reading order on the uprighted page, where lines run left to right
        rects = [(min(p[0] for p in box), min(p[1] for p in box), max(p[0] for p in box), max(p[1] for p in box))
                 for box, *_ in kept]
        rows = table_rows(rects, [text for _, text, _, _ in kept])
        row_rects = [_union_rect([rects[i] for i in row]) for row in rows]
        blocks = []
        for group in order_rects(row_rects):
            lines = []
            for row, row_rect in ((rows[i], row_rects[i]) for i in group):
                line_words = []
                for box, text, score, words in (kept[i] for i in row):
                    segment_box, _ = place(ink_box(grey, box))
                    line_words += _words([(t, s, ink_box(grey, points)) for t, s, points in words], text, score,
                                         segment_box, place)
                if not line_words:
                    continue
                corners = ink_box(grey, _corners(row_rect)) if len(row) == 1 else _corners(
                    _union_rect([_points_rect(ink_box(grey, kept[i][0])) for i in row]))
                line_box, line_polygon = place(corners)
                score = min(kept[i][2] for i in row)
                lines.append(Line(text=" ".join(w.text for w in line_words), bbox=line_box,
                                  polygon=line_polygon, confidence=round(score, 4), words=line_words))
            if lines:
                scores = [ln.confidence for ln in lines if ln.confidence is not None]
                blocks.append(Block(bbox=union_boxes([ln.bbox for ln in lines]),
                                    confidence=round(sum(scores) / len(scores), 4) if scores else None, lines=lines))
        confidences = [w.confidence for b in blocks for ln in b.lines for w in ln.words if w.confidence is not None]
        confidence = round(sum(confidences) / len(confidences), 4) if confidences else None
        return RecognizedPage(blocks=blocks, confidence=confidence, text_orientation=alignment.turn,
                              skew_degrees=alignment.skew, engine=self.name)


def shrunk(image: Image.Image) -> tuple[Image.Image, float]:
    """`image` with its longest side at most MAX_SIDE (what RapidOCR reads), and the scale it was shrunk by."""
    scale = min(1.0, MAX_SIDE / max(image.size))
    if scale == 1.0:
        return image, scale
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0), scale


def _union_rect(rects: Sequence[Rect]) -> Rect:
    return (min(r[0] for r in rects), min(r[1] for r in rects), max(r[2] for r in rects), max(r[3] for r in rects))


def _points_rect(points: Sequence[Sequence[float]]) -> Rect:
    return (min(p[0] for p in points), min(p[1] for p in points), max(p[0] for p in points), max(p[1] for p in points))


def _corners(rect: Rect) -> list[tuple[float, float]]:
    x0, y0, x1, y1 = rect
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def ink_box(grey: np.ndarray, points: Sequence[Sequence[float]]) -> list[tuple[float, float]]:
    """The corners of the ink inside a detector box (`points` on `grey`, the page as read). The detector's
    boxes are grown around the text (its unclip ratio): a word's box came out ~1.5x as tall as Tesseract's ink
    box. Unchanged where the box holds no clear ink (too little contrast)."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, y0 = max(0, int(min(xs))), max(0, int(min(ys)))
    x1, y1 = min(grey.shape[1], int(np.ceil(max(xs)))), min(grey.shape[0], int(np.ceil(max(ys))))
    region = grey[y0:y1, x0:x1]
    if region.size == 0:
        return [tuple(map(float, p)) for p in points]
    low, high = np.percentile(region, (2, 98))
    if high - low < MIN_INK_CONTRAST:
        return [tuple(map(float, p)) for p in points]
    ink = region < (low + high) / 2
    rows = np.flatnonzero(ink.sum(axis=1) >= max(1, 0.01 * region.shape[1]))
    columns = np.flatnonzero(ink.any(axis=0))
    if rows.size == 0 or columns.size == 0:
        return [tuple(map(float, p)) for p in points]
    left, top, right, bottom = x0 + columns[0], y0 + rows[0], x0 + columns[-1] + 1, y0 + rows[-1] + 1
    return [(float(left), float(top)), (float(right), float(top)), (float(right), float(bottom)),
            (float(left), float(bottom))]


def _words(raw: Sequence[tuple[str, float, Sequence[Sequence[float]]]], line_text: str, line_score: float,
           line_box: BBox, place) -> list[Word]:
    """A line's words from the recognizer's character positions, each box clipped to its line's box; the line
    split evenly by letters when the recognizer gave no positions."""
    words = []
    for text, score, points in raw:
        text = text.strip()
        if not text:
            continue
        box, polygon = place(points)
        box = _clip(box, line_box)
        words.append(Word(text=text, bbox=box, polygon=polygon, confidence=round(float(score), 4)))
    if words and " ".join(w.text for w in words).split() == line_text.split():
        return words
    return _even_split(line_text, line_score, line_box)


def _clip(box: BBox, outer: BBox) -> BBox:
    x0, x1 = min(max(box.x0, outer.x0), outer.x1), max(min(box.x1, outer.x1), outer.x0)
    y0, y1 = min(max(box.y0, outer.y0), outer.y1), max(min(box.y1, outer.y1), outer.y0)
    return BBox(x0=x0, y0=y0, x1=max(x0, x1), y1=max(y0, y1))


def _even_split(line_text: str, score: float, line_box: BBox) -> list[Word]:
    tokens = line_text.split()
    total = sum(len(t) for t in tokens) + max(0, len(tokens) - 1)
    words, position = [], 0
    for token in tokens:
        x0 = line_box.x0 + line_box.width * position / total
        position += len(token)
        x1 = line_box.x0 + line_box.width * position / total
        position += 1
        words.append(Word(text=token, bbox=BBox(x0=x0, y0=line_box.y0, x1=x1, y1=line_box.y1),
                          confidence=round(score, 4)))
    return words

