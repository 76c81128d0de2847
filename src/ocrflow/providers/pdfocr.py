"""pdfocr.org: one endpoint that converts an uploaded file (here: to a searchable PDF, or to plain text) and
answers with a download link. PROVIDERS.md section 3.

Flow: POST multipart (file + API key + lang + outformat + ocr=1 + filename) -> JSON
{"retcode": "200", "msg": ..., "data": {"filename", "link", "available pages"}} -> download `link` at once
(its lifetime is unknown) -> pages from the PDF's text layer (outformat pdf) or from the text (txt).

`retcode` is a string and the HTTP status need not mirror it, so the body decides. The site sits behind
Cloudflare, which cuts a request off after ~100 s with HTTP 524 while the conversion goes on: then `submit`
returns a JobHandle and `poll` re-sends filename + outformat (no file) until the JSON answer appears or the
re-query deadline passes. What pdfocr answers while still converting is not documented: a 524 again, a read
time-out, or any JSON retcode that is not 200, 4xx or 5xx counts as "still converting".

Not confirmed anywhere (PROVIDERS.md 6.5 item 3), hence settings: the names of the API-key and file
fields, the API's own size/page limits (the web limits, 15 MB and 20 pages, are the defaults).
"""

from __future__ import annotations

import hashlib
import re
import time
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

import httpx
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from ocrflow.document import Block, Credits, Line, Page
from ocrflow.errors import (
    FileTooLargeError,
    InputError,
    LanguageNotAvailableError,
    OcrflowError,
    PasswordProtectedError,
    ProviderAuthError,
    ProviderError,
    ProviderRejectedInputError,
    ProviderUnavailableError,
    QuotaExhaustedError,
    ThrottledError,
    TooManyPagesError,
)
from ocrflow.pdf.text_extraction import pages_from_pdf
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

NAME = "pdfocr"
API_PATH = "/ocrapiv1.html"

#: ISO 639-2 (Tesseract names) -> pdfocr.org `lang` values [SEED-P ref 1]
LANGUAGES = {
    "eng": "English", "fra": "French", "spa": "Spanish", "deu": "German", "ita": "Italian", "tur": "Turkish",
    "tha": "Thai", "ara": "Arabic", "rus": "Russian", "kor": "Korean", "jpn": "Japanese", "ind": "Indonesian",
    "por": "Portuguese", "vie": "Vietnamese", "chi_sim": "ChineseSimplified", "chi_tra": "ChineseTraditional",
}
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/tiff", "image/gif", "image/bmp"})
_EXTENSIONS = {"application/pdf": ("pdf",), "image/png": ("png",), "image/jpeg": ("jpg", "jpeg"),
               "image/tiff": ("tif", "tiff"), "image/gif": ("gif",), "image/bmp": ("bmp",)}
#: how much of a non-JSON body (a Cloudflare error page) is kept for audit, and how many answers a handle keeps
_RAW_HTML_CHARS = 2_000
_RAW_JSON_CHARS = 20_000
_HANDLE_RAW_KEEP = 6


class PdfOcrSettings(ProviderSettings):
    model_config = settings_config(NAME)

    endpoint: str = Field(default="https://pdfocr.org/ocrapiv1.html",
                          description="The API URL; a bare base URL gets /ocrapiv1.html appended")
    api_key: SecretStr = Field(description="pdfocr.org API key (from sign-up)")
    api_key_param: str = Field(default="apikey", min_length=1,
                               description="Form field carrying the key (the doc gives no literal name)")
    file_field: str = Field(default="file", min_length=1,
                            description="Multipart field of the upload (the doc gives no literal name)")
    outformat: Literal["pdf", "txt"] = Field(
        default="pdf", description="pdf: a searchable PDF (text + word boxes); txt: text only, no boxes")
    timeout_seconds: float = Field(default=110.0, gt=0,
                                   description="Read time-out; longer than Cloudflare's ~100 s cut-off (524)")
    requery_interval_seconds: float = Field(default=5.0, gt=0, description="Wait between re-queries after a 524")
    requery_deadline_seconds: float = Field(default=600.0, gt=0,
                                            description="Give up re-querying this long after the upload")
    requery_method: Literal["POST", "GET"] = Field(
        default="POST", description="How filename + outformat are re-sent (POST keeps the key out of URLs)")
    max_bytes: int = Field(default=15_000_000, gt=0, description="Per request; API limit unstated, web: 15 MB")
    max_pages: int = Field(default=20, ge=1, description="Per request; API limit unstated, web: 20 pages")
    txt_pages_per_request: int = Field(
        default=1, ge=1, description="txt output: pages per request (1 = each text is known to be its page's)")

    @field_validator("outformat", "requery_method", mode="before")
    @classmethod
    def _case(cls, value: Any, info: Any) -> Any:
        if not isinstance(value, str):
            return value
        return value.strip().upper() if info.field_name == "requery_method" else value.strip().lower()


