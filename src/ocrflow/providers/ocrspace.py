"""OCR.space OCR API client (PROVIDERS.md §2): one synchronous POST to /parse/image per request.

OCR.space answers with text and, on request, word rectangles in *pixels of the image it read* - but never
says how big that image was. Images: we know their pixel size (we decode what we send, EXIF-transposed).
PDFs: the raster OCR.space uses is undocumented, so by default (`pdf_as_images`) each PDF page is rendered
here to a grey JPEG of known size and sent as an image: boxes are then exact and ocrflow builds the
searchable PDF from the original. With `pdf_as_images=false` the PDF goes as it is: text is kept, words get
no boxes (never guessed), and OCR.space's own searchable PDF is downloaded at once (its link lives 1 h).

Errors come as JSON objects, JSON strings, bare text (HTTP 403 rate limits) or XML; all become typed errors.
On a PRO plan a transient failure of one host is retried once on the other before giving up.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import logging
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

import httpx
import pikepdf
from PIL import Image, ImageOps
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import NoDecode

from ocrflow.document import Block, Credits, Line, Page, PageWarning, TextSource, WarningCode, Word
from ocrflow.errors import (
    ConfigError,
    DamagedImageError,
    DamagedPdfError,
    FileTooLargeError,
    ImageTooLargeError,
    LanguageNotAvailableError,
    OcrflowError,
    ProviderAuthError,
    ProviderError,
    ProviderRejectedInputError,
    ProviderUnavailableError,
    QuotaExhaustedError,
    ThrottledError,
    TooManyPagesError,
)
from ocrflow.geometry import bbox_from_rect, union_boxes
from ocrflow.pdf.pdfium_lock import PDFIUM_LOCK
from ocrflow.providers.base import DocumentPart, OcrRequest, Provider, ProviderLimits, ProviderResult, RawResponse
from ocrflow.providers.http import retry_after_seconds, transport_error
from ocrflow.providers.settings import ProviderSettings, settings_config

log = logging.getLogger(__name__)

NAME = "ocrspace"
FREE_ENDPOINT = "https://api.ocr.space/parse/image"
PRO_ENDPOINTS = ["https://apipro1.ocr.space/parse/image", "https://apipro2.ocr.space/parse/image"]
PARSE_PATH = "/parse/image"

Tier = Literal["free", "pro", "pro_pdf"]
MEDIA_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg", "image/gif", "image/tiff", "image/bmp"})
#: per request: (bytes, PDF pages). "1 MB" is read as 1,000,000 bytes - under both 10^6 and the 1024 KB the
#: API's own error message names - so a part we send can never trip the provider's check.
TIER_LIMITS: dict[str, tuple[int, int]] = {"free": (1_000_000, 3), "pro": (5_000_000, 3),
                                           "pro_pdf": (100_000_000, 999)}
#: `filetype` values per media type (the API also sniffs, but a multipart name or Content-Type can mislead it)
FILETYPES = {"application/pdf": "PDF", "image/png": "PNG", "image/jpeg": "JPG", "image/gif": "GIF",
             "image/tiff": "TIF", "image/bmp": "BMP"}
EXTENSIONS = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg", "image/gif": "gif",
              "image/tiff": "tif", "image/bmp": "bmp"}

#: ocrflow's ISO 639-2 codes (Tesseract names) -> the 3-letter codes the seed documents
LANGUAGES = {
    "ara": "ara", "bul": "bul", "chi_sim": "chs", "chi_tra": "cht", "hrv": "hrv", "ces": "cze", "cze": "cze",
    "dan": "dan", "nld": "dut", "dut": "dut", "eng": "eng", "fin": "fin", "fra": "fre", "fre": "fre",
    "deu": "ger", "ger": "ger", "ell": "gre", "gre": "gre", "hun": "hun", "kor": "kor", "ita": "ita",
    "jpn": "jpn", "pol": "pol", "por": "por", "rus": "rus", "slv": "slv", "spa": "spa", "swe": "swe",
    "tur": "tur",
}
#: listed by community wrappers only; which engines take them is unconfirmed (§2.3) - opt in with a setting
UNCONFIRMED_LANGUAGES = {"hin": "hin", "kan": "kan", "fas": "per", "per": "per", "tel": "tel", "tam": "tam",
                         "tha": "tai", "vie": "vie", "nor": "nor"}
#: what Engine 2 reads (seed: Western Latin-script languages and Chinese); it ignores `language` for these
ENGINE2_LANGUAGES = {"eng", "ger", "fre", "spa", "ita", "por", "dut", "dan", "fin", "swe", "pol", "cze", "hun",
                     "hrv", "slv", "tur", "nor", "chs", "cht"}

FILE_PARSE_CODES = {0: "file not found", 1: "success", -10: "OCR engine parse error", -20: "timeout",
                    -30: "validation error", -99: "unknown error"}
ORIENTATIONS = {"0": 0, "90": 90, "180": 180, "270": 270}


# --- settings ----------------------------------------------------------------------------------------------


def _full_url(value: str) -> str:
    """An endpoint as given, or a bare base URL (scheme://host[:port]) completed with /parse/image."""
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r} is not an http(s) URL")
    if parts.path in ("", "/"):
        parts = parts._replace(path=PARSE_PATH)
    return urlunsplit(parts)


