"""The combination's decisions, with stand-in engines: when the second engine reads, and which reading wins."""

from __future__ import annotations

import pytest
from PIL import Image

from ocrflow.document import BBox, Block, Line, Word
from ocrflow.engines.base import RecognizedPage
from ocrflow.engines.layered import LayeredEngine, better_reading
from ocrflow.engines.settings import EngineSettings, SecondEngineMode


def _page(words: list[tuple[str, float]], engine: str) -> RecognizedPage:
    box = BBox(x0=0.1, y0=0.1, x1=0.9, y1=0.2)
    line = Line(text=" ".join(t for t, _ in words), bbox=box,
                words=[Word(text=t, bbox=box, confidence=c) for t, c in words])
    confidence = sum(c for _, c in words) / len(words) if words else None
    return RecognizedPage(blocks=[Block(bbox=box, lines=[line])] if words else [], confidence=confidence,
                          text_orientation=0, skew_degrees=0.0, engine=engine)


class _WordList:
    """A dictionary of the words given (Tesseract's word lists are tested in test_dictionary.py)."""

    def __init__(self, words) -> None:
        self.words = {w.lower() for w in words}

    def known(self, word: str) -> bool:
        return word.lower() in self.words


SENTENCE = ["the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog", "again", "and", "again"]
WORDS = _WordList([*SENTENCE, "total"])


class _Engine:
    def __init__(self, name: str, page: RecognizedPage) -> None:
        self.name, self.page, self.calls = name, page, 0

    version = "1"

    def check_languages(self, languages) -> None:
        pass

    def dictionary(self, languages) -> _WordList:
        return WORDS

    def recognize(self, image, languages, dpi=None, alignment=None) -> RecognizedPage:
        self.calls += 1
        return self.page


WEAK = _page([("Tota1", 0.4), ("RH", 0.5), ("12.3O", 0.3)], "tesseract")
STRONG = _page([(w, 0.95) for w in SENTENCE], "tesseract")
SECOND = _page([("Total", 0.98), ("RM", 0.99), ("12.30", 0.97)], "rapidocr")
IMAGE = Image.new("L", (40, 20), 255)


def _layered(mode: SecondEngineMode, first: RecognizedPage) -> tuple[LayeredEngine, _Engine]:
    second = _Engine("rapidocr", SECOND)
    return LayeredEngine(_Engine("tesseract", first), second, EngineSettings(second_engine=mode)), second


def test_off_never_reads_again_and_names_tesseract_alone():
    engine, second = _layered(SecondEngineMode.OFF, WEAK)
    assert engine.recognize(IMAGE, ["eng"]).engine == "tesseract"
    assert second.calls == 0
    assert engine.name == "tesseract"


def test_auto_reads_a_weak_page_again_and_the_better_reading_wins():
    engine, second = _layered(SecondEngineMode.AUTO, WEAK)
    page = engine.recognize(IMAGE, ["eng"])
    assert second.calls == 1
    assert page.engine == "rapidocr" and page.text == "Total RM 12.30"


def test_auto_leaves_a_strong_page_to_tesseract():
    engine, second = _layered(SecondEngineMode.AUTO, STRONG)
    assert engine.recognize(IMAGE, ["eng"]).engine == "tesseract"
    assert second.calls == 0


def test_always_reads_every_page_again_and_keeps_the_better():
    engine, second = _layered(SecondEngineMode.ALWAYS, STRONG)
    assert engine.recognize(IMAGE, ["eng"]).engine == "tesseract"  # fewer letters read: Tesseract's page stays
    assert second.calls == 1


@pytest.mark.parametrize("confident_nonsense", [0.99, 0.9])
def test_confident_nonsense_loses_to_dictionary_words(confident_nonsense):
    words = ["the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog"]
    first = _page([(w, 0.8) for w in words], "tesseract")
    nonsense = _page([(w[::-1] + "x", confident_nonsense) for w in words], "rapidocr")
    assert better_reading(first, nonsense, WORDS).engine == "tesseract"


def test_the_second_reading_wins_by_dictionary_words_the_first_engine_did_not_read():
    """Both readings are judged by the same word list: Tesseract's garbage of a blurred page does not keep its
    place because RapidOCR's right words were not among Tesseract's own."""
    garbage = _page([("tbe", 0.7), ("qnick", 0.7), ("hrown", 0.7), ("fcx", 0.7), ("jnmps", 0.7)], "tesseract")
    right = _page([(w, 0.7) for w in ["the", "quick", "brown", "fox", "jumps"]], "rapidocr")
    assert better_reading(garbage, right, WORDS).engine == "rapidocr"