def limits_for(settings: PdfOcrSettings) -> ProviderLimits:
    """pdf output takes PDFs only (the doc: "Images 2 PDF not supported"), so ocrflow wraps images in a PDF;
    txt output takes images as they are."""
    if settings.outformat == "pdf":
        return ProviderLimits(max_bytes=settings.max_bytes, max_pages=settings.max_pages,
                              media_types=frozenset({"application/pdf"}), cost_unit="page")
    return ProviderLimits(max_bytes=settings.max_bytes,
                          max_pages=min(settings.max_pages, settings.txt_pages_per_request),
                          media_types=IMAGE_TYPES | {"application/pdf"}, cost_unit="page")


def api_url(endpoint: str) -> str:
    """The endpoint setting as the API URL: a bare base URL (a fake, a proxy) gets the API page's path."""
    endpoint = endpoint.strip()
    if urlsplit(endpoint).path in ("", "/"):
        return endpoint.rstrip("/") + API_PATH
    return endpoint


def pdfocr_language(languages: list[str]) -> str:
    """pdfocr takes one language; for a document in English and another language the doc says to send the
    other one, so the first non-English language wins."""
    unsupported = [code for code in languages if code not in LANGUAGES]
    if unsupported:
        raise LanguageNotAvailableError(
            f"pdfocr.org cannot read {', '.join(unsupported)}; it supports {', '.join(LANGUAGES)}",
            provider=NAME)
    others = [code for code in languages if code != "eng"]
    return LANGUAGES[others[0] if others else "eng"]


def wire_filename(part: DocumentPart) -> str:
    """The name the file is uploaded (and later re-queried) under: letters, digits and hyphens only, plus the
    extension of its media type, and a short content hash so two documents called alike cannot collide."""
    stem, dot, ext = part.filename.rpartition(".")
    if not dot:
        stem, ext = ext, ""
    stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Za-z0-9-]+", "-", stem).strip("-")[:60].strip("-") or "document"
    known = _EXTENSIONS.get(part.media_type, ("bin",))
    ext = ext.lower() if ext.lower() in known else known[0]
    return f"{stem}-{hashlib.sha256(part.data).hexdigest()[:10]}.{ext}"


# --- the answer --------------------------------------------------------------------------------------------


