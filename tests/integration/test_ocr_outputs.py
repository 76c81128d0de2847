"""`ocrflow ocr --outputs`: hOCR and ALTO beside (or instead of) the JSON, text and searchable PDF, from a real
page read by the embedded engine - the same words and boxes in every file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
