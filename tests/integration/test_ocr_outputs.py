"""`ocrflow ocr --outputs`: hOCR and ALTO beside (or instead of) the JSON, text and searchable PDF, from a real
page read by the embedded engine - the same words and boxes in every file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from ocrflow.formats.hocr import read_hocr
from tests.alto_schema import load_alto_schema

PAGE = Path(__file__).resolve().parents[1] / "data" / "real" / "phototest.png"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ocrflow.cli", "ocr", *args], capture_output=True, text=True,
                          timeout=300)


def test_every_output_of_a_real_page_holds_the_same_words_and_boxes(tmp_path):
    done = run(str(PAGE), "-o", str(tmp_path), "--outputs", "json,txt,pdf,hocr,alto", "--quiet")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "phototest.alto.xml", "phototest.hocr", "phototest.json", "phototest.searchable.pdf", "phototest.txt"]
    document = json.loads((tmp_path / "phototest.json").read_text(encoding="utf-8"))
    words = [w for page in document["pages"] for b in page["blocks"] for ln in b["lines"] for w in ln["words"]]
    assert len(words) == 60
    (page,) = read_hocr((tmp_path / "phototest.hocr").read_text(encoding="utf-8"))
    assert [w.text for w in page.words()] == [w["text"] for w in words]
    for ours, back in zip(words, page.words(), strict=True):
        assert abs(ours["bbox"]["x0"] - back.bbox.x0) * page.width <= 1
        assert abs(ours["bbox"]["y1"] - back.bbox.y1) * page.height <= 1
    alto = etree.parse(str(tmp_path / "phototest.alto.xml"))
    load_alto_schema().assertValid(alto)
    strings = alto.getroot().findall(".//{http://www.loc.gov/standards/alto/ns-v4#}String")
    assert [s.get("CONTENT") for s in strings] == [w["text"] for w in words]
    assert all(0 <= float(s.get("WC")) <= 1 for s in strings)
    assert "lazy fox" in done.stdout or "phototest.alto.xml" in done.stdout


def test_only_the_outputs_asked_for_are_written(tmp_path):
    done = run(str(PAGE), "-o", str(tmp_path), "--outputs", "alto", "--quiet")
    assert done.returncode == 0, done.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["phototest.alto.xml"]


def test_an_unknown_output_is_refused_before_any_work(tmp_path):
    done = run(str(PAGE), "-o", str(tmp_path), "--outputs", "json,docx")
    assert done.returncode == 2 and "unknown output docx" in done.stderr
    assert not tmp_path.exists() or not list(tmp_path.iterdir())


def _elements(element):  # noqa: ANN001, ANN202 - an ocrmypdf OcrElement and its descendants
    yield element
    for child in element.children:
        yield from _elements(child)


def test_ocrmypdfs_hocr_parser_and_renderer_read_our_hocr(tmp_path):
    """hOCR is what OCRmyPDF's renderers speak: its own parser reads our file into the same words, boxes,
    confidences, resolution and language, and its hOCR-to-PDF command lays the same words on a page of the
    size the resolution gives."""
    import pypdfium2
    from ocrmypdf.hocrtransform import HocrParser, OcrClass

    done = run(str(PAGE), "-o", str(tmp_path), "--outputs", "json,hocr", "--quiet")
    assert done.returncode == 0, done.stderr
    document = json.loads((tmp_path / "phototest.json").read_text(encoding="utf-8"))
    (ours,) = document["pages"]
    words = [w for b in ours["blocks"] for ln in b["lines"] for w in ln["words"]]
    width, height = ours["width"], ours["height"]  # phototest.png: 640 x 480 px at 200 dpi

    page = HocrParser(tmp_path / "phototest.hocr").parse()
    assert (page.bbox.right, page.bbox.bottom, page.dpi) == (width, height, 200)
    assert {e.language for e in _elements(page) if e.ocr_class == OcrClass.PARAGRAPH} == {"eng"}
    theirs = [e for e in _elements(page) if e.ocr_class == OcrClass.WORD]
    assert [w.text for w in theirs] == [w["text"] for w in words]
    for word, read in zip(words, theirs, strict=True):
        box = word["bbox"]
        assert abs(read.bbox.left - box["x0"] * width) <= 1 and abs(read.bbox.bottom - box["y1"] * height) <= 1
        assert read.confidence == pytest.approx(word["confidence"], abs=0.01)

    pdf = tmp_path / "from-hocr.pdf"
    rendered = subprocess.run([sys.executable, "-m", "ocrmypdf.hocrtransform", str(tmp_path / "phototest.hocr"),
                               str(pdf)], capture_output=True, text=True, timeout=120)
    assert rendered.returncode == 0, rendered.stderr
    with pypdfium2.PdfDocument(pdf) as rendered_pdf:
        assert rendered_pdf[0].get_size() == pytest.approx((width * 72 / 200, height * 72 / 200), abs=0.01)
        text = rendered_pdf[0].get_textpage().get_text_range()
    assert text.split() == [w["text"] for w in words]
