"""Yandex Vision OCR (OCR API v1) over REST.

Images (JPEG, PNG) and one-page PDFs go to `POST /ocr/v1/recognizeText`, which answers at once; multi-page
PDFs (up to 200 pages) go to `POST /ocr/v1/recognizeTextAsync`, which answers with an Operation to poll at
`GET {operation_endpoint}/operations/{id}` until `done`, after which `GET /ocr/v1/getRecognition` returns the
pages. Both answers are JSON Lines: one `{"result": {...}}` object per page, int64 numbers as strings, field
names in camelCase or (in the how-to examples) snake_case, lines either `text`+`words` or the older
`alternatives[0]`. Boxes are pixel vertices TL, BL, BR, TR of `textAnnotation.width x height`; there is no
confidence. Errors are `{"code": <gRPC code>, "message", "details"}`.

Authentication: a service-account API key (`Authorization: Api-Key ...`, no folder) or an IAM token
(`Authorization: Bearer ...` plus `x-folder-id`). IAM tokens are not minted here: the token comes from the
configuration (or Secrets Manager) and must be refreshed there; an expired one is a ProviderAuthError.

The sync method's quota is 1 request per second: calls in this process are spaced by a thread-safe
minimum interval (`min_sync_interval_seconds`). Quotas shared by several Lambdas need a shared limiter.
"""

from __future__ import annotations

import base64
import json
import math
import threading
import time
import uuid
from collections.abc import Callable
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import quote

import httpx
from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, ValidationError

from ocrflow.document import BBox, Block, Line, Page, PageWarning, Point, TextSource, WarningCode, Word
from ocrflow.engines.languages import ISO_639_1_TO_3, ISO_639_3_TO_1
from ocrflow.errors import (
    ConfigError,
    LanguageNotAvailableError,
    OcrflowError,
    ProviderAuthError,
    ProviderError,
    ProviderRejectedInputError,
    ProviderUnavailableError,
    ThrottledError,
)
from ocrflow.geometry import bbox_from_points, polygon_from_vertices, union_boxes
from ocrflow.providers.base import (
    DocumentPart,
    JobHandle,
    OcrRequest,
    Provider,
    ProviderLimits,
    ProviderResult,
    RawResponse,
)
from ocrflow.providers.http import retry_after_seconds, transport_error
from ocrflow.providers.settings import ProviderSettings, settings_config

NAME = "yandex"
PDF = "application/pdf"
#: our media type -> the request's `mimeType` (spellings of the official examples)
MIME_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", PDF: "application/pdf"}
MODELS = ("page", "page-column-sort", "handwritten", "table", "markdown", "math-markdown")
YandexModel = Literal["page", "page-column-sort", "handwritten", "table", "markdown", "math-markdown"]
#: getRecognition may answer 404 for a moment after the operation is done: ask again this many times
NOT_FOUND_RETRIES = 5

# --- languages ---------------------------------------------------------------------------------------------

#: one model reads these together (Latin and Cyrillic scripts)
LATIN_CYRILLIC = frozenset({
    "az", "ba", "be", "bg", "bs", "cs", "da", "de", "en", "es", "et", "fi", "fr", "hu", "id", "it", "kk", "ky",
    "lt", "lv", "mt", "nl", "no", "pl", "pt", "ro", "ru", "sk", "sl", "sv", "tg", "tr", "tt", "uz", "vi"})
#: single-script models; each also reads English and Russian
SINGLE_SCRIPT = frozenset({"ar", "el", "he", "hy", "ja", "ka", "ko", "th", "zh"})
#: ISO 639-2 codes of Yandex languages the shared map does not know
EXTRA_639_2 = {"aze": "az", "bak": "ba", "bel": "be", "bos": "bs", "est": "et", "ind": "id", "kir": "ky",
               "lit": "lt", "lav": "lv", "mlt": "mt", "tgk": "tg", "tat": "tt", "uzb": "uz", "hye": "hy",
               "arm": "hy", "kat": "ka", "geo": "ka", "zho": "zh", "chi": "zh", "chi_tra": "zh", "nob": "no",
               "gre": "el", "ger": "de", "fre": "fr", "dut": "nl", "cze": "cs", "rum": "ro", "slo": "sk"}