def test_an_unsure_extra_word_does_not_hand_a_sure_page_over():
    """The ruled page that reads "Phone": the detector's "5" at 0.52 on a table rule does not count."""
    first = _page([("Phone", 0.96)], "tesseract")
    second = _page([("Phone", 1.0), ("5", 0.52)], "rapidocr")
    assert better_reading(first, second, _WordList(["phone"])).engine == "tesseract"


def test_amounts_and_dates_count_as_words():
    first = _page([("Tota1", 0.9), ("l2.3O", 0.9), ("O4/22/l3", 0.9)], "tesseract")
    second = _page([("Total", 0.9), ("12.30", 0.9), ("04/22/13", 0.9)], "rapidocr")
    assert better_reading(first, second, WORDS).engine == "rapidocr"


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("OCRFLOW_SECOND_ENGINE", "always")
    monkeypatch.setenv("OCRFLOW_SECOND_ENGINE_CONFIDENCE", "0.5")
    settings = EngineSettings()
    assert settings.second_engine is SecondEngineMode.ALWAYS and settings.second_engine_confidence == 0.5


def test_a_page_of_fair_mean_confidence_but_many_doubted_words_is_read_again():
    """A scanned receipt: 0.79 mean confidence, but a fifth of its words under 0.6."""
    words = [("RM", 0.95), ("TOTAL", 0.93), ("9.00", 0.96), ("CASH", 0.94)] * 4 + [("Ro0und", 0.4)] * 4
    engine, second = _layered(SecondEngineMode.AUTO, _page(words, "tesseract"))
    engine.recognize(IMAGE, ["eng"])
    assert second.calls == 1
    sure = [(w, 0.95) for w in SENTENCE] + [("bnt", 0.5)]  # one doubted word in thirteen: not weak
    engine, second = _layered(SecondEngineMode.AUTO, _page(sure, "tesseract"))
    engine.recognize(IMAGE, ["eng"])
    assert second.calls == 0


def _lines(texts: list[str], engine: str, turn: int, tall: bool) -> RecognizedPage:
    lines = []
    for i, text in enumerate(texts):
        box = (BBox(x0=0.1 + 0.1 * i, y0=0.1, x1=0.15 + 0.1 * i, y1=0.9) if tall
               else BBox(x0=0.1, y0=0.1 + 0.1 * i, x1=0.9, y1=0.15 + 0.1 * i))
        lines.append(Line(text=text, bbox=box, words=[Word(text=text, bbox=box, confidence=0.9)]))
    return RecognizedPage(blocks=[Block(bbox=BBox(x0=0.1, y0=0.1, x1=0.9, y1=0.9), lines=lines)], confidence=0.7,
                          text_orientation=turn, skew_degrees=0.0, engine=engine)


class _TurnableEngine(_Engine):
    """Tesseract's stand-in: its profile settled on turn 0; read a quarter turned, the page reads well."""

    def __init__(self) -> None:
        super().__init__("tesseract", _lines(["tbe", "qnick", "hrown"], "tesseract", 0, tall=False))
        self.turns_read: list[int] = []

    def read_at(self, image, alignment, languages, dpi=None) -> RecognizedPage:
        self.turns_read.append(alignment.turn)
        words = SENTENCE[:5] if alignment.turn == 90 else ["fcx", "dcg"]
        return _lines(words, "tesseract", alignment.turn, tall=False)


class _Detector(_Engine):
    """RapidOCR's stand-in: at Tesseract's wrong turn its lines stand on end; at the right one they lie flat."""

    def recognize(self, image, languages, dpi=None, alignment=None) -> RecognizedPage:
        self.calls += 1
        return _lines(SENTENCE[:5], "rapidocr", alignment.turn, tall=alignment.turn == 0)


def test_lines_running_down_the_page_send_both_engines_a_quarter_turn_round():
    first, second = _TurnableEngine(), _Detector("rapidocr", SECOND)
    engine = LayeredEngine(first, second, EngineSettings(second_engine=SecondEngineMode.AUTO))
    page = engine.recognize(IMAGE, ["eng"])
    assert sorted(first.turns_read) == [90, 270] and second.calls == 2
    assert page.text_orientation == 90 and page.text.split() == SENTENCE[:5]


def test_flat_lines_trigger_no_quarter_turn():
    first, second = _TurnableEngine(), _Engine("rapidocr", _lines(SENTENCE[:5], "rapidocr", 0, tall=False))
    LayeredEngine(first, second, EngineSettings(second_engine=SecondEngineMode.AUTO)).recognize(IMAGE, ["eng"])
    assert first.turns_read == [] and second.calls == 1
