"""hOCR and ALTO from the normalized document: ALTO validates against the official v4.4 schema (shipped in
schemas/), hOCR carries its specification's required metadata, classes and `title` properties, and an hOCR
file read back keeps every word and box. Documents vary widely (hypothesis): any text, boxes, confidences."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from ocrflow.document import BBox, Block, Document, Line, Page, ProviderInfo, Source, Timings, Word
from ocrflow.formats.alto import to_alto
from ocrflow.formats.hocr import read_hocr, to_hocr
from ocrflow.formats.pixels import page_pixels, xml_text
from tests.alto_schema import load_alto_schema


@pytest.fixture(scope="module")
def alto_schema() -> etree.XMLSchema:
    return load_alto_schema()


def _word(text: str, x: float, y: float, confidence: float | None = 0.9) -> Word:
    return Word(text=text, bbox=BBox(x0=x, y0=y, x1=min(1.0, x + 0.1), y1=min(1.0, y + 0.03)), confidence=confidence)


def document(pages: list[Page], languages=("eng",)) -> Document:
    now = datetime(2026, 12, 7, tzinfo=UTC)
    return Document(provider=ProviderInfo(name="tesseract", engine="tesseract", version="5.5.4",
                                          languages=list(languages)),
                    source=Source(media_type="application/pdf", bytes=10, sha256="0" * 64, page_count=len(pages),
                                  filename="scan & co <1>.pdf"),
                    pages=pages, text=Document.join_pages(pages),
                    timings=Timings(started_at=now, finished_at=now, total_seconds=0))


def sample() -> Document:
    words = [_word("The", 0.1, 0.1), _word("quick", 0.25, 0.1, None), _word("brown", 0.4, 0.1, 0.5)]
    line = Line(text="The quick brown", bbox=BBox(x0=0.1, y0=0.1, x1=0.5, y1=0.13), confidence=0.8, words=words)
    no_boxes = Line(text="fox & <dog>", words=[Word(text="fox"), Word(text="&"), Word(text="<dog>")])
    block = Block(bbox=BBox(x0=0.1, y0=0.1, x1=0.5, y1=0.2), lines=[line, no_boxes], language="eng")
    scanned = Page(index=0, width=612, height=792, unit="pt", dpi=300, blocks=[block], text=block.text)
    photo = Page(index=1, width=1000, height=2000, unit="px", blocks=[
        Block(bbox=BBox(x0=0, y0=0, x1=1, y1=1), lines=[Line(text="Total", words=[_word("Total", 0.5, 0.5)])])])
    return document([scanned, photo], languages=("deu", "eng"))


def test_alto_validates_against_the_official_v4_schema(alto_schema):
    tree = etree.fromstring(to_alto(sample()))
    alto_schema.assertValid(tree)
    ns = {"a": "http://www.loc.gov/standards/alto/ns-v4#"}
    assert tree.findtext("a:Description/a:MeasurementUnit", namespaces=ns) == "pixel"
    pages = tree.findall(".//a:Page", ns)
    assert [(p.get("WIDTH"), p.get("HEIGHT")) for p in pages] == [("2550", "3300"), ("1000", "2000")]
    strings = tree.findall(".//a:String", ns)
    assert [s.get("CONTENT") for s in strings] == ["The", "quick", "brown", "fox", "&", "<dog>", "Total"]
    the = strings[0]
    assert (the.get("HPOS"), the.get("VPOS"), the.get("WIDTH"), the.get("HEIGHT"), the.get("WC")) == (
        "255", "330", "255", "99", "0.9")
    assert strings[1].get("WC") is None and strings[3].get("HPOS") is None  # no confidence, no box: not made up
    assert len(tree.findall(".//a:TextLine[1]/a:SP", ns)) == 2


def test_hocr_has_the_specifications_required_metadata_classes_and_properties():
    hocr = to_hocr(sample())
    tree = etree.fromstring(hocr.encode("utf-8"))
    ns = {"h": "http://www.w3.org/1999/xhtml"}
    meta = {m.get("name"): m.get("content") for m in tree.findall(".//h:meta", ns) if m.get("name")}
    assert meta["ocr-system"].startswith("ocrflow")
    assert set(meta["ocr-capabilities"].split()) >= {"ocr_page", "ocr_carea", "ocr_par", "ocr_line", "ocrx_word",
                                                     "ocrp_wconf", "ocrp_lang"}
    pages = tree.findall(".//h:div[@class='ocr_page']", ns)
    assert [p.get("title") for p in pages] == [
        'image "scan & co <1>.pdf"; bbox 0 0 2550 3300; ppageno 0; scan_res 300 300',
        'image "scan & co <1>.pdf"; bbox 0 0 1000 2000; ppageno 1; scan_res 300 300']
    words = tree.findall(".//h:span[@class='ocrx_word']", ns)
    assert words[0].get("title") == "bbox 255 330 510 429; x_wconf 90"
    assert words[1].get("title") == "bbox 637 330 892 429"  # no confidence given: no x_wconf
    assert words[3].get("title") is None and words[3].text == "fox"
    assert tree.find(".//h:p[@class='ocr_par']", ns).get("lang") == "eng"
    for element in tree.iter():  # every id is unique, every bbox well formed
        title = element.get("title") or ""
        if "bbox" in title:
            x0, y0, x1, y1 = map(int, re.search(r"bbox (\d+) (\d+) (\d+) (\d+)", title).groups())
            assert x0 < x1 and y0 < y1
    ids = [e.get("id") for e in tree.iter() if e.get("id")]
    assert len(ids) == len(set(ids))


def test_hocr_read_back_keeps_every_word_and_box():
    original = sample()
    pages = read_hocr(to_hocr(original))
    assert [w.text for p in pages for w in p.words()] == [w.text for p in original.pages for w in p.words()]
    for page, back in zip(original.pages, pages, strict=True):
        width, height, _ = page_pixels(page)
        for word, read in zip(page.words(), back.words(), strict=True):
            if word.bbox is None:
                assert read.bbox is None
                continue
            for a, b, size in ((word.bbox.x0, read.bbox.x0, width), (word.bbox.y1, read.bbox.y1, height)):
                assert abs(a - b) * size <= 1  # whole pixels
            assert read.confidence == (None if word.confidence is None else pytest.approx(word.confidence, abs=0.01))


def test_control_characters_a_provider_left_in_a_word_do_not_break_either_file(alto_schema):
    page = Page(index=0, width=100, height=100, unit="px",
                blocks=[Block(lines=[Line(text="a\x00b", words=[Word(text="a\x00b\x1b")])])])
    alto_schema.assertValid(etree.fromstring(to_alto(document([page]))))
    assert [w.text for w in read_hocr(to_hocr(document([page])))[0].words()] == ["ab"]


def test_tesseracts_own_hocr_is_read(tmp_path):
    """A file as Tesseract writes it (classes ocr_header and ocr_caption are lines too)."""
    tesseract = """<?xml version="1.0" encoding="UTF-8"?>