def yandex_languages(codes: list[str]) -> list[str]:
    """ISO 639-2 codes -> the `languageCodes` Yandex takes (ISO 639-1, or ["*"] for "auto")."""
    if any(code.lower() in ("auto", "*") for code in codes):
        return ["*"]
    out: list[str] = []
    for code in codes:
        short = ISO_639_3_TO_1.get(code.lower()) or EXTRA_639_2.get(code.lower())
        if short is None and len(code) == 2:
            short = code.lower()
        if short not in LATIN_CYRILLIC | SINGLE_SCRIPT:
            raise LanguageNotAvailableError(
                f"yandex cannot read language {code!r}; it reads {', '.join(sorted(LATIN_CYRILLIC | SINGLE_SCRIPT))}"
                " (as ISO 639-2 codes such as eng, deu, rus) or auto", provider=NAME)
        if short not in out:
            out.append(short)
    scripts = [c for c in out if c in SINGLE_SCRIPT]
    if scripts and (len(scripts) > 1 or any(c not in SINGLE_SCRIPT | {"en", "ru"} for c in out)):
        raise LanguageNotAvailableError(
            f"yandex reads {scripts[0]!r} only together with English and Russian; send other languages separately",
            provider=NAME)
    return out


# --- settings ----------------------------------------------------------------------------------------------


class YandexSettings(ProviderSettings):
    model_config = settings_config(NAME)

    endpoint: str = Field(default="https://ocr.api.cloud.yandex.net", description="OCR API base URL")
    operation_endpoint: str = Field(default="https://operation.api.cloud.yandex.net",
                                    description="Operation service base URL (async jobs)")
    api_key: SecretStr | None = Field(default=None, description="Service-account API key (Api-Key auth)")
    iam_token: SecretStr | None = Field(default=None, description="IAM token (Bearer auth); needs folder_id")
    folder_id: str | None = Field(default=None, description="Folder for IAM-token requests (x-folder-id)")
    model: YandexModel = Field(default="page", description="Recognition model")
    poll_wait_seconds: float = Field(default=2.0, ge=0, description="Wait between operation polls")
    min_sync_interval_seconds: float = Field(
        default=1.0, ge=0, description="Least time between recognizeText calls in this process (1 rps quota)")


def auth_headers(settings: YandexSettings) -> dict[str, str]:
    """The Authorization (and folder) headers, or a ConfigError saying which variables to set."""
    prefix = f"OCRFLOW_{NAME.upper()}_"
    key, token = settings.api_key, settings.iam_token
    if key is not None and token is not None:
        raise ConfigError(f"set either {prefix}API_KEY or {prefix}IAM_TOKEN for yandex, not both")
    if key is not None and key.get_secret_value().strip():
        return {"Authorization": f"Api-Key {key.get_secret_value().strip()}"}
    if token is not None and token.get_secret_value().strip():
        folder = (settings.folder_id or "").strip()
        if not folder:
            raise ConfigError(f"provider 'yandex' is not configured: check {prefix}FOLDER_ID (an IAM token needs it)")
        return {"Authorization": f"Bearer {token.get_secret_value().strip()}", "x-folder-id": folder}
    raise ConfigError(f"provider 'yandex' is not configured: check {prefix}API_KEY (or {prefix}IAM_TOKEN "
                      f"with {prefix}FOLDER_ID)")


# --- pacing ------------------------------------------------------------------------------------------------

_PACE_LOCK = threading.Lock()
_NEXT_SLOT: dict[str, float] = {}