class PdfOcrData(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    filename: str | None = None
    link: str | None = None
    available_pages: float | None = Field(
        default=None, validation_alias=AliasChoices("available pages", "available_pages", "availablePages"))

    @field_validator("available_pages", mode="before")
    @classmethod
    def _number(cls, value: Any) -> float | None:
        if isinstance(value, bool):
            return None
        if isinstance(value, str):
            value = value.replace(",", "").strip()
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        return number if number == number and abs(number) != float("inf") else None


class PdfOcrAnswer(BaseModel):
    """{"retcode": "200", "msg": "...", "data": {...}}; a failure has no data (or PHP's empty array `[]`)."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    retcode: str
    msg: str = ""
    data: PdfOcrData | None = None

    @field_validator("msg", mode="before")
    @classmethod
    def _msg(cls, value: Any) -> Any:
        return "" if value is None else value

    @field_validator("data", mode="before")
    @classmethod
    def _data(cls, value: Any) -> Any:
        return value if isinstance(value, dict) else None


@dataclass(frozen=True)
class Converted:
    data: PdfOcrData
    raw: RawResponse


@dataclass(frozen=True)
class Pending:
    raw: RawResponse


_AUTH = re.compile(r"api ?key|apikey|sign ?up|unauthori[sz]ed|not authori[sz]ed|invalid key|access denied")
_QUOTA = re.compile(r"(insufficient|not enough|no more|out of|run out|ran out|used up|exhausted|top up|buy|"
                    r"purchase|recharge)[^.]{0,30}(pages?|credits?|balance)|credits?|balance|quota")
_RATE = re.compile(r"too many requests|rate limit|slow down|too frequent|try again later")
_LANGUAGE = re.compile(r"language|\blang\b")
_PASSWORD = re.compile(r"password|encrypt|unlock|permission")
_TOO_LARGE = re.compile(r"too (large|big)|file size|maximum size|exceeds? .{0,20}(mb|size)")
_TOO_MANY_PAGES = re.compile(r"too many pages|page limit|maximum (number of )?pages|exceeds? .{0,20}pages")
_NOT_FOUND = re.compile(r"not found|no conversion|no such|does not exist")
_BAD_INPUT = re.compile(r"file|format|damaged|corrupt|invalid|unsupported|not supported|cannot (open|read)|"
                        r"failed to (open|read)|image|pdf|url|download")


def read_answer(response: httpx.Response, name: str) -> Converted | Pending:
    """One pdfocr answer: the conversion's data, "still converting", or a typed error. Never anything else."""
    status = response.status_code
    if status == 524:
        return Pending(_raw(response, name))
    answer = _parse(response)
    if answer is None:
        raise _http_error(response)
    raw = _raw(response, name, is_json=True)
    code = answer.retcode.strip()
    if code == "200":
        if answer.data is None or not (answer.data.link or "").strip():
            raise ProviderUnavailableError("pdfocr.org reported success without a download link", provider=NAME)
        return Converted(answer.data, raw)
    if re.fullmatch(r"4\d\d", code):
        raise failure_error(answer, status, retry_after_seconds(response))
    if re.fullmatch(r"5\d\d", code):
        raise ProviderUnavailableError(f"pdfocr.org failed: {_short(answer.msg)} (retcode {code})", provider=NAME,
                                       retcode=code)
    return Pending(raw)


def failure_error(answer: PdfOcrAnswer, http_status: int = 200, retry_after: float | None = None) -> OcrflowError:
    """A "4xx" retcode as a typed error, chosen by its message (pdfocr documents no other codes)."""
    msg = _short(answer.msg) or "no reason given"
    text = msg.lower()
    code = answer.retcode.strip()
    details = {"provider": NAME, "retcode": code}
    available = answer.data.available_pages if answer.data else None
    if _AUTH.search(text) or code == "401":
        return ProviderAuthError(f"pdfocr.org rejected the API key: {msg}", **details)
    if (available is not None and available <= 0) or _QUOTA.search(text) or code == "402":
        return QuotaExhaustedError(f"pdfocr.org has no pages left on this account: {msg}", **details)
    if code == "429" or http_status == 429 or _RATE.search(text):
        return ThrottledError(f"pdfocr.org is throttling requests: {msg}", retry_after=retry_after, **details)
    if _PASSWORD.search(text):
        return PasswordProtectedError(f"pdfocr.org cannot open a protected PDF: {msg}", **details)
    if _TOO_MANY_PAGES.search(text):
        return TooManyPagesError(f"pdfocr.org refused the page count: {msg}", **details)
    if _TOO_LARGE.search(text) or code == "413":
        return FileTooLargeError(f"pdfocr.org refused the file size: {msg}", **details)
    if _LANGUAGE.search(text):
        return LanguageNotAvailableError(f"pdfocr.org refused the language: {msg}", **details)
    if _BAD_INPUT.search(text) and not _NOT_FOUND.search(text):
        return ProviderRejectedInputError(f"pdfocr.org rejected the file: {msg}", **details)
    return ProviderError(f"pdfocr.org failed: {msg} (retcode {code})", **details)


def _parse(response: httpx.Response) -> PdfOcrAnswer | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict) or "retcode" not in body:
        return None
    try:
        return PdfOcrAnswer.model_validate(body)
    except ValidationError:
        return None