class OcrSpaceSettings(ProviderSettings):
    model_config = settings_config(NAME)

    endpoint: str = Field(default=FREE_ENDPOINT, description="Free-tier endpoint (or a PRO/Local one)")
    endpoints: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(PRO_ENDPOINTS),
        description="PRO hosts, tried in turn on a transient failure (JSON list or comma-separated)")
    api_key: SecretStr = Field(description="OCR.space API key (sent in the `apikey` header)")
    tier: Tier = Field(default="free", description="Plan: sets the per-request size and page limits")
    engine: int = Field(default=2, ge=1, le=3, description="OCREngine: 1, 2 or 3")
    detect_orientation: bool = False
    scale: bool = False
    is_table: bool = False
    create_searchable_pdf: bool = Field(default=True, description="Ask OCR.space for a searchable PDF")
    hide_text_layer: bool = Field(default=False, description="isSearchablePdfHideTextLayer")
    input_mode: Literal["file", "base64", "url"] = "file"
    pdf_as_images: bool = Field(default=True, description="Render PDF pages here and send them as images")
    pdf_dpi: int = Field(default=300, ge=72, le=600, description="Resolution PDF pages are rendered at")
    allow_unconfirmed_languages: bool = Field(default=False, description="Also send hin kan per tel tam tai "
                                                                         "vie nor (listed by wrappers only)")

    @field_validator("endpoint")
    @classmethod
    def _endpoint_url(cls, value: str) -> str:
        return _full_url(value)

    @field_validator("endpoints", mode="before")
    @classmethod
    def _endpoint_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else [v for v in text.split(",") if v.strip()]
        if isinstance(value, list):
            return [_full_url(str(v)) for v in value]
        return value

    def hosts(self) -> list[str]:
        """The URLs one request may go to, in order. Free: `endpoint`. PRO: `endpoints`, unless only
        `endpoint` was configured (a single PRO or on-premise host)."""
        if self.tier == "free":
            return [self.endpoint]
        if "endpoints" not in self.model_fields_set and "endpoint" in self.model_fields_set:
            return [self.endpoint]
        return list(self.endpoints) or [self.endpoint]


# --- the wire format, parsed (typed edges; unknown fields ignored, documented variants tolerated) ---------


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)


class WireWord(_Wire):
    WordText: str = ""
    Left: float = 0.0
    Top: float = 0.0
    Width: float = 0.0
    Height: float = 0.0


class WireLine(_Wire):
    LineText: str | None = None
    Words: list[WireWord] | None = None
    MaxHeight: float | None = None
    MinTop: float | None = None


class WireOverlay(_Wire):
    Lines: list[WireLine] | None = None
    HasOverlay: bool | None = None
    Message: str | None = None


class WireParsedResult(_Wire):
    TextOverlay: WireOverlay | None = None
    TextOrientation: str | int | None = None
    FileParseExitCode: int | None = None
    ParsedText: str | None = None
    ErrorMessage: str | list[str] | None = None
    ErrorDetails: str | list[str] | None = None


