"""hOCR 1.2 (https://kba.github.io/hocr-spec/1.2/): the document as the XHTML that Tesseract and OCRmyPDF's
renderers write, and hocr-tools and search indexers read.

One `ocr_page` per page (`bbox`, `ppageno`, `scan_res`, the source's name as `image`), one `ocr_carea` holding
one `ocr_par` per block (`lang` where known), `ocr_line`, and `ocrx_word` with `x_wconf` (0-100) where the
engine gave a confidence. Boxes are whole pixels of the page's pixel space (`formats.page_pixels`); a word the
provider gave no box has no `bbox`. `read_hocr` reads such a file back into pages (ours, or Tesseract's: its
`ocr_header`, `ocr_caption` and `ocr_textfloat` are lines too).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator

from ocrflow.document import BBox, Block, Document, Line, Page, Word
from ocrflow.formats.pixels import line_words, page_pixels, pixel_box, xml_text

XHTML = "http://www.w3.org/1999/xhtml"
CAPABILITIES = "ocr_page ocr_carea ocr_par ocr_line ocrx_word ocrp_wconf ocrp_lang"
LINE_CLASSES = {"ocr_line", "ocr_header", "ocr_caption", "ocr_textfloat"}
_BODY = "\x00pages\x00"  # where the pages go (no XML text can hold a NUL)
_DOCTYPE = ('<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
            '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">')


def to_hocr(document: Document) -> str:
    return "".join(hocr_chunks(document, document.pages))


def hocr_chunks(document: Document, pages: Iterable[Page]) -> Iterator[str]:
    """The file in pieces, one page at a time: a long document's pages need not all be in memory."""
    html = ET.Element("html", {"xmlns": XHTML, "xml:lang": "en", "lang": "en"})
    head = ET.SubElement(html, "head")
    ET.SubElement(head, "title").text = xml_text(document.source.filename or "ocrflow")
    ET.SubElement(head, "meta", {"http-equiv": "Content-Type", "content": "text/html;charset=utf-8"})
    engine = " ".join(filter(None, [document.provider.name, document.provider.engine, document.provider.version]))
    ET.SubElement(head, "meta", {"name": "ocr-system", "content": xml_text(f"ocrflow ({engine})")})
    ET.SubElement(head, "meta", {"name": "ocr-capabilities", "content": CAPABILITIES})
    ET.SubElement(head, "meta", {"name": "ocr-number-of-pages", "content": str(document.source.page_count)})
    ET.SubElement(html, "body").text = _BODY
    ET.indent(html, space=" ")
    start, _, end = ET.tostring(html, encoding="unicode").partition(_BODY)
    yield '<?xml version="1.0" encoding="UTF-8"?>\n' + _DOCTYPE + "\n" + start
    language = document.provider.languages[0] if document.provider.languages else None
    image = xml_text(document.source.filename or "").replace('"', "'")
    for page in pages:
        body = ET.Element("body")
        _page(body, page, image, language)
        ET.indent(body, space=" ", level=1)
        yield "\n  " + "".join(ET.tostring(child, encoding="unicode") for child in body).rstrip() + "\n "
    yield end + "\n"


