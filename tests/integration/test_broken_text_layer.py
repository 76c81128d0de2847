"""A PDF text layer that decodes to garbage is not returned as the page's text: the page is OCRed instead, and
the page says why. Text layers that do decode (ours among them) are still read, not OCRed again."""

import io
import json
import subprocess
import sys
import unicodedata

import pikepdf
import pytest

from ocrflow.document import BBox, Block, Document, Line, Page, ProviderInfo, Source, TextSource, WarningCode, Word
from ocrflow.inputs.inspection import inspect_document
from ocrflow.pdf.searchable import build_searchable_pdf
from ocrflow.service import run_ocr
from tests import bad_inputs
from tests.conftest import REPO, sample_bytes
from tests.integration.pdf_probe import pdftotext

OCRMYPDF = REPO / "tests" / "resources" / "ocrmypdf"
BROKEN = ["truetype_font_nomapping.pdf", "type3_font_nomapping.pdf", "cmyk.pdf"]


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "ocrflow.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def garbage_in(text: str) -> list[str]:
    """Characters no real document text contains: controls (but line breaks and tabs), private-use and
    unassigned code points, U+FFFD, and CJK (none of these pages shows any)."""
    return [c for c in text if (c not in "\n\t" and unicodedata.category(c) in ("Cc", "Co", "Cn"))
            or c == "\ufffd" or 0x2E80 <= ord(c) <= 0x9FFF]


@pytest.fixture(scope="module")
def cli_out(tmp_path_factory):
    """`ocrflow ocr` over the three files: their JSON, text and searchable PDFs."""
    out = tmp_path_factory.mktemp("broken-text-layer")
    result = run_cli("ocr", *[OCRMYPDF / name for name in BROKEN], "-o", out)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def cli_json(cli_out):
    return {name: json.loads((cli_out / name.replace(".pdf", ".json")).read_text(encoding="utf-8"))
            for name in BROKEN}


@pytest.fixture(scope="module")
def searchable(cli_out):
    return {name: (cli_out / name.replace(".pdf", ".searchable.pdf")).read_bytes() for name in BROKEN}


@pytest.mark.parametrize("name", BROKEN)
def test_page_with_an_unusable_text_layer_is_ocred_and_says_why(cli_json, name):
    doc = cli_json[name]
    (page,) = doc["pages"]
    assert page["text_source"] == "ocr"
    (unusable,) = [w for w in page["warnings"] if w["code"] == WarningCode.TEXT_LAYER_UNUSABLE]
    assert "OCRed" in unusable["message"] and "characters" in unusable["message"]
    assert garbage_in(doc["text"]) == [] and garbage_in(page["text"]) == []
    assert all(garbage_in(word["text"]) == [] for block in page["blocks"] for line in block["lines"]
               for word in line["words"])


def test_truetype_font_without_a_unicode_map_reads_as_the_word_it_shows(cli_json):
    assert cli_json["truetype_font_nomapping.pdf"]["text"].split() == ["Phone"]


def test_cmyk_photoshop_text_reads_as_latin_not_cjk(cli_json):
    text = cli_json["cmyk.pdf"]["text"]
    for words in ("Multicolor Black", "Pure Black", "Pure Magenta", "Pure Cyan"):
        assert words in text


def test_warning_names_the_cause(cli_json):
    def message(name):
        return next(w["message"] for w in cli_json[name]["pages"][0]["warnings"]
                    if w["code"] == WarningCode.TEXT_LAYER_UNUSABLE)

    assert "font with no Unicode map" in message("truetype_font_nomapping.pdf")
    assert "no Unicode mapping" in message("type3_font_nomapping.pdf")
    assert "byte-swapped (U+4D00 for 'M')" in message("cmyk.pdf")


def test_our_own_searchable_pdf_is_read_not_ocred_again(ocr_sample):
    first = ocr_sample("receipt.png")
    again = run_ocr(first.searchable_pdf)
    assert [p.text_source for p in again.document.pages] == [TextSource.PDF]
    assert [w.code for w in again.document.pages[0].warnings] == [WarningCode.TEXT_FROM_PDF]
    # word for word, one-letter words too ("with a photograph"): pdfium skips text objects of no width
    assert "a" in first.document.pages[0].text.split()
    assert again.document.pages[0].text.split() == first.document.pages[0].text.split()


