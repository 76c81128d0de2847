"""Accuracy floors on real scans: the embedded engine reads each page of tests/data/real (redistributable real
pages with their published transcriptions; see its manifest.json) with a character error rate and a
bag-of-words error under a floor: the figure measured when the floor was set plus a margin, so the test fails
when a change makes real pages read worse, not when a word comes out differently.

The full picture (more pages, damaged copies, OCRmyPDF and RapidOCR beside) is `make -C bench real`.
"""

import json
from pathlib import Path

import pytest

from ocrflow.quality import bag_of_words_error, character_error_rate
from ocrflow.service import run_ocr

REAL = Path(__file__).resolve().parents[1] / "data" / "real"
MANIFEST = {entry["page"]: entry for entry in json.loads((REAL / "manifest.json").read_text())}

# page: (CER, bag-of-words error) measured on 2026-12-07 (bench/real_bench.py, ocrflow at d7e6b39)
MEASURED = {
    "phototest": (0.000, 0.000),
    "eurotext": (0.015, 0.092),
    "unlv_8087_054": (0.078, 0.057),
}
CER_MARGIN = 0.025  # absolute: 2.5 points more characters wrong
BOW_MARGIN = 0.04  # absolute: 4 points more words missed or invented


def test_every_page_of_the_set_has_a_floor():
    assert set(MEASURED) == set(MANIFEST)


@pytest.mark.parametrize("page", sorted(MEASURED))
def test_real_page_reads_within_its_floor(page):
    entry = MANIFEST[page]
    truth = (REAL / entry["truth"]).read_text(encoding="utf-8")
    text = run_ocr((REAL / entry["image"]).read_bytes(), languages=entry["lang"]).text
    cer, bow = character_error_rate(truth, text), bag_of_words_error(truth, text)
    measured_cer, measured_bow = MEASURED[page]
    assert cer <= measured_cer + CER_MARGIN, f"{page}: CER {cer:.3f}, floor {measured_cer + CER_MARGIN:.3f}"
    assert bow <= measured_bow + BOW_MARGIN, f"{page}: bag-of-words {bow:.3f}, floor {measured_bow + BOW_MARGIN:.3f}"


def salt_and_pepper(image_bytes: bytes, share: float = 0.02, seed: int = 1) -> bytes:
    """The page with `share` of its pixels set black or white (a dusty scanner glass, a bad fax line), seeded."""
    import io

    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(image_bytes)) as image:
        dpi = image.info.get("dpi", (300, 300))
        pixels = np.asarray(image.convert("L")).copy()
    rng = np.random.default_rng(seed)
    hit = rng.random(pixels.shape) < share
    pixels[hit] = np.where(rng.random(int(hit.sum())) < 0.5, 0, 255)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG", dpi=dpi)
    return out.getvalue()


# page: (CER, bag-of-words error) of the 2 % salt-and-pepper copy, measured with the cleaned second look
# (without it: phototest 0.053 / 0.150, unlv_8087_054 0.228 / 0.100)
SPECKLED = {"phototest": (0.000, 0.000), "unlv_8087_054": (0.077, 0.055)}


@pytest.mark.parametrize("page", sorted(SPECKLED))
def test_a_speckled_page_is_read_clean_by_the_second_look(page, monkeypatch):
    """A weak reading gets a look at the page median-filtered and binarized (imaging.cleanup): the speckled copy
    reads within its floor, and better than Tesseract's reading of the page as it is."""
    import ocrflow.engines.tesseract as tesseract
    from ocrflow.engines.layered import LayeredEngine

    # Tesseract's own look: the second engine (which reads the speckled page right as well) stays out of it
    monkeypatch.setattr(LayeredEngine, "needs_second_reading", lambda self, reading: False)
    entry = MANIFEST[page]
    truth = (REAL / entry["truth"]).read_text(encoding="utf-8")
    data = salt_and_pepper((REAL / entry["image"]).read_bytes())
    text = run_ocr(data, languages=entry["lang"]).text
    cer, bow = character_error_rate(truth, text), bag_of_words_error(truth, text)
    measured_cer, measured_bow = SPECKLED[page]
    assert cer <= measured_cer + CER_MARGIN and bow <= measured_bow + BOW_MARGIN, (page, cer, bow)
    monkeypatch.setattr(tesseract, "CLEANUP_CONFIDENCE", 0.0)  # no second look
    plain = run_ocr(data, languages=entry["lang"]).text
    assert character_error_rate(truth, plain) > cer + 0.03


def test_a_blurred_page_is_read_the_right_way_up():
    """Too blurred to read as it is, phototest reads as garbage whichever way up, and the garbage upside down
    scored higher: the cleaned look is taken at every turn tried, and the page reads upright (measured: bag-of-
    words error 0.00 at radius 1.8; 1.00 upside down before)."""
    import io

    from PIL import Image, ImageFilter

    from ocrflow.engines.tesseract import TesseractEngine

    entry = MANIFEST["phototest"]
    truth = (REAL / entry["truth"]).read_text(encoding="utf-8")
    with Image.open(io.BytesIO((REAL / entry["image"]).read_bytes())) as image:
        blurred = image.convert("L").filter(ImageFilter.GaussianBlur(1.8))
    reading = TesseractEngine().recognize(blurred, ["eng"], 200)
    assert reading.text_orientation == 0
    assert bag_of_words_error(truth, reading.text) <= BOW_MARGIN, reading.text[:200]