<html xmlns="http://www.w3.org/1999/xhtml"><head><meta name='ocr-system' content='tesseract 5.3.0' /></head>
<body><div class='ocr_page' id='page_1' title='image "x.png"; bbox 0 0 640 480; ppageno 0'>
<div class='ocr_carea' id='block_1_1' title="bbox 36 92 618 361"><p class='ocr_par' id='par_1_1' lang='eng'>
<span class='ocr_header' id='line_1_1' title="bbox 36 92 580 122; baseline 0 -6; x_size 30">
<span class='ocrx_word' id='word_1_1' title='bbox 36 92 96 116; x_wconf 95'>This</span>
<span class='ocrx_word' id='word_1_2' title='bbox 109 92 129 116; x_wconf 96'><strong>is</strong></span>
</span></p></div></div></body></html>"""
    (page,) = read_hocr(tesseract)
    assert [w.text for w in page.words()] == ["This", "is"]
    assert page.words()[0].bbox == BBox(x0=36 / 640, y0=92 / 480, x1=96 / 640, y1=116 / 480)
    assert page.blocks[0].language == "eng" and page.words()[1].confidence == 0.96


def test_text_that_is_no_hocr_is_refused_with_a_clear_error():
    with pytest.raises(ValueError, match="not an XHTML hOCR file"):
        read_hocr("<html><body><div class='ocr_page'>")
    with pytest.raises(ValueError, match="has no bbox"):
        read_hocr("<html><body><div class='ocr_page' title='ppageno 0'></div></body></html>")


_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=12).filter(
    lambda t: t.strip() == t and t)
_fraction = st.floats(0, 0.9, allow_nan=False)


@st.composite
def documents(draw) -> Document:
    pages = []
    for index in range(draw(st.integers(1, 3))):
        words = [_word(draw(_text), draw(_fraction), draw(_fraction), draw(st.none() | st.floats(0, 1)))
                 for _ in range(draw(st.integers(1, 6)))]
        line = Line(text=" ".join(w.text for w in words), words=words)
        unit = draw(st.sampled_from(["pt", "px"]))
        pages.append(Page(index=index, width=draw(st.floats(50, 5000)), height=draw(st.floats(50, 5000)), unit=unit,
                          dpi=draw(st.none() | st.floats(50, 1200)), blocks=[Block(lines=[line])]))
    return document(pages)


@settings(max_examples=60, deadline=None)
@given(documents())
def test_any_document_gives_valid_alto_and_an_hocr_that_reads_back(alto_schema, doc):
    alto_schema.assertValid(etree.fromstring(to_alto(doc)))
    back = read_hocr(to_hocr(doc))
    assert [w.text for p in back for w in p.words()] == [xml_text(w.text).strip() for p in doc.pages
                                                          for w in p.words()]