def wait_turn(key: str, interval: float, clock: Callable[[], float] = time.monotonic,
              sleep: Callable[[float], None] = time.sleep) -> None:
    """Space calls sharing `key` at least `interval` seconds apart, across every thread of the process.
    Each caller reserves the next free slot under the lock and sleeps outside it."""
    if interval <= 0:
        return
    with _PACE_LOCK:
        now = clock()
        start = max(now, _NEXT_SLOT.get(key, now))
        _NEXT_SLOT[key] = start + interval
    if start > now:
        sleep(start - now)


# --- wire models -------------------------------------------------------------------------------------------


def _none_to_list(value: Any) -> Any:
    return [] if value is None else value


def _none_to_str(value: Any) -> Any:
    return "" if value is None else value


def _alias(*names: str) -> Any:
    return AliasChoices(*names)


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Vertex(_Wire):
    x: float = 0.0  # proto3 JSON leaves zero values out
    y: float = 0.0


class WirePolygon(_Wire):
    vertices: Annotated[list[Vertex], BeforeValidator(_none_to_list)] = []


Box = Annotated[WirePolygon | None, Field(default=None, validation_alias=_alias("boundingBox", "bounding_box"))]
Text = Annotated[str, BeforeValidator(_none_to_str)]


class WireWord(_Wire):
    text: Text = ""
    bounding_box: Box


class Alternative(_Wire):
    text: Text = ""
    words: Annotated[list[WireWord], BeforeValidator(_none_to_list)] = []


class WireLine(_Wire):
    text: Text | None = None
    bounding_box: Box
    words: Annotated[list[WireWord], BeforeValidator(_none_to_list)] = []
    alternatives: Annotated[list[Alternative], BeforeValidator(_none_to_list)] = []


class LanguageTag(_Wire):
    language_code: Text = Field(default="", validation_alias=_alias("languageCode", "language_code"))


class WireBlock(_Wire):
    bounding_box: Box
    lines: Annotated[list[WireLine], BeforeValidator(_none_to_list)] = []
    languages: Annotated[list[LanguageTag], BeforeValidator(_none_to_list)] = []


class TextAnnotation(_Wire):
    width: float = 0.0
    height: float = 0.0
    full_text: Text = Field(default="", validation_alias=_alias("fullText", "full_text"))
    markdown: Text = ""
    rotate: str | int | None = None
    blocks: Annotated[list[WireBlock], BeforeValidator(_none_to_list)] = []


class RecognizeTextResponse(_Wire):
    page: int = Field(default=0, ge=0)
    text_annotation: TextAnnotation | None = Field(default=None,
                                                   validation_alias=_alias("textAnnotation", "text_annotation"))


class WireStatus(_Wire):
    """A google.rpc.Status: REST error bodies, Operation.error, and error lines inside a stream."""

    code: int | None = Field(default=None, validation_alias=_alias("code", "grpc_code", "grpcCode"))
    message: Text = ""
    http_code: int | None = Field(default=None, validation_alias=_alias("http_code", "httpCode"))


class Operation(_Wire):
    id: str = Field(min_length=1, max_length=200)
    done: bool = False
    error: WireStatus | None = None


class HandleState(BaseModel):
    """What `poll` needs, carried in the JobHandle."""

    operation_id: str = Field(min_length=1)
    page_count: int = Field(default=1, ge=1)
    page_sizes: list[tuple[float, float, str]] = Field(default_factory=list)
    model: str = "page"
    done: bool = False
    not_found: int = Field(default=0, ge=0)


# --- errors ------------------------------------------------------------------------------------------------

GRPC_NAMES = {1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT", 4: "DEADLINE_EXCEEDED", 5: "NOT_FOUND",
              6: "ALREADY_EXISTS", 7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED", 9: "FAILED_PRECONDITION",
              10: "ABORTED", 11: "OUT_OF_RANGE", 12: "UNIMPLEMENTED", 13: "INTERNAL", 14: "UNAVAILABLE",
              15: "DATA_LOSS", 16: "UNAUTHENTICATED"}