def test_our_searchable_pdf_of_cjk_text_is_still_a_text_page():
    """Our glyphless font declares no code pages, so Chinese OCR text in it is not taken for a wrong script."""
    data = sample_bytes("letter.pdf")
    info = inspect_document(data)
    words = [Word(text="合同", bbox=BBox(x0=0.1, y0=0.1, x1=0.2, y1=0.13)),
             Word(text="今天签署", bbox=BBox(x0=0.22, y0=0.1, x1=0.4, y1=0.13))]
    line = Line(text="合同 今天签署", bbox=BBox(x0=0.1, y0=0.1, x1=0.4, y1=0.13), words=words)
    page = Page(index=0, width=595, height=842, text=line.text, blocks=[Block(lines=[line])])
    doc = Document(provider=ProviderInfo(name="tesseract"), pages=[page], text=page.text,
                   source=Source(media_type="application/pdf", bytes=len(data), sha256=info.sha256, page_count=1))
    out = io.BytesIO()
    build_searchable_pdf(data, info, doc, out)
    outcome = run_ocr(out.getvalue(), ocr_mode="skip-text")
    assert outcome.document.pages[0].text_source is TextSource.PDF
    assert outcome.document.pages[0].text.split() == ["合同", "今天签署"]
    # in auto the two words cover little of the letter's scan: a mixed page, whose own words are kept as they are
    mixed = run_ocr(out.getvalue()).document.pages[0]
    assert mixed.text_source is TextSource.MIXED
    own = [b for b in mixed.blocks if b.text_source is TextSource.PDF]
    assert [line.text for block in own for line in block.lines] == ["合同 今天签署"]


def test_born_digital_page_in_a_standard_font_is_still_read():
    outcome = run_ocr(bad_inputs.born_digital_pdf("Invoice 2024-117 total 1,250.00"))
    (page,) = outcome.document.pages
    assert page.text_source is TextSource.PDF and page.text == "Invoice 2024-117 total 1,250.00"
    assert [w.code for w in page.warnings] == [WarningCode.TEXT_FROM_PDF]


def text_pdf_with_unmapped_glyphs(text: str, unmapped: int) -> bytes:
    """A page of Helvetica text followed by `unmapped` marks of a Type 3 font whose glyph name (/g258, no
    /ToUnicode) maps to no character - pdfium returns its code, a control character."""
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(612, 792))
    helvetica = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                     BaseFont=pikepdf.Name.Helvetica))
    glyph = pikepdf.Stream(pdf, b"500 0 0 0 500 700 d1 0 0 500 700 re f")
    type3 = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type3, FontBBox=[0, 0, 500, 700],
        FontMatrix=[0.001, 0, 0, 0.001, 0, 0], CharProcs=pikepdf.Dictionary(g258=glyph),
        Encoding=pikepdf.Dictionary(Type=pikepdf.Name.Encoding, Differences=[18, pikepdf.Name("/g258")]),
        FirstChar=18, LastChar=18, Widths=[500], Resources=pikepdf.Dictionary()))
    page.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=helvetica, F2=type3))
    marks = "\\022" * unmapped
    page.Contents = pikepdf.Stream(pdf, f"BT /F1 12 Tf 72 700 Td ({text}) Tj /F2 12 Tf ({marks}) Tj ET".encode())
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def test_a_stray_unmapped_glyph_on_a_good_page_is_left_out_of_its_text():
    sentence = "The delivery arrived on time and was signed for at the door"
    outcome = run_ocr(text_pdf_with_unmapped_glyphs(sentence, 1))
    (page,) = outcome.document.pages
    assert page.text_source is TextSource.PDF
    assert page.text == sentence and outcome.document.text == sentence


def test_a_page_mostly_of_unmapped_glyphs_is_ocred():
    outcome = run_ocr(text_pdf_with_unmapped_glyphs("Total", 5))
    (page,) = outcome.document.pages
    assert page.text_source is TextSource.OCR
    assert "Total" in page.text and garbage_in(page.text) == []
    assert WarningCode.TEXT_LAYER_UNUSABLE in [w.code for w in page.warnings]


def to_unicode_cmap(pdf: pikepdf.Pdf, mapping: dict[int, str], code_bytes: int = 1) -> pikepdf.Stream:
    width = 2 * code_bytes
    entries = "\n".join(f"<{code:0{width}X}> <{''.join(f'{ord(c):04X}' for c in text)}>"
                        for code, text in sorted(mapping.items()))
    cmap = ("/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            "/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n"
            f"1 begincodespacerange <{'00' * code_bytes}> <{'FF' * code_bytes}> endcodespacerange\n"
            f"{len(mapping)} beginbfchar\n{entries}\nendbfchar\n"
            "endcmap CMapName currentdict /CMap defineresource pop end end\n")
    return pikepdf.Stream(pdf, cmap.encode("ascii"))


