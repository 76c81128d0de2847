"""Whether a PDF page's own text layer can be trusted, or decodes to garbage and must be OCRed instead.

Text is only as good as the map from its character codes to Unicode. Three kinds of page carry text that looks
present but is not what the page shows:

* fonts with no /ToUnicode map whose codes mean nothing outside the font: a symbolic TrueType font with no
  /Encoding (its codes are glyph slots), a Type0 font with an Identity encoding over an Identity collection
  (its codes are glyph ids) - pdfium then returns the raw codes ("Phone" comes out as `"7+%-`);
* codes pdfium cannot map at all (Type 3 glyph names like /g258), which come out as control characters;
* a /ToUnicode map that maps to the wrong script: CJK text from a font whose OS/2 table declares only
  non-CJK code pages or whose encoding is a standard Latin one, and maps written in the wrong byte order
  (which turn "Multicolor" into `䴀甀氀琀椀挀漀氀漀爀`: half a page's characters at U+xx00).

Each character of the page is checked (up to `MAX_CHARS_CHECKED`); when at least `UNUSABLE_SHARE` of them are
suspect, `text_layer_problem` says why in one line. Fonts are read with pikepdf (the page's /Resources and
the Form XObjects it draws), characters with pdfium's text page.
"""

from __future__ import annotations

import ctypes
import io
import re
import struct
import unicodedata
from dataclasses import dataclass

import pikepdf
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

UNUSABLE_SHARE = 0.1      # a page is OCRed when this share of its characters is suspect
MAX_CHARS_CHECKED = 5000  # a broken layer is broken throughout: a sample of the page decides
_MAX_FORM_DEPTH = 8

_SUBSET_TAG = re.compile(r"^[A-Z]{6}\+")
_NAME_CHARS = 120
_CJK_COLLECTIONS = {"Japan1", "GB1", "CNS1", "Korea1", "KR"}
# OS/2 ulCodePageRange1 bits 17-21: JIS/Japan, Chinese Simplified, Korean Wansung, Chinese Traditional, Korean Johab
_CJK_CODE_PAGES = 0x003E0000
_ALLOWED_CONTROLS = {"\t", "\n", "\r"}
_SIMPLE_FONTS = (pikepdf.Name.Type1, pikepdf.Name.TrueType, pikepdf.Name("/MMType1"))
_LATIN_ENCODINGS = (pikepdf.Name.WinAnsiEncoding, pikepdf.Name.MacRomanEncoding, pikepdf.Name.StandardEncoding)
BYTE_SWAPPED_SHARE = 0.5  # real text never has half its characters at U+xx00


@dataclass(frozen=True)
class FontFacts:
    """What a page's font says about the text drawn with it."""

    name: str                  # /BaseFont without a subset tag, as pdfium reports it
    unmappable: bool = False   # no /ToUnicode and codes that stand for no characters
    cannot_draw_cjk: bool = False  # its program declares code pages, none of them CJK