#: HTTP status -> gRPC code, for error bodies that carry no code
STATUS_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 409: 10, 413: 3, 422: 3, 429: 8, 499: 1, 500: 13, 501: 12,
                502: 14, 503: 14, 504: 4}


def _clean(message: str, limit: int = 300) -> str:
    one_line = " ".join(str(message).split())
    return one_line if len(one_line) <= limit else one_line[: limit - 3] + "..."


def provider_error(status: int | None, code: int | None, message: str = "", *, iam: bool = False,
                   retry_after: float | None = None, request_id: str | None = None,
                   final: bool = False) -> ProviderError | OcrflowError:
    """The typed error for a Yandex failure: gRPC `code` when known, else derived from the HTTP `status`.
    `final`: the failure of a finished operation - asking again cannot change it, so it is never retryable."""
    if code not in GRPC_NAMES:
        code = STATUS_CODES.get(status or 0, 13 if (status or 0) >= 500 else None)
    details: dict[str, Any] = {"provider": NAME}
    if final:
        details["retryable"] = False
    if status is not None:
        details["status"] = status
    if code is not None:
        details["grpc_code"] = code
    if request_id:
        details["request_id"] = _clean(request_id, 80)
    said = f": {_clean(message)}" if message.strip() else ""
    label = GRPC_NAMES.get(code or 0, f"HTTP {status}" if status else "an error")
    if code in (3, 9, 11):
        return ProviderRejectedInputError(f"yandex rejected the document ({label}){said}", **details)
    if code in (2, 4, 13, 14):
        return ProviderUnavailableError(f"yandex is unavailable ({label}){said}", **details)
    if code == 8:
        return ThrottledError(f"yandex quota exceeded ({label}){said}", retry_after=retry_after, **details)
    if code == 16:
        hint = ("the IAM token is invalid or expired (tokens live at most 12 hours): supply a fresh "
                "OCRFLOW_YANDEX_IAM_TOKEN" if iam else "the API key is invalid: check OCRFLOW_YANDEX_API_KEY")
        return ProviderAuthError(f"yandex did not accept the credentials ({label}): {hint}{said}", **details)
    if code == 7:
        return ProviderAuthError(f"yandex denied access ({label}; the account needs the ai.vision.user role on "
                                 f"the folder){said}", **details)
    if code == 5:
        return ProviderError(f"yandex did not find it ({label}){said}", **details)
    details.setdefault("retryable", code == 10)
    return ProviderError(f"yandex failed ({label}){said}", **details)


def error_from_response(response: httpx.Response, *, iam: bool = False) -> OcrflowError:
    status = WireStatus()
    try:
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            body = body["error"]
        if isinstance(body, dict):
            status = WireStatus.model_validate(body)
    except (ValueError, UnicodeDecodeError):
        pass  # not JSON (a proxy's page): the HTTP status decides
    message = status.message or ("" if response.text.lstrip().startswith(("{", "[", "<")) else response.text)
    return provider_error(response.status_code, status.code, message, iam=iam,
                          retry_after=retry_after_seconds(response), request_id=response.headers.get("x-request-id"))


def _malformed(what: str, problem: object = "") -> ProviderUnavailableError:
    reason = f" ({_clean(str(problem), 160)})" if str(problem) else ""
    return ProviderUnavailableError(f"yandex sent a malformed {what}{reason}", provider=NAME)


# --- parsing -----------------------------------------------------------------------------------------------


def json_values(text: str) -> list[Any]:
    """Every JSON value in `text`: JSON Lines, a single (pretty-printed) object, or an array of objects."""
    decoder = json.JSONDecoder()
    values: list[Any] = []
    index, end = 0, len(text)
    while True:
        while index < end and text[index] in " \t\r\n":
            index += 1
        if index >= end:
            return values
        value, index = decoder.raw_decode(text, index)
        values.extend(value if isinstance(value, list) else [value])


