"""The normalized document, v1: what every provider's result becomes.

document -> pages -> blocks -> lines -> words. Boxes are fractions (0-1) of the page as it is *displayed*
(after the PDF /Rotate), origin top-left, y growing downward. Confidence is 0-1, or None when the engine
gives none - never a made-up value. `schemas/document.v1.schema.json` is generated from these models
(`ocrflow schema`) and a test keeps the two in sync.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SCHEMA_VERSION = "1.0"

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Confidence = Annotated[float, Field(ge=0.0, le=1.0, description="0-1; null when the engine reports none")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BBox(_Model):
    """Axis-aligned box in page fractions, origin top-left."""

    x0: Fraction
    y0: Fraction
    x1: Fraction
    y1: Fraction

    @model_validator(mode="after")
    def _ordered(self) -> BBox:
        if self.x0 > self.x1 or self.y0 > self.y1:
            raise ValueError("bbox needs x0 <= x1 and y0 <= y1")
        return self

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0


class Point(_Model):
    x: Fraction
    y: Fraction


Polygon = Annotated[
    list[Point],
    Field(min_length=3, description="Vertices in page fractions, clockwise starting top-left"),
]


class Word(_Model):
    text: str
    bbox: BBox | None = None
    polygon: Polygon | None = None
    confidence: Confidence | None = None


class Line(_Model):
    text: str
    bbox: BBox | None = None
    polygon: Polygon | None = None
    confidence: Confidence | None = None
    words: list[Word] = Field(default_factory=list)


class TextSource(StrEnum):
    OCR = "ocr"
    PDF = "pdf"  # the page already carried text; it was read, not recognised
    MIXED = "mixed"  # the page's own text was read, and its scan OCRed where that text does not cover it


class Block(_Model):
    bbox: BBox | None = None
    confidence: Confidence | None = None
    language: str | None = Field(default=None, description="Language the provider detected, if any")
    text_source: TextSource | None = Field(default=None, description="Where this block's text came from, on a "
                                           "page of mixed origin (`pdf` or `ocr`); null: the page's own source")
    lines: list[Line] = Field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


class WarningCode(StrEnum):
    FEW_WORDS = "few_words"
    LOW_CONFIDENCE = "low_confidence"
    ROTATED = "rotated"
    SKEWED = "skewed"
    DOWNSCALED = "downscaled"
    TEXT_FROM_PDF = "text_from_pdf"
    TEXT_LAYER_UNUSABLE = "text_layer_unusable"  # the page's own text decodes to garbage; it was OCRed instead
    DPI_CAPPED = "dpi_capped"
    PAGE_FAILED = "page_failed"      # the provider could not read this page; it is empty
    BOXES_DROPPED = "boxes_dropped"  # the provider's word boxes could not be placed reliably; text kept
    BLANK_PAGE = "blank_page"        # no ink on the page; it was not OCRed
    TINY_IMAGE = "tiny_image"        # the image is too small to hold text; it was not OCRed
    MIXED_PAGE = "mixed_page"        # the page's own text was kept and its scan OCRed where that text is not
    TEXT_REPLACED = "text_replaced"  # ocr_mode force: the page's own text was set aside for an OCR reading
    SECOND_ENGINE_FAILED = "second_engine_failed"  # the second engine could not read this weak page: Tesseract's


class PageWarning(_Model):
    code: WarningCode
    message: str




class Page(_Model):
    index: int = Field(ge=0, description="0-based page number in the source document")
    width: float = Field(gt=0, description="Displayed page width, in `unit`")
    height: float = Field(gt=0, description="Displayed page height, in `unit`")
    unit: Literal["pt", "px", "unknown"] = "pt"
    rotation: Literal[0, 90, 180, 270] = Field(
        default=0, description="Display rotation of the source page (PDF /Rotate), clockwise degrees"
    )
    text_orientation: Literal[0, 90, 180, 270] | None = Field(
        default=None,
        description="How far the text was turned on the displayed page (clockwise); null when not detected",
    )
    skew_degrees: float | None = Field(default=None, description="Small-angle skew corrected for OCR")
    dpi: float | None = Field(default=None, gt=0, description="Resolution the page was read at")
    text_source: TextSource = Field(default=TextSource.OCR, description="What the page's text came from: `ocr` "
                                    "(recognised from its image), `pdf` (the text it carried, read), `mixed` "
                                    "(both: each block says which)")
    engine: str | None = Field(
        default=None, description="The engine whose reading this page is (tesseract, rapidocr); null when the page "
        "was not OCRed by an embedded engine")
    text: str = ""
    confidence: Confidence | None = None
    blocks: list[Block] = Field(default_factory=list)
    warnings: list[PageWarning] = Field(default_factory=list)

    def words(self) -> list[Word]:
        return [word for block in self.blocks for line in block.lines for word in line.words]


class Source(_Model):
    media_type: str
    bytes: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    page_count: int = Field(ge=0)
    filename: str | None = None
    bucket: str | None = None
    key: str | None = None
    version_id: str | None = None


class ProviderInfo(_Model):
    name: str = Field(description="Provider name: tesseract, adobe, ocrspace, pdfocr, pdfmage, yandex")
    engine: str | None = Field(default=None, description="Engine or model the provider used")
    version: str | None = None
    languages: list[str] = Field(default_factory=list)
    raw_response_ref: str | None = Field(default=None, description="Where the provider's raw answer is kept")


class Timings(_Model):
    started_at: datetime
    finished_at: datetime
    total_seconds: float = Field(ge=0)
    stages: dict[str, float] = Field(default_factory=dict, description="Seconds spent per stage")


class Credits(_Model):
    used: float = Field(ge=0)
    remaining: float | None = None
    unit: str = "pages"


class SearchablePdfRef(_Model):
    origin: Literal["ocrflow", "provider"]
    uri: str | None = None
    expires_at: datetime | None = None


class Document(_Model):
    schema_version: Literal["1.0"] = SCHEMA_VERSION
    provider: ProviderInfo
    source: Source
    pages: list[Page]
    text: str = Field(description="All page texts, pages separated by a form feed")
    timings: Timings | None = None
    credits: Credits | None = None
    searchable_pdf: SearchablePdfRef | None = None

    @staticmethod
    def join_pages(pages: list[Page]) -> str:
        return "\f".join(page.text for page in pages)


def document_json_schema() -> dict:
    schema = Document.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://ocrflow.dev/schemas/document.v1.schema.json"
    return schema


def document_json_schema_text() -> str:
    return json.dumps(document_json_schema(), indent=2, sort_keys=True) + "\n"
