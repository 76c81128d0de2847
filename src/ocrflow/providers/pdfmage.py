"""pdfmage document OCR (PROVIDERS.md §4): one synchronous multipart POST of a PDF; JSON back.

The answer has four FLAT element lists per page (blocks, paragraphs, lines, tokens), each element with four
normalized vertices and a confidence. We regroup them into ocrflow's hierarchy: every token goes to the line
whose box holds the token's centre (else the nearest line, else the line of the token before it), every line
to the block holding its centre (else the nearest block). Paragraphs are only used when blocks are missing.

Choices made here:
* Page size: taken from the part we sent (`DocumentPart.page_sizes`: points for PDF pages, pixels for images,
  measured by ocrflow), because pdfmage's `dimensions.unit` is unreliable (it labels 612 x 792 PDF points
  "px"). Only when that is missing do we use `dimensions` with unit "unknown". Boxes are 0-1 either way.
* The call is charged per page: a read time-out is NOT retried (the work may have been done and billed).
  A 200 whose body cannot be read is retried (ProviderUnavailableError): the result is lost either way and a
  garbled body is a transient failure; the runner bounds the attempts.
* 422 NO_TEXT_CONTENT -> ProviderRejectedInputError: pdfmage returned no OCR at all, and we cannot tell a
  truly blank document from one it failed to read ("Document contains only images"), so an empty result would
  risk a silently wrong answer for a scan. The error says why and suggests another provider.
* pdfmage has no language parameter: requested languages are ignored; `metadata.language` (if any) is
  recorded on the blocks as an ISO 639-2 code when we know the mapping.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import httpx
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, ValidationError

from ocrflow.document import BBox, Block, Credits, Line, Page, PageWarning, Point, TextSource, WarningCode, Word
from ocrflow.engines.languages import ISO_639_1_TO_3
from ocrflow.errors import (
    FileTooLargeError,
    OcrflowError,
    ProviderAuthError,
    ProviderError,
    ProviderRejectedInputError,
    ProviderUnavailableError,
    QuotaExhaustedError,
    ThrottledError,
)
from ocrflow.geometry import bbox_from_points, polygon_from_vertices, union_boxes
from ocrflow.providers.base import DocumentPart, OcrRequest, Provider, ProviderLimits, ProviderResult, RawResponse
from ocrflow.providers.http import retry_after_seconds, transport_error
from ocrflow.providers.settings import ProviderSettings, settings_config

NAME = "pdfmage"
DEFAULT_ENDPOINT = "https://pdfmage.app/api/v1/document-ocr"
OCR_PATH = "/api/v1/document-ocr"
#: documented price of OCR, for estimates (PROVIDERS.md §4.4); the headers report what was really charged
PRICE_PER_PAGE_USD = 0.01
ENGINE = "pdfmage document-ocr"


class PdfMageSettings(ProviderSettings):
    model_config = settings_config(NAME)

    endpoint: str = Field(default=DEFAULT_ENDPOINT, description="The document-ocr URL (a bare base URL gets "
                                                                "the documented path appended)")
    api_key: SecretStr = Field(description="pdfmage API key (pk_live_...), sent as a Bearer token")
    timeout_seconds: float = Field(default=180.0, gt=0, description="Read time-out: multi-page PDFs take a while")
    max_file_bytes: int = Field(default=10_000_000, gt=0, description="Documented 10 MB per file (MB vs MiB "
                                                                      "unconfirmed: the smaller one)")
    max_pages: int | None = Field(default=None, ge=1, description="Pages per request; none is documented")


def ocr_url(endpoint: str) -> str:
    """The document-ocr URL: `endpoint` as given, or with the documented path when it is a bare host."""
    parts = urlsplit(endpoint.strip())
    if parts.path in ("", "/"):
        return urlunsplit((parts.scheme, parts.netloc, OCR_PATH, parts.query, ""))
    return endpoint.strip()


# --- the wire format (typed, tolerant edges) -----------------------------------------------------------------


def _number(value: Any) -> float | None:
    """A finite number from a number or a numeric string; None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _dicts(value: Any) -> list[dict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _dict_or_none(value: Any) -> dict | None:
    return value if isinstance(value, dict) else None


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


Num = Annotated[float | None, BeforeValidator(_number)]
Text = Annotated[str | None, BeforeValidator(_text)]
Flag = Annotated[bool | None, BeforeValidator(_flag)]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class WireVertex(_Wire):
    # Google Document AI (pdfmage's engine) leaves out coordinates that are 0: a missing x or y means 0;
    # one that is present but not a number becomes None (and the element loses its geometry)
    x: Num = 0.0
    y: Num = 0.0


Vertices = Annotated[list[WireVertex], BeforeValidator(_dicts)]


class WireBoundingBox(_Wire):
    vertices: Vertices = Field(default_factory=list)
    normalized_vertices: Vertices = Field(default_factory=list, alias="normalizedVertices")
    normalized: Flag = None


class WireElement(_Wire):
    text: Text = None
    confidence: Num = None
    bounding_box: Annotated[WireBoundingBox | None, BeforeValidator(_dict_or_none)] = Field(
        default=None, alias="boundingBox")


Elements = Annotated[list[WireElement], BeforeValidator(_dicts)]


class WireDimensions(_Wire):
    width: Num = None
    height: Num = None
    unit: Text = None


class WirePage(_Wire):
    page_number: Num = Field(default=None, alias="pageNumber")
    dimensions: Annotated[WireDimensions | None, BeforeValidator(_dict_or_none)] = None
    text: Text = None
    confidence: Num = None
    blocks: Elements = Field(default_factory=list)
    paragraphs: Elements = Field(default_factory=list)
    lines: Elements = Field(default_factory=list)
    tokens: Elements = Field(default_factory=list)


Pages = Annotated[list[WirePage], BeforeValidator(_dicts)]


class WireExtractedText(_Wire):
    full_text: Text = Field(default=None, alias="fullText")
    pages: Annotated[list[WirePage] | None, BeforeValidator(lambda v: _dicts(v) if isinstance(v, list) else None)] \
        = None


class WireElementCounts(_Wire):
    """Informational counts; documented as metadata.elementCounts {blocks, ...} and, on another version of
    the page, structuredElements {textBlocks, ...} [CONFLICT]."""

    blocks: Num = None
    text_blocks: Num = Field(default=None, alias="textBlocks")
    paragraphs: Num = None
    lines: Num = None
    tokens: Num = None


Counts = Annotated[WireElementCounts | None, BeforeValidator(_dict_or_none)]


class WireMetadata(_Wire):
    page_count: Num = Field(default=None, alias="pageCount")
    processing_time_ms: Num = Field(default=None, alias="processingTimeMs")
    language: Text = None
    element_counts: Counts = Field(default=None, alias="elementCounts")
    structured_elements: Counts = Field(default=None, alias="structuredElements")


class WireResponse(_Wire):
    file_name: Text = Field(default=None, alias="fileName")
    processed_at: Text = Field(default=None, alias="processedAt")
    document_id: Text = Field(default=None, alias="documentId")
    extracted_text: Annotated[WireExtractedText | None, BeforeValidator(_dict_or_none)] = Field(
        default=None, alias="extractedText")
    metadata: Annotated[WireMetadata | None, BeforeValidator(_dict_or_none)] = None
    structured_elements: Counts = Field(default=None, alias="structuredElements")
    #: tolerated variant: pages at the top level instead of under extractedText
    pages: Annotated[list[WirePage] | None, BeforeValidator(lambda v: _dicts(v) if isinstance(v, list) else None)] \
        = None

    def page_list(self) -> list[WirePage] | None:
        if self.extracted_text is not None and self.extracted_text.pages is not None:
            return self.extracted_text.pages
        return self.pages

    def element_counts(self) -> WireElementCounts | None:
        meta = self.metadata
        return (meta.element_counts or meta.structured_elements if meta else None) or self.structured_elements


class WireErrorDetails(_Wire):
    code: Text = None
    allowed_formats: Any = Field(default=None, alias="allowedFormats")
    received_format: Text = Field(default=None, alias="receivedFormat")
    amount_required: Num = Field(default=None, alias="amountRequired")
    current_balance: Num = Field(default=None, alias="currentBalance")
    page_count: Num = Field(default=None, alias="pageCount")
    purchase_url: Text = Field(default=None, alias="purchaseUrl")
    reason: Text = None
    hint: Text = None


class WireError(_Wire):
    error: Text = None
    message: Text = None
    details: Annotated[WireErrorDetails | None, BeforeValidator(_dict_or_none)] = None
    request_id: Text = Field(default=None, alias="requestId")


# --- errors ---------------------------------------------------------------------------------------------------


def _error_body(response: httpx.Response) -> WireError:
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return WireError()
    if not isinstance(body, dict):
        return WireError()
    try:
        return WireError.model_validate(body)
    except ValidationError:  # pragma: no cover - every field is tolerant
        return WireError()


def _clip(text: str | None, limit: int = 200) -> str | None:
    if text is None:
        return None
    text = " ".join(text.split())
    return text[:limit] + "..." if len(text) > limit else text


def error_for(response: httpx.Response) -> OcrflowError:
    """The typed error for a pdfmage answer that is not a 200."""
    status = response.status_code
    body = _error_body(response)
    details = body.details or WireErrorDetails()
    said = _clip(body.message) or _clip(body.error) or response.reason_phrase or f"HTTP {status}"
    info: dict[str, Any] = {"provider": NAME, "status": status}
    if details.code:
        info["provider_code"] = details.code
    if body.request_id:
        info["request_id"] = body.request_id
    if status == 400:
        if details.received_format:
            info["received_format"] = details.received_format
        if isinstance(details.allowed_formats, list):
            info["allowed_formats"] = [str(f) for f in details.allowed_formats]
        return ProviderRejectedInputError(f"pdfmage rejected the file: {said}", **info)
    if status == 401:
        hint = f" ({_clip(details.hint)})" if details.hint else ""
        return ProviderAuthError(f"pdfmage refused the API key: {said}{hint}; check OCRFLOW_PDFMAGE_API_KEY", **info)
    if status == 402:
        for key, value in (("current_balance", details.current_balance), ("amount_required", details.amount_required),
                           ("page_count", details.page_count), ("purchase_url", details.purchase_url)):
            if value is not None:
                info[key] = value
        need = ""
        if details.current_balance is not None and details.amount_required is not None:
            need = f" (balance {details.current_balance:g} USD, needs {details.amount_required:g} USD)"
        return QuotaExhaustedError(f"pdfmage credit balance is too low{need}: {said}", **info)
    if status == 403:
        return ProviderAuthError(f"the pdfmage API key may not use document OCR: {said}", **info)
    if status == 413:
        return FileTooLargeError(f"pdfmage refused the file as too large (limit 10 MB): {said}", **info)
    if status == 422:
        if details.reason:
            info["reason"] = _clip(details.reason)
        if details.page_count is not None:
            info["page_count"] = details.page_count
        reason = f" ({_clip(details.reason)})" if details.reason else ""
        return ProviderRejectedInputError(
            f"pdfmage found no text to extract{reason}; the document may be blank - try another provider such "
            "as tesseract", **info)
    if status == 429:
        wait = retry_after_seconds(response)
        return ThrottledError(f"pdfmage is rate-limiting this API key: {said}", retry_after=wait, **info)
    if status >= 500 or status == 408:
        return ProviderUnavailableError(f"pdfmage failed (HTTP {status}): {said}", **info)
    return ProviderError(f"pdfmage answered HTTP {status}: {said}", **info)


# --- credits --------------------------------------------------------------------------------------------------


def credits_from_headers(headers: Mapping[str, str]) -> Credits | None:
    """X-Credits-Used / -Remaining / -Currency (money, e.g. 0.02 / 4.98 / USD); None when not reported."""
    used = _number(headers.get("x-credits-used"))
    if used is None or used < 0:
        return None
    remaining = _number(headers.get("x-credits-remaining"))
    currency = (headers.get("x-credits-currency") or "").strip().upper()
    unit = currency if currency.isalpha() and len(currency) <= 8 else "USD"
    return Credits(used=used, remaining=remaining, unit=unit)


# --- geometry and regrouping ----------------------------------------------------------------------------------


class _Box:
    """One element's geometry in page fractions: box, polygon (clockwise from top-left), centre."""

    __slots__ = ("bbox", "polygon")

    def __init__(self, bbox: BBox, polygon: list[Point] | None) -> None:
        self.bbox = bbox
        self.polygon = polygon

    @property
    def centre(self) -> tuple[float, float]:
        return (self.bbox.x0 + self.bbox.x1) / 2, (self.bbox.y0 + self.bbox.y1) / 2

    def contains(self, point: tuple[float, float]) -> bool:
        return self.bbox.x0 <= point[0] <= self.bbox.x1 and self.bbox.y0 <= point[1] <= self.bbox.y1

    def distance(self, point: tuple[float, float]) -> float:
        dx = max(self.bbox.x0 - point[0], 0.0, point[0] - self.bbox.x1)
        dy = max(self.bbox.y0 - point[1], 0.0, point[1] - self.bbox.y1)
        return math.hypot(dx, dy)

    @property
    def area(self) -> float:
        return self.bbox.width * self.bbox.height


def _geometry(element: WireElement, page_size: tuple[float, float] | None) -> _Box | None:
    box = element.bounding_box
    if box is None:
        return None
    vertices = box.vertices or box.normalized_vertices
    if not vertices or any(v.x is None or v.y is None for v in vertices):
        return None
    points = [(float(v.x), float(v.y)) for v in vertices]  # type: ignore[arg-type]
    scale_w = scale_h = 1.0
    if box.normalized is False and not box.normalized_vertices:
        if page_size is None:
            return None  # page units, but no page size to divide by
        scale_w, scale_h = page_size
    if len(points) >= 3:
        polygon = polygon_from_vertices(points, scale_w, scale_h)
        return _Box(bbox_from_points(polygon), polygon)
    corners = [Point(x=min(max(x / scale_w, 0.0), 1.0), y=min(max(y / scale_h, 0.0), 1.0)) for x, y in points]
    return _Box(bbox_from_points(corners), None)


def _confidence(value: float | None) -> float | None:
    return value if value is not None and 0.0 <= value <= 1.0 else None


class _Node:
    """A provider element on its way into the hierarchy."""

    def __init__(self, text: str, box: _Box | None, confidence: float | None) -> None:
        self.text = text
        self.box = box
        self.confidence = confidence
        self.children: list[_Node] = []


def _nodes(elements: Sequence[WireElement], page_size: tuple[float, float] | None, keep_empty: bool) -> list[_Node]:
    nodes = []
    for element in elements:
        text = (element.text or "").strip()
        if not text and not keep_empty:
            continue
        nodes.append(_Node(text, _geometry(element, page_size), _confidence(element.confidence)))
    return nodes


def _home(child: _Node, parents: list[_Node], previous: _Node | None) -> _Node:
    """The parent holding the child's centre (the smallest when several do), else the nearest parent, else the
    parent of the previous child (text order)."""
    if child.box is not None:
        centre = child.box.centre
        placed = [p for p in parents if p.box is not None]
        holding = [p for p in placed if p.box.contains(centre)]
        if holding:
            return min(holding, key=lambda p: p.box.area)
        if placed:
            return min(placed, key=lambda p: p.box.distance(centre))
    return previous or parents[0]


def _assign(children: list[_Node], parents: list[_Node]) -> None:
    previous: _Node | None = None
    for child in children:
        parent = _home(child, parents, previous)
        parent.children.append(child)
        previous = parent


def _lines_from_tokens(tokens: list[_Node]) -> list[_Node]:
    """No lines in the answer: tokens whose centres share a height band form a line (text order kept)."""
    lines: list[_Node] = []
    for token in tokens:
        line = lines[-1] if lines else None
        if token.box is not None and line is not None and line.box is not None:
            y = token.box.centre[1]
            if not line.box.bbox.y0 <= y <= line.box.bbox.y1:
                line = None
        if line is None:
            line = _Node("", None, None)
            lines.append(line)
        line.children.append(token)
        union = union_boxes([t.box.bbox for t in line.children if t.box is not None])
        line.box = _Box(union, None) if union else None
    for line in lines:
        line.text = " ".join(token.text for token in line.children)
    return lines


def _word(node: _Node) -> Word:
    return Word(text=node.text, bbox=node.box.bbox if node.box else None,
                polygon=node.box.polygon if node.box else None, confidence=node.confidence)


def _line(node: _Node) -> Line:
    words = [_word(child) for child in node.children]
    text = node.text or " ".join(word.text for word in words)
    return Line(text=text, bbox=node.box.bbox if node.box else None, polygon=node.box.polygon if node.box else None,
                confidence=node.confidence, words=words)


def _block_lines(block: _Node) -> list[Line]:
    if block.children:
        return [_line(child) for child in block.children]
    # a block with no lines or tokens: its text, one line per text line (the block's box only fits a single line)
    texts = [t.strip() for t in block.text.splitlines() if t.strip()]
    box = block.box if len(texts) == 1 else None
    return [Line(text=t, bbox=box.bbox if box else None, polygon=box.polygon if box else None,
                 confidence=block.confidence if len(texts) == 1 else None) for t in texts]


def build_blocks(page: WirePage, page_size: tuple[float, float] | None, language: str | None = None) -> list[Block]:
    """Regroup one page's flat lists into blocks -> lines -> words."""
    tokens = _nodes(page.tokens, page_size, keep_empty=False)
    lines = _nodes(page.lines, page_size, keep_empty=True)
    blocks = _nodes(page.blocks or page.paragraphs, page_size, keep_empty=True)
    if not lines and tokens:
        lines = _lines_from_tokens(tokens)
    elif lines and tokens:
        _assign(tokens, lines)
    lines = [line for line in lines if line.text or line.children]
    if not blocks and lines:
        blocks = [_Node("", None, None)]
    if lines:
        _assign(lines, blocks)
    out = []
    for node in blocks:
        block_lines = _block_lines(node)
        if not block_lines:
            continue
        bbox = node.box.bbox if node.box else union_boxes([line.bbox for line in block_lines])
        out.append(Block(bbox=bbox, confidence=node.confidence, language=language, lines=block_lines))
    return out


# --- the whole answer -----------------------------------------------------------------------------------------


def _language(metadata: WireMetadata | None) -> str | None:
    code = (metadata.language or "").strip().lower() if metadata else ""
    if not code or not code.replace("-", "").replace("_", "").isalpha() or len(code) > 12:
        return None
    base = code.replace("_", "-").split("-")[0]
    return ISO_639_1_TO_3.get(base, base)


def _page_size(part: DocumentPart, local: int, wire: WirePage | None) -> tuple[float, float, str]:
    if local < len(part.page_sizes):
        width, height, unit = part.page_sizes[local]
        if width > 0 and height > 0:
            return float(width), float(height), unit
    dims = wire.dimensions if wire else None
    if dims and dims.width and dims.height and dims.width > 0 and dims.height > 0:
        return dims.width, dims.height, "unknown"
    return 1.0, 1.0, "unknown"


def _order_pages(pages: list[WirePage], count: int) -> dict[int, WirePage]:
    """Pages by 0-based index in the part: pageNumber (1-based) where it is sane, else the list position."""
    numbers = [p.page_number for p in pages]
    usable = all(n is not None and n == int(n) and 1 <= n <= count for n in numbers) and \
        len({int(n) for n in numbers if n is not None}) == len(numbers)
    if usable:
        return {int(n) - 1: page for n, page in zip(numbers, pages, strict=True) if n is not None}
    return dict(enumerate(pages[:count]))


def pages_from_answer(answer: WireResponse, part: DocumentPart) -> list[Page]:
    wire_pages = answer.page_list()
    if wire_pages is None:
        raise ProviderUnavailableError("pdfmage answered without extractedText.pages", provider=NAME)
    language = _language(answer.metadata)
    by_index = _order_pages(wire_pages, max(part.page_count, 1))
    pages = []
    for local in range(part.page_count):
        wire = by_index.get(local)
        width, height, unit = _page_size(part, local, wire)
        if wire is None:
            pages.append(Page(index=local, width=width, height=height, unit=unit, text="", warnings=[PageWarning(
                code=WarningCode.PAGE_FAILED, message="pdfmage returned nothing for this page")]))
            continue
        dims = wire.dimensions
        size = (dims.width, dims.height) if dims and dims.width and dims.height and dims.width > 0 \
            and dims.height > 0 else None
        blocks = build_blocks(wire, size, language)
        text = (wire.text or "").strip() or "\n\n".join(block.text for block in blocks)
        pages.append(Page(index=local, width=width, height=height, unit=unit, text_source=TextSource.OCR, text=text,
                          confidence=_confidence(wire.confidence), blocks=blocks))
    return pages


def result_from_response(response: httpx.Response, part: DocumentPart) -> ProviderResult:
    """A 200 answer as a ProviderResult; any other answer as its typed error."""
    if response.status_code != 200:
        raise error_for(response)
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        raise ProviderUnavailableError("pdfmage answered with a body that is not JSON", provider=NAME,
                                       credits_used=_number(response.headers.get("x-credits-used"))) from None
    if not isinstance(body, dict):
        raise ProviderUnavailableError("pdfmage answered with JSON that is not an object", provider=NAME)
    try:
        answer = WireResponse.model_validate(body)
        pages = pages_from_answer(answer, part)
    except ValidationError as exc:
        raise ProviderUnavailableError(f"pdfmage answered with JSON ocrflow cannot read ({exc.error_count()} "
                                       "problems)", provider=NAME) from None
    raw = RawResponse(name=f"{NAME} document-ocr {part.filename}",
                      content_type=response.headers.get("content-type", "application/json"),
                      body=response.content.decode("utf-8", "replace"))
    return ProviderResult(pages=pages, raw=[raw], credits=credits_from_headers(response.headers), engine=ENGINE)


# --- the client -----------------------------------------------------------------------------------------------


class PdfMageProvider(Provider):
    name: ClassVar[str] = NAME
    settings_class: ClassVar[type[ProviderSettings]] = PdfMageSettings

    def __init__(self, settings: PdfMageSettings, http: httpx.Client | None = None) -> None:
        super().__init__(settings, http)
        self.settings: PdfMageSettings = settings
        self.url = ocr_url(settings.endpoint)
        self.limits = ProviderLimits(max_bytes=settings.max_file_bytes, max_pages=settings.max_pages,
                                     media_types=frozenset({"application/pdf"}), max_concurrency=2,
                                     cost_unit="usd")

    def submit(self, part: DocumentPart, request: OcrRequest) -> ProviderResult:
        """One charged POST; languages are ignored (pdfmage detects them itself)."""
        headers = {"Accept": "application/json",
                   "Authorization": f"Bearer {self.settings.api_key.get_secret_value()}"}
        files = {"file": (part.filename, part.data, "application/pdf")}
        try:
            response = self.http.post(self.url, headers=headers, files=files)
        except httpx.HTTPError as exc:
            raise transport_error(NAME, exc, idempotent=False) from None
        return result_from_response(response, part)