def parse_results(text: str) -> list[RecognizeTextResponse]:
    """The `result` objects of a recognizeText/getRecognition body; error lines become typed errors."""
    try:
        values = json_values(text)
    except (ValueError, RecursionError) as exc:
        raise _malformed("answer (not JSON Lines)", exc) from None
    results = []
    for value in values:
        if not isinstance(value, dict):
            raise _malformed("answer (a line is not an object)")
        if isinstance(value.get("error"), dict):
            try:
                status = WireStatus.model_validate(value["error"])
            except ValidationError:
                status = WireStatus()
            raise provider_error(status.http_code, status.code, status.message)
        body = value.get("result", value if ("textAnnotation" in value or "text_annotation" in value) else None)
        if not isinstance(body, dict):
            raise _malformed("answer (a line has no result)")
        try:
            results.append(RecognizeTextResponse.model_validate(body))
        except ValidationError as exc:
            raise _malformed("result", exc.errors()[0].get("msg", "")) from None
    if not results:
        raise _malformed("answer (no result)")
    return results


def parse_operation(text: str) -> Operation:
    try:
        return Operation.model_validate_json(text)
    except ValidationError as exc:
        raise _malformed("operation", exc.errors()[0].get("msg", "")) from None


ANGLES = {"ANGLE_0": 0, "ANGLE_90": 90, "ANGLE_180": 180, "ANGLE_270": 270, 1: 0, 2: 90, 3: 180, 4: 270}


def _orientation(rotate: str | int | None) -> Literal[0, 90, 180, 270] | None:
    key = rotate.upper() if isinstance(rotate, str) else rotate
    return ANGLES.get(key)  # type: ignore[return-value]


class _Frame:
    """Converts pixel vertices to page fractions for one page (or gives no geometry when the size is unknown)."""

    def __init__(self, width: float, height: float) -> None:
        self.ok = _sane(width) and _sane(height)
        self.width, self.height = width, height

    def shape(self, box: WirePolygon | None) -> tuple[BBox | None, list[Point] | None]:
        if not self.ok or box is None:
            return None, None
        vertices = [(v.x, v.y) for v in box.vertices if math.isfinite(v.x) and math.isfinite(v.y)]
        if len(vertices) < 2:
            return None, None
        points = polygon_from_vertices(vertices, self.width, self.height)
        return bbox_from_points(points), points if len(points) >= 3 else None


def _sane(size: float) -> bool:
    return math.isfinite(size) and 0 < size < 1e7


def _line(wire: WireLine, frame: _Frame) -> Line:
    alternative = wire.alternatives[0] if wire.alternatives else None
    wire_words = wire.words or (alternative.words if alternative else [])
    words = []
    for wire_word in wire_words:
        bbox, polygon = frame.shape(wire_word.bounding_box)
        if wire_word.text.strip():
            words.append(Word(text=wire_word.text, bbox=bbox, polygon=polygon))
    text = wire.text if wire.text is not None else alternative.text if alternative else ""
    text = text or " ".join(word.text for word in words)
    bbox, polygon = frame.shape(wire.bounding_box)
    return Line(text=text, bbox=bbox or union_boxes([w.bbox for w in words]), polygon=polygon, words=words)


def _language(tags: list[LanguageTag]) -> str | None:
    code = next((tag.language_code for tag in tags if tag.language_code), None)
    return ISO_639_1_TO_3.get(code, code) if code else None


