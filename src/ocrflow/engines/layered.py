"""Tesseract first, RapidOCR on the pages it reads weakly; the better reading of a page wins.

Tesseract reads every page (turn, skew and the orientation retries are its: `engines.tesseract`). A page whose
reading is weak - mean word confidence below `second_engine_confidence`, fewer than `second_engine_few_words`
words, or at least `second_engine_unsure_share` of its words under 0.6 confidence - is read again by RapidOCR
on the same uprighted image (Tesseract's turn and skew; the boxes mapped back onto the page as given). Both
readings are scored alike, confidence x letters of their sure words, with words at a quarter that are neither
numbers, nor in the languages' word lists (Tesseract's, read from its traineddata: `engines.dictionary`), nor
read by both engines: a recognizer that is confident about nonsense does not win by it. The second reading must
score 10 % higher to replace the first. The winner's name is the page's `engine`.

`OCRFLOW_SECOND_ENGINE=off` reads with Tesseract alone and never imports onnxruntime; `always` reads every page
with both.

Measured (bench/real_bench.py, 18 real pages and 90 damaged copies, `off` then `auto`; docs/PERFORMANCE.md):
bag-of-words error on the clean pages 7.5 % -> 4.8 %, the damaged ones 8.7 % -> 5.2 %, the receipts 18.5 % ->
6.6 %. The pages that are no receipts cost what they did (1.31 -> 1.34 CPU-s); a receipt RapidOCR reads costs
~1.6 CPU-s more. A confidence trigger at 0.85 instead of the unsure-word share sent a clean typewritten page too
and cost the clean pages 1.7x.

On AWS the Lambda layer leaves RapidOCR out (it does not fit beside Tesseract in 250 MB): the second engine is a
container-image function of its own (`engines.remote`), named by `OCRFLOW_SECOND_ENGINE_FUNCTION`; when it
cannot answer, the page keeps Tesseract's reading with the warning `second_engine_failed`. Where the package is
not installed and no function is named, `auto` reads with Tesseract alone and `always` fails typed on the
first page.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import replace

from PIL import Image

from ocrflow.document import PageWarning, WarningCode
from ocrflow.engines.base import RecognizedPage
from ocrflow.engines.dictionary import Dictionary, bare_word
from ocrflow.engines.rapid import RapidOcrEngine
from ocrflow.engines.remote import RemoteRapidEngine, SecondEngineUnavailable
from ocrflow.engines.settings import EngineSettings, SecondEngineMode
from ocrflow.engines.tesseract import TesseractEngine, with_warnings, word_score
from ocrflow.imaging.alignment import Alignment

SecondEngine = RapidOcrEngine | RemoteRapidEngine


class LayeredEngine:
    def __init__(self, first: TesseractEngine | None = None, second: SecondEngine | None = None,
                 settings: EngineSettings | None = None) -> None:
        self.settings = settings or EngineSettings()
        self.first = first or TesseractEngine()
        self.second = second or default_second_engine(self.settings)

    @property
    def enabled(self) -> bool:
        return self.settings.second_engine is not SecondEngineMode.OFF and self.second is not None

    @property
    def name(self) -> str:
        return f"{self.first.name}+{self.second.name}" if self.enabled else self.first.name

    @property
    def version(self) -> str:
        return f"{self.first.version}+{self.second.version}" if self.enabled else self.first.version

    def check_languages(self, languages: Sequence[str]) -> None:
        self.first.check_languages(languages)

    def needs_second_reading(self, reading: RecognizedPage) -> bool:
        if not self.enabled:
            return False
        if self.settings.second_engine is SecondEngineMode.ALWAYS:
            return True
        return (reading.confidence is None or reading.confidence < self.settings.second_engine_confidence
                or reading.word_count < self.settings.second_engine_few_words
                or unsure_share(reading) >= self.settings.second_engine_unsure_share)

    def recognize(self, image: Image.Image, languages: Sequence[str], dpi: float | None = None) -> RecognizedPage:
        gray = image if image.mode == "L" else image.convert("L")
        first = self.first.recognize(gray, languages, dpi)
        if not self.needs_second_reading(first):
            return first
        alignment = Alignment(first.text_orientation or 0, first.skew_degrees or 0.0)
        dictionary = self.first.dictionary(languages)
        try:
            second = self.second.recognize(gray, languages, dpi, alignment=alignment)
            if lines_run_down(second, gray.size):
                first, second = self._turned_a_quarter(gray, languages, dpi, first, second, dictionary)
        except SecondEngineUnavailable as exc:  # the function throttled or failed: Tesseract's reading stands
            warning = PageWarning(code=WarningCode.SECOND_ENGINE_FAILED,
                                  message=f"read by Tesseract alone: {exc}"[:500])
            return replace(first, warnings=[*first.warnings, warning])
        return better_reading(first, second, dictionary)

    def _turned_a_quarter(self, gray: Image.Image, languages: Sequence[str], dpi: float | None,
                          first: RecognizedPage, second: RecognizedPage,
                          dictionary: Dictionary) -> tuple[RecognizedPage, RecognizedPage]:
        """The detector found the lines running down the page Tesseract uprighted: its turn is a quarter off (a
        receipt photographed sideways, whose short lines fooled the profile). Tesseract reads the page turned
        a quarter either way; where one of those reads more words it knows, both engines read it that way."""
        turn = first.text_orientation or 0
        readings = [self.first.read_at(gray, Alignment((turn + quarter) % 360, 0.0), languages, dpi)
                    for quarter in (90, 270)]
        turned = max(readings, key=lambda r: plausibility(r, dictionary.known))
        if plausibility(turned, dictionary.known) <= plausibility(first, dictionary.known):
            return first, second
        alignment = Alignment(turned.text_orientation or 0, turned.skew_degrees or 0.0)
        return turned, self.second.recognize(gray, languages, dpi, alignment=alignment)


def default_second_engine(settings: EngineSettings) -> SecondEngine | None:
    """The function named by `OCRFLOW_SECOND_ENGINE_FUNCTION` (on AWS), else RapidOCR in this process where it
    is installed (or asked for `always`: it then fails typed on the first page), else none."""
    if settings.second_engine is SecondEngineMode.OFF:
        return None
    if settings.second_engine_function:
        return RemoteRapidEngine(settings.second_engine_function)
    if second_engine_installed() or settings.second_engine is SecondEngineMode.ALWAYS:
        return RapidOcrEngine(threads=settings.second_engine_threads)
    return None


def second_engine_installed() -> bool:
    """Whether RapidOCR can be imported (found without importing it, nor onnxruntime)."""
    return importlib.util.find_spec("rapidocr") is not None


#: a word read with less confidence than this does not count for its reading: on a page of few words, one
#: detection on a ruled line ("5" at 0.52 under a table's rule) would otherwise outweigh a sure reading
UNSURE_WORD = 0.6
#: the second reading replaces the first only when it scores this much higher: a page Tesseract read surely
#: ("Phone" at 0.96) is not handed over for the same word at 1.0 and what else the detector found
SWITCH_MARGIN = 1.1


def better_reading(first: RecognizedPage, second: RecognizedPage, dictionary: Dictionary) -> RecognizedPage:
    """The second reading when it scores clearly higher (`plausibility`, by SWITCH_MARGIN), else the first."""
    both = _words(first) & _words(second)

    def known(word: str) -> bool:
        return word in both or dictionary.known(word)

    if plausibility(second, known) > SWITCH_MARGIN * plausibility(first, known):
        return with_warnings(second)
    return first


def _words(page: RecognizedPage) -> set[str]:
    return {bare_word(w.text) for w in page.words}


def plausibility(page: RecognizedPage, known: Callable[[str], bool]) -> float:
    """Confidence x letters of the reading's sure words; a word that is no number, not in the languages'
    dictionaries and not read by both engines counts a quarter. Both readings are judged by the same words: a
    recognizer confident about nonsense does not win by it, nor one whose dictionary the other lacks."""
    return sum(word_score(w.text, w.confidence, _is_number(w.text) or known(bare_word(w.text)))
               for w in page.words if (w.confidence or 0.0) >= UNSURE_WORD)


def lines_run_down(page: RecognizedPage, size: tuple[int, int]) -> bool:
    """Whether most of the reading's lines stand taller than wide on the uprighted page (at least three, and
    twice as many as lie flat): text read at the wrong quarter turn. RapidOCR still reads such lines (it turns a
    tall crop before recognizing it), but in the order of a page on its side."""
    width, height = size
    sideways = (page.text_orientation or 0) % 180 == 90
    tall = flat = 0
    for line in (line for block in page.blocks for line in block.lines):
        across, down = (line.bbox.x1 - line.bbox.x0) * width, (line.bbox.y1 - line.bbox.y0) * height
        if sideways:
            across, down = down, across
        tall += down > 1.5 * across
        flat += across > 1.5 * down
    return tall >= 3 and tall > 2 * flat


def unsure_share(page: RecognizedPage) -> float:
    """The share of the reading's words read with less confidence than UNSURE_WORD: a page whose mean confidence
    looks fair (a receipt at 0.79) can still hold many words the engine doubts."""
    words = page.words
    return sum((w.confidence or 0.0) < UNSURE_WORD for w in words) / len(words) if words else 1.0


def _is_number(text: str) -> bool:
    """An amount, a date, a phone number: digits with their punctuation ("12.50", "04/22/13", "+1-415")."""
    digits = sum(ch.isdigit() for ch in text)
    return digits > 0 and digits >= sum(ch.isalpha() for ch in text) * 2