class DocumentFonts:
    """The font facts of a document's pages, read with pikepdf only when a page with text asks for them.
    A file qpdf cannot open gives no facts (its characters are still checked)."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pdf: pikepdf.Pdf | None = None
        self._failed = False
        self._known: dict[tuple[int, int], FontFacts] = {}  # pages share fonts: read each program once

    def __enter__(self) -> DocumentFonts:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pdf is not None:
            self._pdf.close()

    def of_page(self, index: int) -> dict[str, FontFacts]:
        if self._pdf is None and not self._failed:
            try:
                self._pdf = pikepdf.open(io.BytesIO(self._data))
            except Exception:  # qpdf's own and plain errors alike: pdfium read the file, its view stands
                self._failed = True
        if self._pdf is None or index >= len(self._pdf.pages):
            return {}
        try:
            return page_font_facts(self._pdf.pages[index], self._known)
        except Exception:  # a damaged font or resource dictionary proves nothing about the text
            return {}


def base_font_name(raw: str) -> str:
    """A font's name as both pikepdf and pdfium give it: no subset tag, at most `_NAME_CHARS` long (pdfium
    cuts names at 255 bytes; PDF names should not pass 127)."""
    return _SUBSET_TAG.sub("", raw)[:_NAME_CHARS]


def page_font_facts(page: pikepdf.Page, known: dict[tuple[int, int], FontFacts] | None = None,
                    ) -> dict[str, FontFacts]:
    """The facts of every font the page can draw with, by base font name. Fonts that share a name are merged
    to what all of them agree on, so a doubt never marks good text as broken. `known` caches the facts of
    indirect fonts across pages."""
    known = {} if known is None else known
    facts: dict[str, FontFacts] = {}
    for font in _page_fonts(page):
        if font.is_indirect:
            fact = known.get(font.objgen) or known.setdefault(font.objgen, _font_facts(font))
        else:
            fact = _font_facts(font)
        seen = facts.get(fact.name)
        facts[fact.name] = fact if seen is None else FontFacts(
            fact.name, seen.unmappable and fact.unmappable, seen.cannot_draw_cjk and fact.cannot_draw_cjk)
    return facts


def _page_fonts(page: pikepdf.Page) -> list[pikepdf.Dictionary]:
    fonts: list[pikepdf.Dictionary] = []
    seen: set[tuple[int, int]] = set()

    def walk(resources: pikepdf.Object | None, depth: int) -> None:
        if not isinstance(resources, pikepdf.Dictionary) or depth > _MAX_FORM_DEPTH:
            return
        font_dict = resources.get("/Font")
        if isinstance(font_dict, pikepdf.Dictionary):
            for font in font_dict.values():
                if isinstance(font, pikepdf.Dictionary) and _first_visit(font, seen):
                    fonts.append(font)
        xobjects = resources.get("/XObject")
        if isinstance(xobjects, pikepdf.Dictionary):
            for xobject in xobjects.values():
                if (isinstance(xobject, pikepdf.Stream) and xobject.get("/Subtype") == pikepdf.Name.Form
                        and _first_visit(xobject, seen)):
                    walk(xobject.get("/Resources"), depth + 1)

    walk(page.resources, 0)
    return fonts


def _first_visit(obj: pikepdf.Object, seen: set[tuple[int, int]]) -> bool:
    if not obj.is_indirect:
        return True
    key = obj.objgen
    if key in seen:
        return False
    seen.add(key)
    return True


def _font_facts(font: pikepdf.Dictionary) -> FontFacts:
    name = base_font_name(str(font.get("/BaseFont", "")).lstrip("/"))
    subtype = font.get("/Subtype")
    descriptor = font.get("/FontDescriptor")
    if subtype == pikepdf.Name.Type0:
        descendants = font.get("/DescendantFonts")
        descendant = descendants[0] if isinstance(descendants, pikepdf.Array) and len(descendants) else None
        descriptor = descendant.get("/FontDescriptor") if isinstance(descendant, pikepdf.Dictionary) else None
    unmappable = "/ToUnicode" not in font and _codes_mean_nothing(font, subtype)
    cannot_draw_cjk = _has_latin_encoding(font, subtype) or _declares_no_cjk(descriptor)
    return FontFacts(name=name, unmappable=unmappable, cannot_draw_cjk=cannot_draw_cjk)


def _has_latin_encoding(font: pikepdf.Dictionary, subtype: object) -> bool:
    """A simple font encoded by one of the standard Latin encodings, unchanged: its 256 codes name Latin
    glyphs, whatever its /ToUnicode claims."""
    return subtype in _SIMPLE_FONTS and font.get("/Encoding") in _LATIN_ENCODINGS


def _codes_mean_nothing(font: pikepdf.Dictionary, subtype: object) -> bool:
    """True for fonts without /ToUnicode whose character codes, by the PDF specification (9.10.2), cannot be
    turned into text. Glyph names (/Differences) are left to pdfium, which flags the ones it cannot map."""
    if subtype == pikepdf.Name.TrueType:
        descriptor = font.get("/FontDescriptor")
        flags = int(descriptor.get("/Flags", 0)) if isinstance(descriptor, pikepdf.Dictionary) else 0
        return "/Encoding" not in font and bool(flags & 4)  # symbolic, no encoding: codes are glyph slots
    if subtype == pikepdf.Name.Type0:
        encoding = font.get("/Encoding")
        if encoding not in (pikepdf.Name("/Identity-H"), pikepdf.Name("/Identity-V")):
            return False  # a predefined CMap (UniJIS-UCS2-H...) maps to Unicode by itself
        descendants = font.get("/DescendantFonts")
        descendant = descendants[0] if isinstance(descendants, pikepdf.Array) and len(descendants) else None
        info = descendant.get("/CIDSystemInfo") if isinstance(descendant, pikepdf.Dictionary) else None
        ordering = str(info.get("/Ordering", "")).strip() if isinstance(info, pikepdf.Dictionary) else ""
        return ordering not in _CJK_COLLECTIONS  # Identity over Identity: codes are glyph ids
    return False


def _declares_no_cjk(descriptor: object) -> bool:
    """True when the embedded TrueType/OpenType program's OS/2 table lists the code pages it supports and none
    is Chinese, Japanese or Korean. A font that declares nothing proves nothing."""
    if not isinstance(descriptor, pikepdf.Dictionary):
        return False
    program = descriptor.get("/FontFile2") or descriptor.get("/FontFile3")
    if not isinstance(program, pikepdf.Stream):
        return False
    try:
        data = program.read_bytes()
    except pikepdf.PdfError:
        return False
    code_pages = _os2_code_pages(data)
    return code_pages is not None and code_pages != 0 and not code_pages & _CJK_CODE_PAGES


def _os2_code_pages(data: bytes) -> int | None:
    """ulCodePageRange1 of an sfnt font's OS/2 table (version 1 or later), or None."""
    if len(data) < 12 or data[:4] not in (b"\x00\x01\x00\x00", b"true", b"OTTO"):
        return None
    (tables,) = struct.unpack_from(">H", data, 4)
    for entry in range(min(tables, 64)):
        at = 12 + 16 * entry
        if at + 16 > len(data):
            return None
        tag, _checksum, offset, length = struct.unpack_from(">4sIII", data, at)
        if tag == b"OS/2":
            if length < 86 or offset + 86 > len(data):
                return None
            (version,) = struct.unpack_from(">H", data, offset)
            return struct.unpack_from(">I", data, offset + 78)[0] if version >= 1 else None
    return None