def page_from_annotation(annotation: TextAnnotation, index: int, fallback: tuple[float, float, str] | None) -> Page:
    """One result's textAnnotation as a normalized page (index within the part)."""
    width, height, unit = annotation.width, annotation.height, "px"
    if not (_sane(width) and _sane(height)):
        # no pixel size: boxes cannot be placed unless we know the pixels we sent (an image part)
        width, height, unit = fallback if fallback and _sane(fallback[0]) and _sane(fallback[1]) else (1.0, 1.0,
                                                                                                        "unknown")
    frame = _Frame(width, height) if unit == "px" else _Frame(0, 0)
    blocks = []
    for wire_block in annotation.blocks:
        lines = [line for line in (_line(wire, frame) for wire in wire_block.lines) if line.text.strip()]
        if not lines:
            continue
        bbox, _ = frame.shape(wire_block.bounding_box)
        blocks.append(Block(bbox=bbox or union_boxes([line.bbox for line in lines]),
                            language=_language(wire_block.languages), lines=lines))
    text = annotation.full_text or annotation.markdown or "\n".join(block.text for block in blocks)
    dpi = None
    if fallback and fallback[2] == "pt" and unit == "px" and _sane(fallback[0]):
        dpi = round(width / (fallback[0] / 72), 2)
        dpi = dpi if 1 <= dpi <= 10_000 else None
    return Page(index=index, width=width, height=height, unit=unit, dpi=dpi, text_source=TextSource.OCR,
                text=text.strip("\n"), text_orientation=_orientation(annotation.rotate), blocks=blocks)


def _missing(index: int, fallback: tuple[float, float, str] | None) -> Page:
    width, height, unit = fallback if fallback and _sane(fallback[0]) and _sane(fallback[1]) else (1.0, 1.0,
                                                                                                    "unknown")
    return Page(index=index, width=width, height=height, unit=unit, text="", warnings=[
        PageWarning(code=WarningCode.PAGE_FAILED, message="yandex returned nothing for this page")])


def parse_recognition(text: str, page_count: int = 1,
                      page_sizes: list[tuple[float, float, str]] | None = None) -> list[Page]:
    """A recognizeText/getRecognition body as `page_count` pages in order (result.page is 0-based within the
    part; a page Yandex left out comes back empty with a warning). Raises typed errors only."""
    sizes = page_sizes or []
    by_page: dict[int, list[TextAnnotation]] = {}
    for result in parse_results(text):
        if result.text_annotation is not None and result.page < page_count:
            by_page.setdefault(result.page, []).append(result.text_annotation)
    pages = []
    try:
        for index in range(page_count):
            fallback = sizes[index] if index < len(sizes) else None
            annotations = by_page.get(index)
            if not annotations:
                pages.append(_missing(index, fallback))
                continue
            page = page_from_annotation(annotations[0], index, fallback)
            for extra in annotations[1:]:  # a page split over several lines: append their blocks
                more = page_from_annotation(extra, index, fallback)
                page = page.model_copy(update={"blocks": page.blocks + more.blocks,
                                               "text": "\n".join(t for t in (page.text, more.text) if t)})
            pages.append(page)
    except (ValidationError, ValueError) as exc:
        raise _malformed("result", exc) from None
    return pages


# --- the client --------------------------------------------------------------------------------------------