def _page(body: ET.Element, page: Page, image: str, language: str | None) -> None:
    width, height, dpi = page_pixels(page)
    n = page.index + 1
    title = f'image "{image}"; bbox 0 0 {width} {height}; ppageno {page.index}; scan_res {round(dpi)} {round(dpi)}'
    element = ET.SubElement(body, "div", {"class": "ocr_page", "id": f"page_{n}", "title": title})
    for b, block in enumerate(page.blocks, 1):
        area = ET.SubElement(element, "div", {"class": "ocr_carea", "id": f"block_{n}_{b}",
                                              **_title(block.bbox, width, height)})
        attributes = {"class": "ocr_par", "id": f"par_{n}_{b}", **_title(block.bbox, width, height)}
        if block.language or language:
            attributes["lang"] = block.language or language
        paragraph = ET.SubElement(area, "p", attributes)
        for ln, line in enumerate(block.lines, 1):
            span = ET.SubElement(paragraph, "span", {"class": "ocr_line", "id": f"line_{n}_{b}_{ln}",
                                                     **_title(line.bbox, width, height)})
            words = line_words(line)
            for w, word in enumerate(words, 1):
                if w > 1:
                    (span[-1]).tail = " "
                extra = f"x_wconf {round(word.confidence * 100)}" if word.confidence is not None else None
                item = ET.SubElement(span, "span", {"class": "ocrx_word", "id": f"word_{n}_{b}_{ln}_{w}",
                                                    **_title(word.bbox, width, height, extra)})
                item.text = xml_text(word.text)


def _title(box: BBox | None, width: int, height: int, extra: str | None = None) -> dict[str, str]:
    parts = []
    if box is not None:
        parts.append("bbox {} {} {} {}".format(*pixel_box(box, width, height)))
    if extra:
        parts.append(extra)
    return {"title": "; ".join(parts)} if parts else {}


_BBOX = re.compile(r"\bbbox\s+(-?\d+)\s+(-?\d+)\s+(-?\d+)\s+(-?\d+)")
_WCONF = re.compile(r"\bx_wconf\s+(-?\d+(?:\.\d+)?)")


def read_hocr(text: str) -> list[Page]:
    """The pages of an hOCR file: blocks (`ocr_carea`), lines, words with their boxes (fractions of the page's
    `bbox`) and confidences. Raises ValueError for text that is not XHTML."""
    try:
        root = ET.fromstring(text.split("\n", 1)[1] if text.startswith("<?xml") else text)
    except ET.ParseError as exc:
        raise ValueError(f"not an XHTML hOCR file: {exc}") from None
    pages = []
    for index, element in enumerate(e for e in root.iter() if _classes(e) & {"ocr_page"}):
        page_box = _BBOX.search(element.get("title", ""))
        if page_box is None:
            raise ValueError(f"ocr_page {index + 1} has no bbox")
        width, height = int(page_box.group(3)) or 1, int(page_box.group(4)) or 1
        blocks = []
        for area in (e for e in element.iter() if _classes(e) & {"ocr_carea"}):
            lines = [_line(span, width, height) for span in area.iter() if _classes(span) & LINE_CLASSES]
            paragraph = next((e for e in area.iter() if _classes(e) & {"ocr_par"}), None)
            blocks.append(Block(bbox=_box(area.get("title", ""), width, height), lines=lines,
                                language=paragraph.get("lang") if paragraph is not None else None))
        pages.append(Page(index=index, width=width, height=height, unit="px", blocks=blocks,
                          text="\n\n".join(block.text for block in blocks)))
    return pages


def _line(span: ET.Element, width: int, height: int) -> Line:
    words = []
    for item in (e for e in span.iter() if _classes(e) & {"ocrx_word"}):
        title = item.get("title", "")
        confidence = _WCONF.search(title)
        words.append(Word(text="".join(item.itertext()).strip(), bbox=_box(title, width, height),
                          confidence=min(1.0, max(0.0, float(confidence.group(1)) / 100)) if confidence else None))
    return Line(text=" ".join(w.text for w in words), bbox=_box(span.get("title", ""), width, height), words=words)


def _box(title: str, width: int, height: int) -> BBox | None:
    found = _BBOX.search(title)
    if found is None:
        return None
    x0, y0, x1, y1 = (int(v) for v in found.groups())
    clamp = lambda v, size: min(1.0, max(0.0, v / size))  # noqa: E731
    return BBox(x0=clamp(x0, width), y0=clamp(y0, height), x1=clamp(max(x0, x1), width),
                y1=clamp(max(y0, y1), height))


def _classes(element: ET.Element) -> set[str]:
    return set(element.get("class", "").split())