def _http_error(response: httpx.Response) -> OcrflowError:
    """A body that is not pdfocr's JSON: a Cloudflare page, a proxy error, a truncated answer."""
    status = response.status_code
    if status == 429:
        return ThrottledError("pdfocr.org is throttling requests (HTTP 429)",
                              retry_after=retry_after_seconds(response), provider=NAME)
    if status == 413:
        return FileTooLargeError("pdfocr.org refused the upload as too large (HTTP 413)", provider=NAME)
    if status >= 500 or status == 408:
        return ProviderUnavailableError(f"pdfocr.org is unavailable (HTTP {status})", provider=NAME, status=status)
    if 400 <= status < 500:
        return ProviderError(f"pdfocr.org refused the request (HTTP {status})", provider=NAME, status=status)
    return ProviderUnavailableError(f"pdfocr.org answered something that is not its JSON (HTTP {status})",
                                    provider=NAME, status=status)


def _raw(response: httpx.Response, name: str, is_json: bool = False) -> RawResponse:
    limit = _RAW_JSON_CHARS if is_json else _RAW_HTML_CHARS
    try:
        text = response.text
    except (UnicodeDecodeError, LookupError):
        text = response.content.decode("utf-8", "replace")
    return RawResponse(name=name, content_type=response.headers.get("content-type", ""), body=text[:limit])


def _short(text: str, limit: int = 200) -> str:
    return " ".join(text.split())[:limit]


# --- turning the downloaded file into pages ----------------------------------------------------------------