def is_garbage_char(char: str) -> bool:
    """Control characters, private-use and unassigned code points, U+FFFD: never real text in a document."""
    if char in _ALLOWED_CONTROLS:
        return False
    return char == "\ufffd" or unicodedata.category(char) in ("Cc", "Co", "Cn")


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return (0x2E80 <= code <= 0x9FFF or 0xAC00 <= code <= 0xD7AF or 0xF900 <= code <= 0xFAFF
            or 0x20000 <= code <= 0x3FFFF)


def text_layer_problem(textpage: pdfium.PdfTextPage, fonts: dict[str, FontFacts]) -> str | None:
    """Why the page's text cannot be trusted, in one line, or None when it reads as real text.
    Call with PDFIUM_LOCK held."""
    raw = textpage.raw
    suspect_fonts = {name: fact for name, fact in fonts.items() if fact.unmappable or fact.cannot_draw_cjk}
    name_buffer = ctypes.create_string_buffer(256)
    checked = unmapped = garbage = 0
    by_font: dict[str, int] = {}
    wrong_script: dict[str, int] = {}
    swapped: list[int] = []
    for index, char in enumerate(_page_chars(textpage)):
        code = ord(char)
        if char.isspace():
            continue
        if checked == MAX_CHARS_CHECKED:
            break
        checked += 1
        if pdfium_c.FPDFText_HasUnicodeMapError(raw, index) == 1:
            unmapped += 1
            continue
        if code == 0 or is_garbage_char(char):
            garbage += 1
            continue
        if code & 0xFF == 0 and 0x21 <= code >> 8 <= 0x7E:
            swapped.append(code)  # "M" (U+004D) read as U+4D00: a /ToUnicode map written in the wrong byte order
        if not suspect_fonts:
            continue
        fact = suspect_fonts.get(_font_name(raw, index, name_buffer))
        if fact is None:
            continue
        if fact.unmappable:
            by_font[fact.name] = by_font.get(fact.name, 0) + 1
        elif fact.cannot_draw_cjk and _is_cjk(char):
            wrong_script[fact.name] = wrong_script.get(fact.name, 0) + 1
    if checked == 0:
        return None
    byte_swapped = len(swapped) if len(swapped) >= BYTE_SWAPPED_SHARE * checked else 0
    reasons = [(unmapped, "have no Unicode mapping"),
               (garbage, "are control, private-use or unassigned characters"),
               (sum(by_font.values()), f"are in a font with no Unicode map ({_names(by_font)})"),
               (sum(wrong_script.values()), f"decode to CJK in a font without CJK glyphs ({_names(wrong_script)})"),
               (byte_swapped, f"are byte-swapped (U+{swapped[0]:04X} for {chr(swapped[0] >> 8)!r})" if swapped else "")]
    # a byte-swapped character may also be CJK from a Latin font: it counts once
    suspect = unmapped + garbage + sum(by_font.values()) + max(sum(wrong_script.values()), byte_swapped)
    if suspect < UNUSABLE_SHARE * checked:
        return None
    count, why = max(reasons, key=lambda reason: reason[0])
    return f"{count} of {checked} characters of its text layer {why}"


def _font_name(raw: pdfium_c.FPDF_TEXTPAGE, index: int, buffer: ctypes.Array[ctypes.c_char]) -> str | None:
    """The base font name of character `index` (subset tag removed); None when pdfium has none for it.
    pdfium leaves a buffer that is too small untouched, so a long name is asked for again."""
    length = pdfium_c.FPDFText_GetFontInfo(raw, index, buffer, len(buffer), None)
    if length > len(buffer):
        buffer = ctypes.create_string_buffer(length)
        length = pdfium_c.FPDFText_GetFontInfo(raw, index, buffer, len(buffer), None)
    return base_font_name(buffer.value.decode("utf-8", "replace")) if 0 < length <= len(buffer) else None


def _page_chars(textpage: pdfium.PdfTextPage) -> list[str]:
    """The page's characters, one per pdfium character index: its text in one call when that lines up
    (no character beyond the BMP split in two), else one call per character."""
    count = textpage.count_chars()
    text = textpage.get_text_range(0, count) if count else ""
    if len(text) == count:
        return list(text)
    codes = (pdfium_c.FPDFText_GetUnicode(textpage.raw, index) for index in range(count))
    return [chr(code) if 0 <= code <= 0x10FFFF else "\ufffd" for code in codes]


def _names(counts: dict[str, int]) -> str:
    return ", ".join(name or "unnamed" for name in sorted(counts, key=counts.__getitem__, reverse=True)[:3])