class WireResponse(_Wire):
    ParsedResults: list[WireParsedResult] | None = None
    OCRExitCode: int | None = None
    IsErroredOnProcessing: bool | None = None
    ErrorMessage: str | list[str] | None = None
    ErrorDetails: str | list[str] | None = None
    ProcessingTimeInMilliseconds: str | float | None = None
    SearchablePDFURL: str | None = None

    def messages(self) -> list[str]:
        found = _strings(self.ErrorMessage) + _strings(self.ErrorDetails)
        for result in self.ParsedResults or []:
            found += _strings(result.ErrorMessage) + _strings(result.ErrorDetails)
        return list(dict.fromkeys(found))

    def searchable_pdf_url(self) -> str | None:
        """The link, when there is one: the field may also hold a sentence ("... not requested.")."""
        value = (self.SearchablePDFURL or "").strip()
        return value if value.lower().startswith(("http://", "https://")) and " " not in value else None


def _strings(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    return [" ".join(item.split()) for item in items if item and item.strip()]


# --- reading a body ----------------------------------------------------------------------------------------


def read_body(status: int, text: str, *, retry_after: float | None = None, secret: str | None = None) -> WireResponse:
    """The parsed OCR.space answer, or the typed error it stands for. Bodies may be a JSON object, a JSON
    string, bare text or XML; only a JSON object on HTTP 200 can hold results."""
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        body = None
        message = _plain_message(text)
    else:
        message = " ".join(body.split()) if isinstance(body, str) else None
    if isinstance(body, dict):
        try:
            response = WireResponse.model_validate(body)
        except (ValidationError, RecursionError):
            raise ProviderError(f"OCR.space sent an answer in an unexpected shape (HTTP {status})",
                                provider=NAME, status=status) from None
        if status != 200:
            detail = "; ".join(response.messages()) or f"HTTP {status}"
            raise error_for_message(detail, status=status, retry_after=retry_after, secret=secret)
        return response
    if message:
        raise error_for_message(message, status=status, retry_after=retry_after, secret=secret)
    if status >= 500 or status == 200:
        # a 200 that is not JSON (truncated, an HTML error page) or a 5xx with nothing useful: transient
        raise ProviderUnavailableError(f"OCR.space sent an unreadable answer (HTTP {status})", provider=NAME,
                                       status=status)
    raise _by_status(status, f"OCR.space refused the request (HTTP {status})", retry_after)


_TAG = re.compile(r"<[^>]+>")


def _plain_message(text: str) -> str | None:
    """The human text of a non-JSON body: bare text as it is, XML/HTML with the tags dropped. None when the
    body is an HTML page (a proxy's error page says nothing about OCR.space) or empty."""
    stripped = text.strip()
    if not stripped:
        return None
    lowered = stripped[:200].lower()
    if lowered.startswith(("<!doctype html", "<html")) or "<body" in lowered:
        return None
    if stripped.startswith("<"):
        stripped = html.unescape(_TAG.sub(" ", stripped))
    if stripped[:1] in "{[":  # half a JSON document: malformed, not a message
        return None
    return " ".join(stripped.split())[:500] or None


_WINDOW = re.compile(r"within\s+(\d+)\s*seconds", re.IGNORECASE)


def error_for_message(message: str, *, status: int = 200, retry_after: float | None = None,
                      secret: str | None = None, exit_code: int | None = None) -> OcrflowError:
    """The typed error for an OCR.space error message (the literal strings of §2.5), else by HTTP status."""
    clean = _clean(message, secret)
    details: dict[str, Any] = {"provider": NAME, "status": status}
    if exit_code is not None:
        details["ocr_exit_code"] = exit_code
    return (classify_message(clean, retry_after=retry_after, **details)
            or _by_status(status, f"OCR.space: {clean}", retry_after, **details))


def _clean(message: str, secret: str | None) -> str:
    clean = message.replace(secret, "***") if secret else message
    return " ".join(clean.split())[:300]


def classify_message(clean: str, *, retry_after: float | None = None, **details: Any) -> OcrflowError | None:
    """The error a known OCR.space message stands for; None for a message we do not recognise."""
    low = clean.lower()
    said = f"OCR.space: {clean}"
    if "number of times within" in low or "upto maximum" in low or "up to maximum" in low:
        window = _WINDOW.search(clean)
        seconds = int(window.group(1)) if window else 0
        if seconds >= 3600:  # the daily/monthly allowance: retrying within this run cannot help
            return QuotaExhaustedError(f"{said} (request allowance used up)", window_seconds=seconds, **details)
        return ThrottledError(said, retry_after=retry_after, **details)
    if "concurrent connection" in low:
        return ThrottledError(said, retry_after=retry_after, **details)
    if "parameter" in low and "invalid" in low:
        return ProviderError(said, **details)  # a request we built wrongly: retrying will not help
    if "api key" in low or "apikey" in low:
        return ProviderAuthError(said, **details)
    if "timed out" in low or "timeout" in low:
        return ProviderUnavailableError(said, **details)
    if "file size" in low or "maximum permissible" in low:
        return FileTooLargeError(said, **details)
    if "page" in low and "limit" in low:
        return TooManyPagesError(said, **details)
    if "language" in low:
        return LanguageNotAvailableError(said, **details)
    if any(s in low for s in ("base64", "file type", "file extension", "not a valid", "could not be", "unable to",
                              "failed validation", "corrupt", "password")):
        return ProviderRejectedInputError(said, **details)
    return None


def _by_status(http_status: int, message: str, retry_after: float | None, **details: Any) -> OcrflowError:
    details = {"provider": NAME, "status": http_status, **details}
    if http_status == 429:
        return ThrottledError(message, retry_after=retry_after, **details)
    if http_status in (401, 403):
        return ProviderAuthError(message, **details)
    if http_status == 413:
        return FileTooLargeError(message, **details)
    if http_status >= 500 or http_status in (408, 425):
        return ProviderUnavailableError(message, **details)
    return ProviderError(message, **details)


# --- turning results into pages ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    """What we know of one page we sent: its size in the document (width, height, unit), the pixel size of
    the image OCR.space read (None when unknown: boxes are then dropped, never guessed), the dpi."""

    width: float
    height: float
    unit: Literal["pt", "px", "unknown"]
    raster: tuple[int, int] | None
    dpi: float | None = None


def pages_from_response(response: WireResponse, frames: Sequence[Frame], *, detect_orientation: bool,
                        secret: str | None = None) -> list[Page]:
    """One page per frame (or per result, when the frames are unknown: URL input). Failed pages of a partial
    answer become empty pages with a warning; an answer that failed as a whole raises its typed error."""
    results = response.ParsedResults or []
    exit_code = response.OCRExitCode
    if exit_code is not None and exit_code >= 3:  # 3, 4 and codes the seed does not list: failed
        raise _failure(response, secret)
    if exit_code not in (1, 2):  # no (or an odd) exit code: judge by the flag and the pages themselves
        good = [r for r in results if r.FileParseExitCode in (1, None)]
        if response.IsErroredOnProcessing and not good or results and not good:
            raise _failure(response, secret)
    if not results:
        if response.IsErroredOnProcessing:
            raise _failure(response, secret)
        raise ProviderUnavailableError("OCR.space returned no results", provider=NAME, ocr_exit_code=exit_code)
    wanted = len(frames) if frames else len(results)
    pages = []
    for index in range(wanted):
        frame = frames[index] if index < len(frames) else Frame(1.0, 1.0, "unknown", None)
        if index >= len(results):
            pages.append(_empty_page(index, frame, "OCR.space returned no result for this page"))
            continue
        result = results[index]
        if result.FileParseExitCode not in (1, None):
            code = result.FileParseExitCode
            why = "; ".join(_strings(result.ErrorMessage)) or FILE_PARSE_CODES.get(code, "unknown code")
            if secret:
                why = why.replace(secret, "***")
            pages.append(_empty_page(index, frame, f"OCR.space could not read this page "
                                                   f"(FileParseExitCode {code}: {why[:200]})"))
            continue
        pages.append(_page(index, result, frame, detect_orientation))
    return pages


def _failure(response: WireResponse, secret: str | None) -> OcrflowError:
    exit_code = response.OCRExitCode
    text = _clean("; ".join(response.messages()), secret)
    details: dict[str, Any] = {"provider": NAME, "ocr_exit_code": exit_code}
    known = classify_message(text, **details) if text else None
    if known is not None:
        return known
    codes = {r.FileParseExitCode for r in response.ParsedResults or []}
    said = f"OCR.space: {text}" if text else "OCR.space could not process the document"
    if -20 in codes:
        return ProviderUnavailableError(f"{said} (timed out)", **details)
    if exit_code == 3 or codes & {0, -10, -30}:
        return ProviderRejectedInputError(f"{said} (no page could be read)", **details)
    return ProviderError(f"{said} (OCRExitCode {exit_code})", **details)


def _empty_page(index: int, frame: Frame, message: str) -> Page:
    return Page(index=index, width=frame.width, height=frame.height, unit=frame.unit, dpi=frame.dpi,
                text_source=TextSource.OCR, text="",
                warnings=[PageWarning(code=WarningCode.PAGE_FAILED, message=message)])


def _page_text(result: WireParsedResult, lines: list[Line]) -> str:
    raw = result.ParsedText or ""
    rows = [row.rstrip() for row in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    while rows and not rows[-1]:
        rows.pop()
    if rows:
        return "\n".join(rows)
    return "\n".join(line.text for line in lines)


def _page(index: int, result: WireParsedResult, frame: Frame, detect_orientation: bool) -> Page:
    warnings: list[PageWarning] = []
    orientation = ORIENTATIONS.get(str(result.TextOrientation).strip()) if detect_orientation else None
    raster = frame.raster
    overlay = result.TextOverlay.Lines if result.TextOverlay and result.TextOverlay.Lines else []
    if raster and orientation:
        # detectOrientation auto-rotates; whether boxes then refer to the rotated image is unconfirmed
        raster = None
        warnings.append(PageWarning(code=WarningCode.BOXES_DROPPED, message=(
            f"OCR.space turned this page by {orientation} degrees; word boxes were dropped because the "
            "rotated raster they refer to is not documented")))
    if raster and not _within(overlay, raster):
        raster = None
        warnings.append(PageWarning(code=WarningCode.BOXES_DROPPED, message=(
            "word boxes were dropped: OCR.space placed words outside the image it was sent, so their scale "
            "is unknown")))
    lines = [line for line in (_line(wire, raster) for wire in overlay) if line is not None]
    blocks = [Block(bbox=union_boxes([line.bbox for line in lines]), lines=lines)] if lines else []
    return Page(index=index, width=frame.width, height=frame.height, unit=frame.unit, dpi=frame.dpi,
                text_orientation=orientation, text_source=TextSource.OCR, text=_page_text(result, lines),
                blocks=blocks, warnings=warnings)


def _within(lines: list[WireLine], raster: tuple[int, int]) -> bool:
    """True if the overlay fits the raster (10 % slack for rounding, fractional and slightly negative values)."""
    width, height = raster
    right = max((w.Left + w.Width for line in lines for w in line.Words or []), default=0.0)
    bottom = max((w.Top + w.Height for line in lines for w in line.Words or []), default=0.0)
    return right <= width * 1.1 + 2 and bottom <= height * 1.1 + 2


def _line(wire: WireLine, raster: tuple[int, int] | None) -> Line | None:
    words = []
    for item in wire.Words or []:
        text = item.WordText.strip()
        if not text:
            continue
        bbox = bbox_from_rect(item.Left, item.Top, item.Width, item.Height, *raster) if raster else None
        words.append(Word(text=text, bbox=bbox))
    text = " ".join((wire.LineText or "").split()) or " ".join(word.text for word in words)
    if not text:
        return None
    return Line(text=text, bbox=union_boxes([word.bbox for word in words]), words=words)


# --- what we send ------------------------------------------------------------------------------------------


@dataclass
class Upload:
    """One request's document: bytes as sent (or a URL) and what the answer's pages are measured against."""

    data: bytes | None
    media_type: str | None
    filename: str
    frames: list[Frame]
    url: str | None = None
    searchable: bool = False


def map_language(languages: Sequence[str], engine: int, allow_unconfirmed: bool = False) -> str:
    """The one `language` value for a request. OCR.space reads one language per call; Engine 2 reads any
    Western language by itself, so several of those are fine there."""
    table = {**LANGUAGES, **(UNCONFIRMED_LANGUAGES if allow_unconfirmed else {})}
    codes = []
    for language in languages or ["eng"]:
        code = table.get(language.lower())
        if code is None:
            known = ", ".join(sorted({k for k in LANGUAGES if len(k) == 3 or "_" in k}))
            hint = "" if allow_unconfirmed or language not in UNCONFIRMED_LANGUAGES else (
                "; set OCRFLOW_OCRSPACE_ALLOW_UNCONFIRMED_LANGUAGES=true to try it")
            raise LanguageNotAvailableError(f"OCR.space cannot read {language!r}{hint} (it reads: {known})")
        if code not in codes:
            codes.append(code)
    if engine == 2:
        foreign = [c for c in codes if c not in ENGINE2_LANGUAGES]
        if foreign:
            raise LanguageNotAvailableError(
                f"OCR.space Engine 2 reads Latin-script languages and Chinese, not {', '.join(foreign)}; "
                "set OCRFLOW_OCRSPACE_ENGINE=1")
        return codes[0]
    if len(codes) > 1:
        raise LanguageNotAvailableError(
            f"OCR.space Engine {engine} reads one language per request; asked for {', '.join(codes)}")
    return codes[0]


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _image_frame(part: DocumentPart, data: bytes) -> tuple[bytes, str, Frame]:
    """The image to send and its frame. An image with an EXIF rotation is sent already turned upright, so
    the pixels OCR.space measures are the ones we know (whether it applies EXIF itself is not documented)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            orientation = image.getexif().get(0x0112, 1)
            size = image.size
            upright = ImageOps.exif_transpose(image) if orientation not in (1, None) else None
            fmt = image.format
    except Exception as exc:  # Pillow raises many types for a damaged image
        raise DamagedImageError(f"the image cannot be decoded: {exc}") from None
    media = part.media_type
    swapped = False
    if upright is not None:
        swapped = orientation in (5, 6, 7, 8)
        buffer = io.BytesIO()
        if fmt == "JPEG":
            upright.convert("L" if upright.mode == "L" else "RGB").save(buffer, "JPEG", quality=90)
            media = "image/jpeg"
        else:
            upright.save(buffer, "PNG")
            media = "image/png"
        data, size = buffer.getvalue(), upright.size
    if part.page_sizes:
        width, height, unit = part.page_sizes[0]
        if swapped:
            width, height = height, width
    else:
        (width, height), unit = size, "px"
    return data, media, Frame(float(width), float(height), unit if unit in ("pt", "px") else "px", size)


def _fit_jpeg(image: Image.Image, dpi: float, max_bytes: int) -> tuple[bytes, float, Image.Image]:
    """A grey JPEG of `image` under `max_bytes`: lower quality first, then fewer pixels."""
    scale = 1.0
    for attempt in range(10):
        sized = image
        if scale < 1.0:
            sized = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                                 Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        quality = 80 if attempt == 0 else 65
        resolution = round(dpi * scale, 2)
        sized.save(buffer, "JPEG", quality=quality, optimize=True, dpi=(resolution, resolution))
        if buffer.tell() <= max_bytes:
            return buffer.getvalue(), dpi * scale, sized
        if attempt >= 1:
            scale *= 0.8
    raise ImageTooLargeError("a PDF page cannot be rendered small enough for OCR.space's size limit")


# --- the client --------------------------------------------------------------------------------------------


class OcrSpaceProvider(Provider):
    name = NAME
    settings_class = OcrSpaceSettings

    def __init__(self, settings: OcrSpaceSettings, http: httpx.Client | None = None) -> None:
        super().__init__(settings, http)
        self.settings: OcrSpaceSettings = settings
        max_bytes, max_pages = TIER_LIMITS[settings.tier]
        self.limits = ProviderLimits(
            max_bytes=max_bytes, max_pages=max_pages, media_types=MEDIA_TYPES, max_concurrency=2,
            requests_per_second=None,  # free: 500/day per IP; PRO rate not documented (§6.5)
            cost_unit="request")
        self._hosts = settings.hosts()
        self._preferred = 0
        self._lock = threading.Lock()
        self._done: dict[str, tuple[list[Page], RawResponse]] = {}  # page results kept across re-submits

    # -- the interface --

    def check_languages(self, languages: list[str]) -> None:
        map_language(languages, self.settings.engine, self.settings.allow_unconfirmed_languages)

    def submit(self, part: DocumentPart, request: OcrRequest) -> ProviderResult:
        if self.settings.input_mode == "url":
            raise ConfigError("OCRFLOW_OCRSPACE_INPUT_MODE=url needs the document's URL: call submit_url(url, ...) "
                              "or use input_mode file or base64")
        language = map_language(request.languages, self.settings.engine, self.settings.allow_unconfirmed_languages)
        want_pdf = request.want_searchable_pdf and self.settings.create_searchable_pdf
        pages: list[Page] = []
        raw: list[RawResponse] = []
        pdfs: list[bytes | None] = []
        requests = 0
        for upload in self._uploads(part, want_pdf):
            key = self._cache_key(upload, language)
            with self._lock:
                done = self._done.get(key)
            if done is not None and not upload.searchable:
                pages += done[0]
                raw.append(done[1])
                continue
            got, answer, pdf = self._recognize(upload, language)
            requests += 1
            pages += got
            raw.append(answer)
            pdfs.append(pdf)
            if not upload.searchable:
                with self._lock:
                    self._done[key] = (got, answer)
        searchable = pdfs[0] if len(pdfs) == 1 and pdfs[0] is not None else None
        pages = [page.model_copy(update={"index": i}) for i, page in enumerate(pages)]
        return ProviderResult(pages=pages, searchable_pdf=searchable, raw=raw, engine=self._engine_name(),
                              credits=Credits(used=requests, unit="request") if requests else None)

    def submit_url(self, url: str, request: OcrRequest, media_type: str | None = None) -> ProviderResult:
        """OCR a document OCR.space fetches itself (`url` input). Its pixel size is unknown here, so words
        come without boxes; `media_type` sets `filetype` when the server's Content-Type would mislead."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"{url!r} is not an http(s) URL")
        language = map_language(request.languages, self.settings.engine, self.settings.allow_unconfirmed_languages)
        upload = Upload(None, media_type, parts.path.rsplit("/", 1)[-1] or "document", [], url=url)
        pages, answer, _ = self._recognize(upload, language)
        return ProviderResult(pages=pages, raw=[answer], engine=self._engine_name(),
                              credits=Credits(used=1, unit="request"))

    # -- building requests --

    def _engine_name(self) -> str:
        return f"OCREngine{self.settings.engine}"

    def _uploads(self, part: DocumentPart, want_pdf: bool) -> Iterator[Upload]:
        stem = part.filename.rsplit(".", 1)[0] or "document"
        if part.media_type != "application/pdf":
            data, media, frame = _image_frame(part, part.data)
            yield Upload(data, media, f"{stem}.{EXTENSIONS.get(media, 'png')}", [frame], searchable=want_pdf)
            return
        if not self.settings.pdf_as_images:
            frames = [Frame(w, h, u if u in ("pt", "px") else "unknown", None)
                      for w, h, u in part.page_sizes] or [Frame(1.0, 1.0, "unknown", None)] * part.page_count
            yield Upload(part.data, part.media_type, f"{stem}.pdf", frames, searchable=want_pdf)
            return
        for index, (jpeg, frame) in enumerate(self._rendered_pages(part)):
            yield Upload(jpeg, "image/jpeg", f"{stem}-page{part.first_page + index + 1}.jpg", [frame])

    def _rendered_pages(self, part: DocumentPart) -> Iterator[tuple[bytes, Frame]]:
        """Each PDF page as a grey JPEG that fits the tier, one at a time (memory stays flat)."""
        from ocrflow.inspection import open_pdf

        dpi = float(self.settings.pdf_dpi)
        max_bytes = int(self.limits.max_bytes * 0.97) if self.limits.max_bytes else 1 << 62
        with PDFIUM_LOCK:
            pdf = open_pdf(part.data)
            count = len(pdf)
        try:
            for index in range(count):
                with PDFIUM_LOCK:
                    try:
                        page = pdf[index]
                        width_pt, height_pt = page.get_size()
                        bitmap = page.render(scale=dpi / 72.0, grayscale=True, may_draw_forms=True)
                        image = bitmap.to_pil().convert("L")
                        bitmap.close()
                        page.close()
                    except Exception as exc:  # pdfium raises its own error types and plain ones alike
                        raise DamagedPdfError(f"page {part.first_page + index + 1} of the PDF cannot be rendered: "
                                              f"{exc}") from None
                jpeg, used_dpi, sent = _fit_jpeg(image, dpi, max_bytes)
                if index < len(part.page_sizes):
                    width, height, unit = part.page_sizes[index]
                else:
                    width, height, unit = width_pt, height_pt, "pt"
                yield jpeg, Frame(float(width), float(height), unit if unit in ("pt", "px") else "pt",
                                  (sent.width, sent.height), round(used_dpi, 2))
        finally:
            with PDFIUM_LOCK:
                pdf.close()

    def _form(self, upload: Upload, language: str) -> dict[str, str]:
        form = {
            "language": language,
            "OCREngine": str(self.settings.engine),
            "isOverlayRequired": "true",
            "detectOrientation": _flag(self.settings.detect_orientation),
            "scale": _flag(self.settings.scale),
            "isTable": _flag(self.settings.is_table),
            "isCreateSearchablePdf": _flag(upload.searchable),
        }
        if upload.searchable:  # without this explicit flag the PDF may come back with no text layer (§2.3)
            form["isSearchablePdfHideTextLayer"] = _flag(self.settings.hide_text_layer)
        if upload.media_type in FILETYPES:
            form["filetype"] = FILETYPES[upload.media_type]
        return form

    def _cache_key(self, upload: Upload, language: str) -> str:
        digest = hashlib.sha256(upload.data or (upload.url or "").encode())
        digest.update(json.dumps(self._form(upload, language), sort_keys=True).encode())
        return digest.hexdigest()

    # -- one request, with PRO failover --

    def _recognize(self, upload: Upload, language: str) -> tuple[list[Page], RawResponse, bytes | None]:
        form = self._form(upload, language)
        files = None
        if upload.url is not None:
            form["url"] = upload.url
        elif self.settings.input_mode == "base64":
            encoded = base64.b64encode(upload.data or b"").decode("ascii")
            form["base64Image"] = f"data:{upload.media_type};base64,{encoded}"
        else:
            files = {"file": (upload.filename, upload.data or b"", upload.media_type or "application/octet-stream")}
        response, text = self._post(form, files)
        pages = pages_from_response(response, upload.frames, detect_orientation=self.settings.detect_orientation,
                                    secret=self._key())
        raw = RawResponse(name=f"{NAME} parse {upload.filename}", body=text)
        pdf = self._download_pdf(response, upload) if upload.searchable else None
        return pages, raw, pdf

    def _key(self) -> str:
        return self.settings.api_key.get_secret_value()

    def _post(self, form: dict[str, str], files: dict | None) -> tuple[WireResponse, str]:
        hosts = self._hosts
        start = self._preferred % len(hosts)
        order = hosts[start:] + hosts[:start]
        for attempt, url in enumerate(order[:2]):
            try:
                result = self._post_once(url, form, files)
            except ProviderUnavailableError as exc:
                if attempt + 1 >= min(2, len(order)):
                    raise
                log.warning("OCR.space host %s failed (%s); trying %s", urlsplit(url).netloc, exc.message,
                            urlsplit(order[attempt + 1]).netloc)
                continue
            self._preferred = hosts.index(url)
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    def _post_once(self, url: str, form: dict[str, str], files: dict | None) -> tuple[WireResponse, str]:
        try:
            answer = self.http.post(url, headers={"apikey": self._key()}, data=form, files=files)
        except httpx.HTTPError as exc:
            # a flat-rate plan counts a repeated request, it does not bill it: time-outs stay retryable
            raise transport_error(NAME, exc, idempotent=True) from None
        text = answer.text
        return read_body(answer.status_code, text, retry_after=retry_after_seconds(answer), secret=self._key()), text

    def _download_pdf(self, response: WireResponse, upload: Upload) -> bytes | None:
        """OCR.space's searchable PDF, fetched at once (the link lives one hour). For an image ocrflow can
        build an equal one from our boxes, so a failed download just falls back; for a PDF sent as it is (no
        boxes) the request is failed as transient so that it is made again."""
        url = response.searchable_pdf_url()
        problem = None
        body = b""
        if url is None:
            problem = "OCR.space sent no searchable PDF link"
        else:
            try:
                got = self.http.get(url, follow_redirects=True)
                body = got.content
                if got.status_code != 200:
                    problem = f"the searchable PDF link answered HTTP {got.status_code}"
                elif not body.lstrip()[:5].startswith(b"%PDF-"):
                    problem = "the searchable PDF link did not return a PDF"
                elif _pdf_pages(body) != len(upload.frames):
                    problem = "the searchable PDF has a different number of pages than the document"
            except httpx.HTTPError as exc:
                problem = f"the searchable PDF could not be downloaded ({type(exc).__name__})"
        if problem is None:
            return body
        if upload.media_type == "application/pdf":
            raise ProviderUnavailableError(problem, provider=NAME)
        log.warning("%s; ocrflow builds the searchable PDF itself", problem)
        return None


def _pdf_pages(body: bytes) -> int:
    try:
        with pikepdf.open(io.BytesIO(body)) as pdf:
            return len(pdf.pages)
    except pikepdf.PdfError:
        return -1