class YandexProvider(Provider):
    name: ClassVar[str] = NAME
    limits = ProviderLimits(
        max_bytes=10_000_000,           # 10 MB before base64
        max_pages=200,                  # per async request (sync: 1 page, chosen per part)
        max_megapixels=20.0,
        media_types=frozenset(MIME_TYPES),
        max_concurrency=1,
        requests_per_second=1.0,        # recognizeText quota
        cost_unit="page",
    )
    settings_class = YandexSettings
    settings: YandexSettings

    def __init__(self, settings: YandexSettings, http: httpx.Client | None = None) -> None:
        self._auth = auth_headers(settings)  # before the HTTP client exists: a ConfigError leaks nothing
        super().__init__(settings, http)
        self._iam = settings.iam_token is not None
        self._endpoint = settings.endpoint.rstrip("/")
        self._operations = settings.operation_endpoint.rstrip("/")

    # --- submit ----------------------------------------------------------------------------------------

    def check_languages(self, languages: list[str]) -> None:
        yandex_languages(languages)

    def submit(self, part: DocumentPart, request: OcrRequest) -> ProviderResult | JobHandle:
        mime = MIME_TYPES.get(part.media_type)
        if mime is None:
            raise ProviderRejectedInputError(f"yandex does not take {part.media_type}; send JPEG, PNG or PDF",
                                             provider=NAME)
        body = {"mimeType": mime, "languageCodes": yandex_languages(request.languages),
                "model": self.settings.model, "content": base64.b64encode(part.data).decode("ascii")}
        if part.media_type == PDF and part.page_count > 1:
            return self._submit_async(part, body)
        wait_turn(self._endpoint, self.settings.min_sync_interval_seconds)
        response = self._send("POST", f"{self._endpoint}/ocr/v1/recognizeText", idempotent=False, json=body)
        pages = parse_recognition(response.text, part.page_count, part.page_sizes)
        return ProviderResult(pages=pages, raw=[_raw("recognizeText", response)], engine=self._engine())

    def _submit_async(self, part: DocumentPart, body: dict[str, Any]) -> JobHandle:
        response = self._send("POST", f"{self._endpoint}/ocr/v1/recognizeTextAsync", idempotent=False, json=body)
        operation = parse_operation(response.text)
        if operation.error is not None:
            raise provider_error(None, operation.error.code, operation.error.message, iam=self._iam)
        state = HandleState(operation_id=operation.id, page_count=part.page_count,
                            page_sizes=list(part.page_sizes), model=self.settings.model, done=operation.done)
        return JobHandle(provider=NAME, state=state.model_dump(mode="json"),
                         wait_seconds=self.settings.poll_wait_seconds, raw=[_raw("recognizeTextAsync", response)])

    # --- poll ------------------------------------------------------------------------------------------

    def poll(self, handle: JobHandle) -> ProviderResult | JobHandle:
        try:
            state = HandleState.model_validate(handle.state)
        except ValidationError:
            raise ProviderError("this is not a yandex job handle (no operation_id)", provider=NAME) from None
        raw = list(handle.raw)
        if not state.done:
            url = f"{self._operations}/operations/{quote(state.operation_id, safe='')}"
            response = self._send("GET", url, idempotent=True)
            operation = parse_operation(response.text)
            if operation.error is not None:
                raise provider_error(None, operation.error.code, operation.error.message, iam=self._iam, final=True)
            if not operation.done:
                return self._again(handle, state)
            state = state.model_copy(update={"done": True})
            raw.append(_raw("operation", response))
        try:
            response = self._send("GET", f"{self._endpoint}/ocr/v1/getRecognition", idempotent=True,
                                  params={"operationId": state.operation_id})
        except ProviderError as exc:
            if exc.details.get("status") == 404 and state.not_found < NOT_FOUND_RETRIES:
                # done, but the result is not readable yet: ask again after the usual wait
                return self._again(handle, state.model_copy(update={"not_found": state.not_found + 1}), raw)
            raise
        pages = parse_recognition(response.text, state.page_count, state.page_sizes)
        return ProviderResult(pages=pages, raw=[*raw, _raw("getRecognition", response)],
                              engine=self._engine(state.model))

    def _again(self, handle: JobHandle, state: HandleState, raw: list[RawResponse] | None = None) -> JobHandle:
        return handle.model_copy(update={"state": state.model_dump(mode="json"), "polls": handle.polls + 1,
                                         "wait_seconds": self.settings.poll_wait_seconds,
                                         "raw": handle.raw if raw is None else raw})

    # --- plumbing --------------------------------------------------------------------------------------

    def _engine(self, model: str | None = None) -> str:
        return f"yandex-vision-ocr/{model or self.settings.model}"

    def _send(self, method: str, url: str, *, idempotent: bool, **kwargs: Any) -> httpx.Response:
        headers = {**self._auth, "x-client-request-id": str(uuid.uuid4())}
        try:
            response = self.http.request(method, url, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise transport_error(NAME, exc, idempotent=idempotent) from None
        if not response.is_success:
            raise error_from_response(response, iam=self._iam)
        return response


def _raw(name: str, response: httpx.Response) -> RawResponse:
    return RawResponse(name=name, content_type=response.headers.get("content-type", "application/json"),
                       body=response.text)
