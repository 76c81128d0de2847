"""The second engine (RapidOCR) behind Tesseract, on a committed real page (tests/data/README.md): a page
Tesseract misreads is read better, `off` never loads onnxruntime, the JSON names the engine per page, and the
second engine's word boxes sit inside their lines, in reading order, on the page as given."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageFilter

from ocrflow.engines.layered import LayeredEngine
from ocrflow.engines.rapid import RapidOcrEngine
from ocrflow.engines.settings import EngineSettings, SecondEngineMode
from ocrflow.imaging.alignment import Alignment
from ocrflow.quality import bag_of_words_error

DATA = Path(__file__).resolve().parents[1] / "data"
TRUTH = (DATA / "phototest.truth.txt").read_text(encoding="utf-8")


def blurred_page(radius: float = 2.0) -> Image.Image:
    """phototest blurred (radius 2): Tesseract reads it at confidence ~0.3, nearly every word wrong - unless its
    own second look at the page cleaned (median + Sauvola) rescues it, as it does at radius 2 (0.94)."""
    return Image.open(DATA / "phototest.png").convert("L").filter(ImageFilter.GaussianBlur(radius))


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", dpi=(200, 200))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def rapid() -> RapidOcrEngine:
    return RapidOcrEngine()


def test_a_page_tesseract_misreads_is_read_better_by_the_second_engine(rapid, monkeypatch):
    """Tesseract's reading of the page as it is (its cleaned second look turned off: it rescues this page)."""
    import ocrflow.engines.tesseract as tesseract_module

    monkeypatch.setattr(tesseract_module, "CLEANUP_CONFIDENCE", 0.0)
    page = blurred_page()
    alone = LayeredEngine(second=rapid, settings=EngineSettings(second_engine=SecondEngineMode.OFF))
    layered = LayeredEngine(second=rapid, settings=EngineSettings(second_engine=SecondEngineMode.AUTO))
    tesseract = alone.recognize(page, ["eng"], 200)
    combined = layered.recognize(page, ["eng"], 200)
    assert bag_of_words_error(TRUTH, tesseract.text) > 0.5  # the page is weak for Tesseract...
    assert combined.engine == "rapidocr"
    assert bag_of_words_error(TRUTH, combined.text) < 0.15  # ...and read by the second engine (measured 0.05)


def test_a_clean_page_stays_with_tesseract_in_auto(rapid):
    clean = Image.open(DATA / "phototest.png").convert("L")
    layered = LayeredEngine(second=rapid, settings=EngineSettings(second_engine=SecondEngineMode.AUTO))
    assert layered.recognize(clean, ["eng"], 200).engine == "tesseract"


_RUN = """
import json, sys
from pathlib import Path
from ocrflow.service import run_ocr
document = json.loads(run_ocr(Path(sys.argv[1]).read_bytes()).document.model_dump_json())
print(json.dumps({"engines": [page["engine"] for page in document["pages"]], "provider": document["provider"],
                  "loaded": sorted(m for m in ("onnxruntime", "rapidocr", "cv2") if m in sys.modules)}))
"""


def _run_ocr_in_a_process(tmp_path: Path, mode: str, radius: float = 2.0) -> dict:
    source = tmp_path / "page.png"
    source.write_bytes(png_bytes(blurred_page(radius)))
    env = {**os.environ, "OCRFLOW_SECOND_ENGINE": mode}
    done = subprocess.run([sys.executable, "-c", _RUN, str(source)], env=env, capture_output=True, text=True,
                          timeout=300, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_off_never_imports_onnxruntime_even_on_a_weak_page(tmp_path):
    result = _run_ocr_in_a_process(tmp_path, "off")
    assert result["loaded"] == []
    assert result["engines"] == ["tesseract"]
    assert result["provider"]["engine"] == "tesseract"


def test_always_names_the_engine_of_each_page_in_the_json(tmp_path):
    # blurred so that Tesseract's cleaned look reads it fairly (confidence 0.82, bag-of-words error 0.27) and
    # RapidOCR better (0.996, 0.10)
    result = _run_ocr_in_a_process(tmp_path, "always", radius=2.6)
    assert result["engines"] == ["rapidocr"]
    assert result["provider"]["engine"] == "tesseract+rapidocr" and "onnxruntime" in result["loaded"]


def _check_boxes_in_reading_order(reading) -> None:
    assert reading.blocks
    for block in reading.blocks:
        tops = [line.bbox.y0 for line in block.lines]
        assert tops == sorted(tops)
        for line in block.lines:
            assert len(line.words) >= 1 and line.text == " ".join(w.text for w in line.words)
            for word in line.words:
                assert line.bbox.x0 - 1e-6 <= word.bbox.x0 <= word.bbox.x1 <= line.bbox.x1 + 1e-6
                assert line.bbox.y0 - 1e-6 <= word.bbox.y0 <= word.bbox.y1 <= line.bbox.y1 + 1e-6
                assert 0 <= word.confidence <= 1
            lefts = [w.bbox.x0 for w in line.words]
            assert lefts == sorted(lefts)


def test_word_boxes_lie_inside_their_lines_in_reading_order(rapid):
    reading = rapid.recognize(Image.open(DATA / "phototest.png").convert("L"), ["eng"])
    _check_boxes_in_reading_order(reading)
    first_line = reading.blocks[0].lines[0]
    assert first_line.text.startswith("This is a lot of 12 point text")
    assert len(first_line.words) == len(first_line.text.split())  # split from character positions


def test_a_turned_page_is_read_uprighted_and_its_boxes_land_on_the_page_as_given(rapid):
    page = Image.open(DATA / "phototest.png").convert("L")
    turned = page.transpose(Image.Transpose.ROTATE_270)  # the text turned 90 degrees clockwise
    upright_reading = rapid.recognize(page, ["eng"])
    turned_reading = rapid.recognize(turned, ["eng"], alignment=Alignment(90, 0.0))
    assert turned_reading.text == upright_reading.text
    for a, b in zip(upright_reading.blocks[0].lines[0].words, turned_reading.blocks[0].lines[0].words, strict=True):
        # a point (x, y) of the upright page is at (1 - y, x) on the page turned clockwise
        centre_x, centre_y = (a.bbox.x0 + a.bbox.x1) / 2, (a.bbox.y0 + a.bbox.y1) / 2
        assert abs((b.bbox.x0 + b.bbox.x1) / 2 - (1 - centre_y)) < 0.01
        assert abs((b.bbox.y0 + b.bbox.y1) / 2 - centre_x) < 0.01
        assert b.polygon is not None
