"""Tesseract's word lists, read from the traineddata the engine loads: the judge of both engines' readings."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ocrflow.engines.dictionary import Dictionary, bare_word, read_word_list
from ocrflow.engines.tesseract import default_tessdata_path

TESSDATA = default_tessdata_path()
ENGLISH = Dictionary(TESSDATA, ["eng"])


def test_english_words_are_known_in_the_case_a_page_prints_them():
    for word in ["the", "quick", "brown", "Quick", "BROWN", "Total", "TOTAL", "receipt", "Francisco"]:
        assert ENGLISH.known(word), word


def test_misreadings_are_not_words():
    for misread in ["qnick", "hrown", "Tota1", "rn0dern", "J9A0", "umosq", ""]:
        assert not ENGLISH.known(misread), misread


def test_each_language_brings_its_own_words():
    german = Dictionary(TESSDATA, ["deu"])
    assert german.known("Straße") and german.known("können")
    assert not ENGLISH.known("können")
    assert Dictionary(TESSDATA, ["eng", "deu"]).known("können")


def test_the_list_is_tesseracts_own_not_a_handful(tmp_path):
    words = read_word_list(TESSDATA / "eng.traineddata")
    assert len(words) > 100_000  # edges of a trie of ~340,000 words


def test_a_missing_or_damaged_traineddata_knows_no_word_and_raises_nothing(tmp_path):
    damaged = tmp_path / "bad.traineddata"
    damaged.write_bytes(b"\x18\x00\x00\x00" + b"\xff" * 40)
    truncated = tmp_path / "cut.traineddata"
    truncated.write_bytes((TESSDATA / "eng.traineddata").read_bytes()[:5000])
    for code in ["missing", "bad", "cut"]:
        assert not Dictionary(tmp_path, [code]).known("the")


def test_bare_word_is_the_word_without_its_punctuation():
    assert bare_word("(Sunday,") == "sunday"
    assert bare_word("“Hello!”") == "hello"


@given(st.text(max_size=30))
def test_any_text_gets_an_answer(text):
    assert ENGLISH.known(text) in (True, False)