def pages_from_text(text: str, page_count: int, page_sizes: list[Any]) -> list[Page]:
    """txt output: one text per page when the file has exactly one form feed-separated section per page;
    otherwise the whole text belongs to the part's first page (the others stay empty). No boxes exist."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    sections = text.split("\f")
    if len(sections) > 1 and not sections[-1].strip():
        sections.pop()  # a trailing form feed
    if len(sections) != page_count:
        sections = ["\n\n".join(s.strip("\n") for s in sections)]
    pages = []
    for index, section in enumerate(sections):
        width, height, unit = _size(page_sizes, index)
        lines = [Line(text=" ".join(line.split())) for line in section.split("\n") if line.strip()]
        pages.append(Page(index=index, width=width, height=height, unit=unit, text=section.strip(),
                          blocks=[Block(lines=lines)] if lines else []))
    return pages


def _size(page_sizes: list[Any], index: int) -> tuple[float, float, str]:
    try:
        width, height, unit = page_sizes[index]
        if float(width) > 0 and float(height) > 0 and unit in ("px", "pt"):
            return float(width), float(height), unit
    except (IndexError, TypeError, ValueError):
        pass
    return 1.0, 1.0, "unknown"


# --- the client ----------------------------------------------------------------------------------------------


class PdfOcrProvider(Provider):
    name = NAME
    settings_class = PdfOcrSettings

    def __init__(self, settings: PdfOcrSettings, http: httpx.Client | None = None) -> None:
        super().__init__(settings, http)
        self.settings: PdfOcrSettings = settings
        self.limits = limits_for(settings)
        self.url = api_url(settings.endpoint)

    def check_languages(self, languages: list[str]) -> None:
        pdfocr_language(languages)

    def submit(self, part: DocumentPart, request: OcrRequest) -> ProviderResult | JobHandle:
        s = self.settings
        filename = wire_filename(part)
        job = {"filename": filename, "outformat": s.outformat, "lang": pdfocr_language(request.languages),
               "page_count": part.page_count, "page_sizes": [list(size) for size in part.page_sizes],
               "want_pdf": request.want_searchable_pdf, "deadline_at": time.time() + s.requery_deadline_seconds}
        files = {s.file_field: (filename, part.data, part.media_type)}
        try:
            response = self.http.post(self.url, data=self._form(job), files=files)
        except httpx.ReadTimeout:
            # the upload arrived and the conversion runs (and is charged): fetch it by name, as after a 524
            return self._handle(job, [RawResponse(name="submit", content_type="text/plain",
                                                  body="no answer before the read time-out; re-querying")])
        except httpx.HTTPError as exc:
            raise transport_error(self.name, exc, idempotent=False) from None
        answer = read_answer(response, "submit")
        if isinstance(answer, Pending):
            return self._handle(job, [answer.raw])
        return self._finish(job, answer, [answer.raw])

    def poll(self, handle: JobHandle) -> ProviderResult | JobHandle:
        job = handle.state
        if job.get("link"):  # converted earlier; only the download is left
            return self._result(job, self._download(job["link"]), list(handle.raw))
        try:
            response = self._requery(job)
        except httpx.ReadTimeout:
            answer: Converted | Pending = Pending(RawResponse(name="requery", content_type="text/plain",
                                                              body="no answer before the read time-out"))
        except httpx.HTTPError as exc:
            raise transport_error(self.name, exc) from None
        else:
            answer = read_answer(response, "requery")
        raw = [*handle.raw, answer.raw][-_HANDLE_RAW_KEEP:]
        if isinstance(answer, Converted):
            return self._finish(job, answer, raw)
        if time.time() >= float(job.get("deadline_at", 0)):
            raise ProviderUnavailableError(
                f"pdfocr.org did not finish converting {job.get('filename')} within "
                f"{self.settings.requery_deadline_seconds:.0f} s", retryable=False, provider=NAME, polls=handle.polls)
        return handle.model_copy(update={"raw": raw, "polls": handle.polls + 1,
                                         "wait_seconds": self.settings.requery_interval_seconds})

    # --- steps ---------------------------------------------------------------------------------------------

    def _form(self, job: dict[str, Any]) -> dict[str, str]:
        return {self.settings.api_key_param: self.settings.api_key.get_secret_value(), "lang": job["lang"],
                "outformat": job["outformat"], "ocr": "1", "filename": job["filename"]}

    def _requery(self, job: dict[str, Any]) -> httpx.Response:
        if self.settings.requery_method == "GET":
            return self.http.get(self.url, params=self._form(job))
        return self.http.post(self.url, data=self._form(job))

    def _handle(self, job: dict[str, Any], raw: list[RawResponse]) -> JobHandle:
        return JobHandle(provider=self.name, state=job, raw=raw,
                         wait_seconds=self.settings.requery_interval_seconds)

    def _finish(self, job: dict[str, Any], answer: Converted, raw: list[RawResponse]) -> ProviderResult | JobHandle:
        """Download the converted file now. If that fails transiently, hand back a handle that retries only
        the download: sending the file again would convert (and charge) it again."""
        link = urljoin(self.url, (answer.data.link or "").strip())
        job = {**job, "link": link, "available_pages": answer.data.available_pages}
        try:
            return self._result(job, self._download(link), raw)
        except ProviderUnavailableError as exc:
            if not exc.retryable:
                raise
            return self._handle(job, raw)

    def _download(self, link: str) -> bytes:
        if urlsplit(link).scheme not in ("http", "https"):
            raise ProviderError("pdfocr.org gave a download link that is not http(s)", provider=NAME)
        try:
            response = self.http.get(link, follow_redirects=True)
        except httpx.HTTPError as exc:
            raise transport_error(self.name, exc) from None
        if response.status_code in (404, 410):
            raise ProviderError(f"pdfocr.org's converted file is gone (HTTP {response.status_code})", provider=NAME)
        if response.status_code != 200:
            raise _http_error(response) if response.status_code >= 400 else ProviderUnavailableError(
                f"pdfocr.org's download answered HTTP {response.status_code}", provider=NAME)
        return response.content

    def _result(self, job: dict[str, Any], body: bytes, raw: list[RawResponse]) -> ProviderResult:
        page_count = int(job.get("page_count", 1))
        available = job.get("available_pages")
        credits = Credits(used=page_count, remaining=available, unit="pages")
        if job.get("outformat") == "txt":
            pages = pages_from_text(body.decode("utf-8-sig", "replace"), page_count, job.get("page_sizes", []))
            return ProviderResult(pages=pages, raw=raw, credits=credits)
        if not body.lstrip()[:5].startswith(b"%PDF"):
            raise ProviderUnavailableError("pdfocr.org's download is not a PDF", provider=NAME)
        try:
            pages = pages_from_pdf(body)
        except InputError:
            raise ProviderUnavailableError("pdfocr.org's PDF cannot be read", provider=NAME) from None
        return ProviderResult(pages=pages, searchable_pdf=body if job.get("want_pdf", True) else None, raw=raw,
                              credits=credits)
