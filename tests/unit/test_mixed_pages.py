"""Mixed pages, the logic alone: which pages are candidates, how much of a page images cover, and how an OCR
reading joins the text a page already carries (every word once)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ocrflow.document import BBox, Block, Line, TextSource, Word
from ocrflow.inputs.inspection import PageInfo, covered_part
from ocrflow.pdf.mixed_pages import MIXED_IMAGE_COVERAGE, merge_with_own_text
from ocrflow.providers.embedded import Reading, how_to_read
from ocrflow.providers.names import OcrMode


def block(*words: tuple[str, float, float]) -> Block:
    """One line of words, each (text, x0, y0) with a box 0.08 wide and 0.02 high."""
    items = [Word(text=t, bbox=BBox(x0=x, y0=y, x1=x + 0.08, y1=y + 0.02), confidence=0.9) for t, x, y in words]
    box = BBox(x0=min(w.bbox.x0 for w in items), y0=min(w.bbox.y0 for w in items),
               x1=max(w.bbox.x1 for w in items), y1=max(w.bbox.y1 for w in items))
    return Block(bbox=box, lines=[Line(text=" ".join(w.text for w in items), bbox=box, words=items)])


def test_a_stamps_words_read_again_by_ocr_are_dropped_and_the_rest_kept():
    own = [block(("Bates", 0.1, 0.95), ("000123", 0.2, 0.95))]
    reading = [block(("Dear", 0.1, 0.1), ("Sir", 0.2, 0.1)),
               block(("Bates", 0.101, 0.951), ("000123", 0.199, 0.949), ("signed", 0.5, 0.95))]
    merged = merge_with_own_text(own, reading)
    assert [(b.text_source, b.text) for b in merged] == [
        (TextSource.OCR, "Dear Sir"), (TextSource.OCR, "signed"), (TextSource.PDF, "Bates 000123")]
    signed = merged[1].lines[0]
    assert signed.bbox == signed.words[0].bbox  # the line shrank to what is left of it


def test_a_header_goes_before_the_scan_below_it():
    own = [block(("CONFIDENTIAL", 0.4, 0.02))]
    merged = merge_with_own_text(own, [block(("Minutes", 0.1, 0.2)), block(("Agenda", 0.1, 0.5))])
    assert [b.text for b in merged] == ["CONFIDENTIAL", "Minutes", "Agenda"]


_spots = st.lists(st.tuples(st.integers(0, 9), st.integers(0, 40)), min_size=0, max_size=25, unique=True)


@given(own_spots=_spots, ocr_spots=_spots)
def test_every_word_is_kept_once(own_spots, ocr_spots):
    """Words on a grid: an OCR word on a spot the page's text holds is that word read again; others are new."""
    def word(spot: tuple[int, int], text: str) -> tuple[str, float, float]:
        return text, spot[0] * 0.1, spot[1] * 0.024

    own = [block(word(s, f"own{s}")) for s in own_spots]
    reading = [block(word(s, f"ocr{s}")) for s in ocr_spots]
    merged = merge_with_own_text(own, reading)
    texts = [w.text for b in merged for line in b.lines for w in line.words]
    expected = {f"own{s}" for s in own_spots} | {f"ocr{s}" for s in ocr_spots if s not in own_spots}
    assert sorted(texts) == sorted(expected)


def page(**kw) -> PageInfo:
    return PageInfo(index=0, width=612, height=792, **kw)


def test_how_each_mode_reads_each_kind_of_page():
    scan, text = page(), page(has_text=True)
    mixed = page(has_text=True, image_coverage=MIXED_IMAGE_COVERAGE)
    garbage = page(has_text=True, text_problem="unmapped glyphs", image_coverage=1.0)
    table = {mode: [how_to_read(p, mode) for p in (scan, text, mixed, garbage)] for mode in OcrMode}
    assert table == {
        OcrMode.AUTO: [Reading.OCR, Reading.TEXT, Reading.MIXED, Reading.OCR],
        OcrMode.FORCE: [Reading.OCR, Reading.OCR, Reading.OCR, Reading.OCR],
        OcrMode.SKIP_TEXT: [Reading.OCR, Reading.TEXT, Reading.TEXT, Reading.OCR],
    }


def test_images_cover_the_page_once_however_they_are_cut():
    page_box = (0.0, 0.0, 612.0, 792.0)
    strips = [(0.0, y, 612.0, y + 79.2) for y in [i * 79.2 for i in range(10)]]
    assert covered_part(page_box, strips) == 1.0
    assert covered_part(page_box, [(0, 0, 306, 792), (0, 0, 306, 792)]) == 0.5
    assert covered_part(page_box, [(-100, -100, 1000, 1000)]) == 1.0
    assert covered_part((0, 0, 0, 0), strips) == 0.0


_boxes = st.lists(st.tuples(*[st.floats(-100, 900, allow_nan=False)] * 4), max_size=6)


@given(boxes=_boxes, more=_boxes)
def test_coverage_is_a_share_that_grows_with_the_images(boxes, more):
    page_box = (0.0, 0.0, 612.0, 792.0)
    ordered = [(min(a, c), min(b, d), max(a, c), max(b, d)) for a, b, c, d in boxes]
    extra = [(min(a, c), min(b, d), max(a, c), max(b, d)) for a, b, c, d in more]
    share = covered_part(page_box, ordered)
    assert 0.0 <= share <= 1.0
    assert covered_part(page_box, ordered + extra) >= share