def helvetica_pdf_with_to_unicode(text: str, decode, encoding: str | None = None) -> bytes:
    """`text` in Helvetica (it shows as itself) whose /ToUnicode map says each character is decode(char)."""
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(612, 792))
    font = pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica,
                              ToUnicode=to_unicode_cmap(pdf, {ord(c): decode(c) for c in set(text)}))
    if encoding:
        font.Encoding = pikepdf.Name(encoding)
    page.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=pdf.make_indirect(font)))
    page.Contents = pikepdf.Stream(pdf, f"BT /F1 36 Tf 72 650 Td ({text}) Tj ET".encode())
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def unusable_reason(outcome) -> str:
    (page,) = outcome.document.pages
    assert page.text_source is TextSource.OCR
    return next(w.message for w in page.warnings if w.code is WarningCode.TEXT_LAYER_UNUSABLE)


def test_byte_swapped_unicode_map_is_not_trusted_whatever_the_font():
    outcome = run_ocr(helvetica_pdf_with_to_unicode("Delivery Note", lambda c: chr(ord(c) << 8)))
    assert "byte-swapped (U+4400 for 'D')" in unusable_reason(outcome)
    assert outcome.document.text.split() == ["Delivery", "Note"]


def test_cjk_from_a_font_in_a_latin_encoding_is_not_trusted():
    outcome = run_ocr(helvetica_pdf_with_to_unicode("Delivery Note", lambda c: chr(0x4E00 + ord(c)),
                                                    encoding="/WinAnsiEncoding"))
    assert "CJK in a font without CJK glyphs (Helvetica)" in unusable_reason(outcome)
    assert outcome.document.text.split() == ["Delivery", "Note"]


def test_cjk_from_an_embedded_font_without_cjk_code_pages_is_not_trusted():
    """cmyk.pdf's Futura (its OS/2 table lists Latin code pages only) with a map to CJK in the right byte order."""
    with pikepdf.open(OCRMYPDF / "cmyk.pdf") as pdf:
        font = pdf.pages[0].Resources.Font.F1
        font.ToUnicode = to_unicode_cmap(pdf, {code: chr(0x4E01 + code) for code in range(0x03, 0x73)}, 2)
        out = io.BytesIO()
        pdf.save(out)
    outcome = run_ocr(out.getvalue())
    assert "CJK in a font without CJK glyphs (Futura-Medium)" in unusable_reason(outcome)
    assert "Multicolor Black" in outcome.document.text


def test_cjk_in_a_cjk_font_is_read():
    """Text in a predefined CJK CMap (no /ToUnicode needed) is real text: read, not OCRed."""
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(612, 792))
    descriptor = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.FontDescriptor, FontName=pikepdf.Name("/STSong-Light"), Flags=6,
        FontBBox=[0, -200, 1000, 900], ItalicAngle=0, Ascent=880, Descent=-120, CapHeight=880, StemV=80))
    cid_font = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.CIDFontType0, BaseFont=pikepdf.Name("/STSong-Light"),
        CIDSystemInfo=pikepdf.Dictionary(Registry=pikepdf.String("Adobe"), Ordering=pikepdf.String("GB1"),
                                         Supplement=2), FontDescriptor=descriptor))
    font = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type0, BaseFont=pikepdf.Name("/STSong-Light-UniGB-UCS2-H"),
        Encoding=pikepdf.Name("/UniGB-UCS2-H"), DescendantFonts=[cid_font]))
    page.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    page.Contents = pikepdf.Stream(pdf, b"BT /F1 24 Tf 72 700 Td <4E2D658765876863> Tj ET")
    out = io.BytesIO()
    pdf.save(out)
    (page_out,) = run_ocr(out.getvalue()).document.pages
    assert page_out.text_source is TextSource.PDF and page_out.text == "中文文档"


@pytest.mark.parametrize("name", BROKEN)
def test_searchable_pdf_of_such_a_page_gives_only_the_ocr_text(cli_json, searchable, name):
    """The page's drawing is kept, but readers extract our layer, not the garbage under it - and ocrflow reads
    its own output back as text."""
    assert pdftotext(searchable[name]).split() == cli_json[name]["text"].split()
    again = run_ocr(searchable[name])
    assert [p.text_source for p in again.document.pages] == [TextSource.PDF]
    assert again.document.text.split() == cli_json[name]["text"].split()


def test_our_text_layer_stays_searchable_when_the_page_leaves_marked_content_open():
    with pikepdf.open(OCRMYPDF / "truetype_font_nomapping.pdf") as pdf:
        pdf.pages[0].contents_add(pikepdf.Stream(pdf, b"/Artifact BMC\n"), prepend=False)  # never closed
        out = io.BytesIO()
        pdf.save(out)
    outcome = run_ocr(out.getvalue())
    assert outcome.document.text.split() == ["Phone"]
    assert "Phone" in pdftotext(outcome.searchable_pdf).split()
