"""ALTO v4.4 XML (https://www.loc.gov/standards/alto/): the document as library viewers, eScriptorium and
similar tools read it. It validates against the official schema, shipped in `schemas/alto-4-4.xsd`.

`MeasurementUnit` is `pixel`, in the page's pixel space (`formats.page_pixels`, the same as the hOCR's). Each
page is a `Page` with one `PrintSpace` covering it; each block a `TextBlock` (`LANG` where known), each line a
`TextLine`, each word a `String` with `WC` (0-1) where the engine gave a confidence, `SP` between words. A
block, line or word without a box has no position: ALTO makes them optional.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator

from ocrflow.document import BBox, Document, Page
from ocrflow.formats.pixels import line_words, page_pixels, pixel_box, xml_text

NAMESPACE = "http://www.loc.gov/standards/alto/ns-v4#"
SCHEMA_LOCATION = f"{NAMESPACE} http://www.loc.gov/standards/alto/v4/alto-4-4.xsd"
_PAGES = "\x00pages\x00"  # where the pages go (no XML text can hold a NUL)
_LANGUAGE = re.compile(r"^[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*$")  # xsd:language


def to_alto(document: Document) -> bytes:
    return "".join(alto_chunks(document, document.pages)).encode("utf-8")


def alto_chunks(document: Document, pages: Iterable[Page]) -> Iterator[str]:
    """The file in pieces, one page at a time: a long document's pages need not all be in memory."""
    ET.register_namespace("", NAMESPACE)
    ET.register_namespace("xsi", "http://www.w3.org/2001/XMLSchema-instance")
    root = ET.Element(_q("alto"), {"{http://www.w3.org/2001/XMLSchema-instance}schemaLocation": SCHEMA_LOCATION})
    description = ET.SubElement(root, _q("Description"))
    ET.SubElement(description, _q("MeasurementUnit")).text = "pixel"
    if document.source.filename:
        source = ET.SubElement(description, _q("sourceImageInformation"))
        ET.SubElement(source, _q("fileName")).text = xml_text(document.source.filename)
    processing = ET.SubElement(description, _q("Processing"), {"ID": "ocr"})
    if document.timings is not None:
        ET.SubElement(processing, _q("processingDateTime")).text = document.timings.finished_at.isoformat()
    engine = " ".join(filter(None, [document.provider.name, document.provider.engine]))
    ET.SubElement(processing, _q("processingStepSettings")).text = (
        f"provider: {engine}; languages: {'+'.join(document.provider.languages) or 'unknown'}")
    software = ET.SubElement(processing, _q("processingSoftware"))
    ET.SubElement(software, _q("softwareName")).text = "ocrflow"
    if document.provider.version:
        ET.SubElement(software, _q("softwareVersion")).text = document.provider.version
    ET.SubElement(root, _q("Layout")).text = _PAGES
    ET.indent(root, space=" ")
    start, _, end = ET.tostring(root, encoding="unicode", xml_declaration=True).partition(_PAGES)
    yield start
    language = _language(document.provider.languages[0] if document.provider.languages else None)
    for page in pages:
        layout = ET.Element(_q("Layout"))
        _page(layout, page, language)
        ET.indent(layout, space=" ", level=1)
        # each Page declares the ALTO namespace again: redundant, and valid
        yield "\n  " + "".join(ET.tostring(child, encoding="unicode") for child in layout).rstrip() + "\n "
    yield end + "\n"


def _page(layout: ET.Element, page: Page, language: str | None) -> None:
    width, height, _ = page_pixels(page)
    n = page.index + 1
    element = ET.SubElement(layout, _q("Page"), {"ID": f"page_{n}", "PHYSICAL_IMG_NR": str(n),
                                                 "WIDTH": str(width), "HEIGHT": str(height),
                                                 "PROCESSINGREFS": "ocr"})
    space = ET.SubElement(element, _q("PrintSpace"), {"HPOS": "0", "VPOS": "0", "WIDTH": str(width),
                                                      "HEIGHT": str(height)})
    for b, block in enumerate(page.blocks, 1):
        attributes = {"ID": f"block_{n}_{b}", **_position(block.bbox, width, height)}
        if lang := (_language(block.language) or language):
            attributes["LANG"] = lang
        text_block = ET.SubElement(space, _q("TextBlock"), attributes)
        for ln, line in enumerate(block.lines, 1):
            text_line = ET.SubElement(text_block, _q("TextLine"),
                                      {"ID": f"line_{n}_{b}_{ln}", **_position(line.bbox, width, height)})
            words = line_words(line)
            for w, word in enumerate(words, 1):
                if w > 1:
                    ET.SubElement(text_line, _q("SP"))
                attributes = {"ID": f"word_{n}_{b}_{ln}_{w}", "CONTENT": xml_text(word.text),
                              **_position(word.bbox, width, height)}
                if word.confidence is not None:
                    attributes["WC"] = f"{word.confidence:.4g}"
                ET.SubElement(text_line, _q("String"), attributes)


def _position(box: BBox | None, width: int, height: int) -> dict[str, str]:
    if box is None:
        return {}
    x0, y0, x1, y1 = pixel_box(box, width, height)
    return {"HPOS": str(x0), "VPOS": str(y0), "WIDTH": str(x1 - x0), "HEIGHT": str(y1 - y0)}


def _language(code: str | None) -> str | None:
    return code if code and _LANGUAGE.match(code) else None


def _q(name: str) -> str:
    return f"{{{NAMESPACE}}}{name}"
