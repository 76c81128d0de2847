"""Adobe PDF Services, "OCR PDF" operation: a PDF in, the same PDF with an invisible text layer out.

Flow (PROVIDERS.md §1): `POST /token` (client credentials; the token is cached per instance and refreshed
when less than 2 minutes remain) -> `POST /assets` (an asset id and a pre-signed upload URL) -> `PUT` the
bytes to that URL (no auth headers) -> `POST /operation/ocr` (201 + `location`) -> `GET location` until
`done`/`failed` (wait `retry-after` seconds) -> `GET asset.downloadUri` (no auth headers) -> the PDF.

Adobe returns no JSON text or boxes: pages, lines and words come from the text layer of the returned PDF, in
PDF points, with no confidence. Every API call sends `Authorization: Bearer <token>` and `x-api-key:
<client_id>`; a 401 makes the client fetch a new token once and repeat the call once.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urljoin, urlsplit

import httpx
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from ocrflow.document import Page
from ocrflow.errors import (
    DamagedPdfError,
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
    UnsupportedTypeError,
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

PROVIDER = "adobe"
DEFAULT_ENDPOINT = "https://pdf-services.adobe.io"
#: the documented regional hosts (the SDK's default region is ue1)
REGION_ENDPOINTS = {"ue1": "https://pdf-services-ue1.adobe.io", "ew1": "https://pdf-services-ew1.adobe.io"}
MAX_BYTES = 100 * 1024 * 1024
PDF = "application/pdf"
TOKEN_REFRESH_MARGIN_SECONDS = 120.0
#: lifetime assumed when the token answer carries no `expires_in`
DEFAULT_TOKEN_SECONDS = 3600.0

#: the 38 `ocrLang` values of the OCR operation
ADOBE_LOCALES = frozenset({
    "da-DK", "lt-LT", "sl-SI", "el-GR", "ru-RU", "en-US", "zh-HK", "hu-HU", "et-EE", "pt-BR", "uk-UA", "nb-NO",
    "pl-PL", "lv-LV", "fi-FI", "ja-JP", "es-ES", "bg-BG", "en-GB", "cs-CZ", "mt-MT", "de-DE", "hr-HR", "sk-SK",
    "sr-SR", "ca-CA", "mk-MK", "ko-KR", "de-CH", "nl-NL", "zh-CN", "sv-SE", "it-IT", "no-NO", "tr-TR", "fr-FR",
    "ro-RO", "iw-IL",
})

#: ISO 639-2 (terminology codes as ocrflow uses them, plus the bibliographic variants) -> Adobe locale.
#: en-GB and de-CH have no ISO 639-2 code of their own: choose them with OCRFLOW_ADOBE_LOCALE.
LANGUAGE_TO_LOCALE = {
    "eng": "en-US", "deu": "de-DE", "ger": "de-DE", "fra": "fr-FR", "fre": "fr-FR", "spa": "es-ES",
    "ita": "it-IT", "por": "pt-BR", "nld": "nl-NL", "dut": "nl-NL", "dan": "da-DK", "swe": "sv-SE",
    "nor": "no-NO", "nob": "nb-NO", "fin": "fi-FI", "pol": "pl-PL", "ces": "cs-CZ", "cze": "cs-CZ",
    "slk": "sk-SK", "slo": "sk-SK", "slv": "sl-SI", "hrv": "hr-HR", "srp": "sr-SR", "bul": "bg-BG",
    "mkd": "mk-MK", "mac": "mk-MK", "ron": "ro-RO", "rum": "ro-RO", "hun": "hu-HU", "ell": "el-GR",
    "gre": "el-GR", "rus": "ru-RU", "ukr": "uk-UA", "est": "et-EE", "lav": "lv-LV", "lit": "lt-LT",
    "mlt": "mt-MT", "cat": "ca-CA", "tur": "tr-TR", "heb": "iw-IL", "jpn": "ja-JP", "kor": "ko-KR",
    "chi_sim": "zh-CN", "zho": "zh-CN", "chi": "zh-CN", "chi_tra": "zh-HK",
}

OcrType = Literal["searchable_image", "searchable_image_exact"]


# --- settings ------------------------------------------------------------------------------------------------


class AdobeSettings(ProviderSettings):
    """OCRFLOW_ADOBE_*: client credentials from the Adobe Developer Console (OAuth server-to-server)."""

    model_config = settings_config(PROVIDER)

    endpoint: str = Field(default=DEFAULT_ENDPOINT, description="PDF Services host (token, assets, operations)")
    region: Literal["ue1", "ew1"] | None = Field(
        default=None, description="ue1 (US) or ew1 (Europe): use https://pdf-services-<region>.adobe.io "
                                  "unless OCRFLOW_ADOBE_ENDPOINT is given")
    client_id: str = Field(min_length=1, description="Client id; also sent as x-api-key")
    client_secret: SecretStr = Field(description="Client secret")
    ocr_type: OcrType = Field(default="searchable_image_exact",
                              description="searchable_image_exact keeps the original images untouched; "
                                          "searchable_image may deskew/clean them")
    locale: str | None = Field(default=None, description="Force one ocrLang (e.g. en-GB, de-CH) for every request")
    poll_fallback_seconds: float = Field(default=3.0, ge=0, description="Wait between polls without retry-after")
    delete_assets: bool = Field(default=True, description="Delete the input and output assets once downloaded")

    @model_validator(mode="before")
    @classmethod
    def _region_endpoint(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("region") and not data.get("endpoint"):
            region = str(data["region"]).lower()
            if region in REGION_ENDPOINTS:
                data = {**data, "endpoint": REGION_ENDPOINTS[region]}
        return data

    @field_validator("region", "ocr_type", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("endpoint")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("locale")
    @classmethod
    def _known_locale(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        match = {locale.lower(): locale for locale in ADOBE_LOCALES}.get(value.strip().lower())
        if match is None:
            raise ValueError(f"{value!r} is not an Adobe OCR locale")
        return match


def locale_for(languages: list[str], forced: str | None = None) -> str:
    """The `ocrLang` for a request: Adobe reads one language per request, so the first one is used."""
    if forced:
        return forced
    if not languages:
        return "en-US"
    code = languages[0].strip().lower()
    locale = LANGUAGE_TO_LOCALE.get(code)
    if locale is None:
        raise LanguageNotAvailableError(
            f"Adobe OCR cannot read {code!r}; it knows {', '.join(sorted(set(LANGUAGE_TO_LOCALE)))}")
    return locale


# --- wire models ---------------------------------------------------------------------------------------------


def _scalar_text(value: Any) -> Any:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    return value if isinstance(value, str) else None


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


Text = Annotated[str | None, BeforeValidator(_scalar_text)]
Status = Annotated[int | None, BeforeValidator(_int_or_none)]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TokenResponse(_Wire):
    access_token: str = Field(min_length=1)
    token_type: Text = None
    expires_in: float | None = Field(default=None, gt=0)


class AssetResponse(_Wire):
    assetID: str = Field(min_length=1)  # noqa: N815 - wire name
    uploadUri: str = Field(min_length=1)  # noqa: N815


class DownloadResponse(_Wire):
    downloadUri: str = Field(min_length=1)  # noqa: N815


class ErrorDetail(_Wire):
    code: Text = None
    message: Text = None
    status: Status = None


class ErrorBody(_Wire):
    """Every error shape Adobe uses: `{"error":{"code","message"}}` (API and token spec),
    `{"error":"invalid_client","error_description"}` (IMS), `{"error_code":"429001","message"}` (assets)."""

    error: ErrorDetail | Text = Field(default=None, union_mode="left_to_right")
    error_code: Text = None
    error_description: Text = None
    message: Text = None
    code: Text = None

    def code_and_message(self) -> tuple[str | None, str | None]:
        if isinstance(self.error, ErrorDetail):
            return self.error.code, self.error.message or self.message
        if isinstance(self.error, str):
            return self.error, self.error_description or self.message
        return self.error_code or self.code, self.message or self.error_description


class JobAsset(_Wire):
    downloadUri: str | None = None  # noqa: N815
    assetID: Text = None  # noqa: N815
    metadata: dict[str, Any] | None = None


class JobStatus(_Wire):
    status: str
    asset: JobAsset | None = None
    error: ErrorDetail | Text = Field(default=None, union_mode="left_to_right")

    @field_validator("status", mode="before")
    @classmethod
    def _normalise(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        state = re.sub(r"[\s_-]+", " ", value.strip().lower())
        if state in ("done", "failed"):
            return state
        if state in ("in progress", "inprogress", "pending", "queued", "running", "submitted"):
            return "in progress"
        raise ValueError(f"unknown job status {value!r}")


# --- parsing helpers (pure, unit-tested) ---------------------------------------------------------------------


def _one_line(text: str | None, limit: int = 200) -> str | None:
    if not text:
        return None
    flat = " ".join(str(text).split())
    return flat[:limit] + ("..." if len(flat) > limit else "")


def error_code(response: httpx.Response) -> tuple[str | None, str | None]:
    """(code, message) from an Adobe error body (any of its JSON shapes, or S3-style XML); Nones if none."""
    body = response.content
    try:
        data = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        data = None
    if isinstance(data, dict):
        try:
            code, message = ErrorBody.model_validate(data).code_and_message()
            return _one_line(code, 60), _one_line(message)
        except ValidationError:
            return None, None
    text = body[:4096].decode("utf-8", "replace")
    code_match = re.search(r"<Code>([^<]{1,80})</Code>", text)
    message_match = re.search(r"<Message>([^<]{1,500})</Message>", text)
    return (_one_line(code_match.group(1), 60) if code_match else None,
            _one_line(message_match.group(1)) if message_match else None)


QUOTA_CODES = frozenset({"INSUFFICIENT_QUOTA", "429001", "429002"})
#: the documented answer for an operation with no quota left (free tier used up, or none bought): final
EXHAUSTED_CODE = "INSUFFICIENT_QUOTA"


def api_error(response: httpx.Response, step: str) -> OcrflowError:
    """An unsuccessful Adobe answer as a typed error. `step` names the call (token, assets, ocr, status...)."""
    status = response.status_code
    code, message = error_code(response)
    details = {"provider": PROVIDER, "step": step, "status": status, "provider_code": code}
    text = f"Adobe {step} call failed: HTTP {status}" + (f" {code}" if code else "") + (
        f" ({message})" if message else "")
    if status == 429:
        # INSUFFICIENT_QUOTA is an exhausted quota (PROVIDERS.md §1.4: terminal); a usage limit (429001,
        # 429002) that says when to come back is a throttle like any other 429; without a retry-after it is
        # taken as used up
        retry_after = retry_after_seconds(response)
        upper = (code or "").upper()
        if upper == EXHAUSTED_CODE or (upper in QUOTA_CODES and retry_after is None):
            if retry_after is not None:
                details["retry_after"] = retry_after
            return QuotaExhaustedError(f"Adobe quota exhausted: {code}" + (f" ({message})" if message else ""),
                                       **details)
        return ThrottledError(text, retry_after=retry_after, **details)
    if status >= 500 or status == 408:
        return ProviderUnavailableError(text, **details)
    if step == "token":
        return ProviderAuthError(f"{text}; check OCRFLOW_ADOBE_CLIENT_ID and OCRFLOW_ADOBE_CLIENT_SECRET", **details)
    if status in (401, 403):
        return ProviderAuthError(text, **details)
    if status == 413:
        return FileTooLargeError(f"the file is too large for Adobe (HTTP 413, limit {MAX_BYTES // 2**20} MB)",
                                 **details)
    if status in (415, 422):
        return ProviderRejectedInputError(text, **details)
    return ProviderError(text, **details)


def storage_error(response: httpx.Response, step: str) -> OcrflowError:
    """A failed PUT/GET on a pre-signed storage URL (S3-style XML body)."""
    status = response.status_code
    code, message = error_code(response)
    details = {"provider": PROVIDER, "step": step, "status": status, "provider_code": code}
    text = f"Adobe storage {step} failed: HTTP {status}" + (f" {code}" if code else "") + (
        f" ({message})" if message else "")
    if code == "EntityTooLarge" or status == 413:
        return FileTooLargeError(f"the file is too large for Adobe's storage ({code or 'HTTP 413'})", **details)
    if code == "SlowDown" or status == 429:
        return ThrottledError(text, retry_after=retry_after_seconds(response), **details)
    # expired or mis-signed URLs and storage outages: a fresh submit/poll gets a fresh URL
    return ProviderUnavailableError(text, **details)


def job_error(error: ErrorDetail | str | None) -> OcrflowError:
    """A `failed` job as a typed error."""
    if not isinstance(error, ErrorDetail):
        error = ErrorDetail(code=error)
    code = _one_line(error.code, 60) or "UNKNOWN"
    message = _one_line(error.message)
    status = error.status
    details = {"provider": PROVIDER, "step": "job", "provider_code": code, "status": status}
    suffix = f": {message}" if message else ""
    upper = code.upper()
    if upper == "PASSWORD_PROTECTED":
        return PasswordProtectedError("Adobe cannot OCR a password-protected PDF; remove the password and send it "
                                      "again", **details)
    if upper == "CORRUPT_DOCUMENT":
        return DamagedPdfError(f"Adobe could not read the PDF ({code}){suffix}", **details)
    if upper in QUOTA_CODES:
        return QuotaExhaustedError(f"Adobe quota exhausted ({code}){suffix}", **details)
    if upper in ("INTERNAL_SERVER_ERROR", "UNKNOWN") or (status is not None and status >= 500):
        return ProviderUnavailableError(f"Adobe OCR job failed on Adobe's side ({code}){suffix}", **details)
    if status is not None and 400 <= status < 500:
        return ProviderRejectedInputError(f"Adobe rejected the document ({code}){suffix}", **details)
    return ProviderError(f"Adobe OCR job failed ({code}){suffix}", **details)


def _json(response: httpx.Response, step: str) -> Any:
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError):
        raise ProviderUnavailableError(f"Adobe {step} answer is not JSON (HTTP {response.status_code})",
                                       provider=PROVIDER, step=step) from None


def _model(model: type[BaseModel], response: httpx.Response, step: str) -> Any:
    try:
        return model.model_validate(_json(response, step))
    except ValidationError as exc:
        fields = ", ".join(sorted({".".join(map(str, e["loc"])) or "body" for e in exc.errors()}))
        raise ProviderUnavailableError(f"Adobe {step} answer is malformed ({fields})", provider=PROVIDER,
                                       step=step) from None


def parse_token(response: httpx.Response) -> TokenResponse:
    return _model(TokenResponse, response, "token")


def parse_asset(response: httpx.Response) -> AssetResponse:
    return _model(AssetResponse, response, "assets")


def parse_job_status(response: httpx.Response) -> JobStatus:
    status = _model(JobStatus, response, "status")
    if status.status == "done" and not (status.asset and status.asset.downloadUri):
        raise ProviderUnavailableError("Adobe reported the job done but gave no downloadUri", provider=PROVIDER,
                                       step="status")
    return status


def parse_result_pdf(pdf: bytes) -> list[Page]:
    """The pages of Adobe's searchable PDF (text layer -> lines and words with boxes, no confidence)."""
    if not pdf.lstrip()[:5].startswith(b"%PDF"):
        raise ProviderUnavailableError("Adobe's result is not a PDF", provider=PROVIDER, step="download")
    try:
        return pages_from_pdf(pdf)
    except InputError:
        raise ProviderUnavailableError("Adobe's result PDF cannot be read", provider=PROVIDER,
                                       step="download") from None


_SIGNED_QUERY = re.compile(r"(https?://[^\s\"'?]+)\?[^\s\"']*")


def redact(text: str) -> str:
    """Pre-signed URLs are bearer capabilities: keep them out of audit records."""
    return _SIGNED_QUERY.sub(r"\1?<redacted>", text)


# --- the client ------------------------------------------------------------------------------------------------


@dataclass
class _Token:
    value: str
    refresh_at: float


class AdobeProvider(Provider):
    name = PROVIDER
    limits = ProviderLimits(max_bytes=MAX_BYTES, max_pages=None, media_types=frozenset({PDF}), max_concurrency=2,
                            requests_per_second=25 / 60, cost_unit="transaction")
    settings_class = AdobeSettings
    settings: AdobeSettings

    def __init__(self, settings: AdobeSettings, http: httpx.Client | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(settings, http)
        self._clock = clock
        self._token_lock = threading.Lock()
        self._token: _Token | None = None

    # --- submit / poll ---------------------------------------------------------------------------------------

    def check_languages(self, languages: list[str]) -> None:
        locale_for(languages, self.settings.locale)

    def submit(self, part: DocumentPart, request: OcrRequest) -> JobHandle:
        if part.media_type != PDF:
            raise UnsupportedTypeError(f"Adobe OCR takes PDF only, not {part.media_type}")
        if len(part.data) > MAX_BYTES:
            raise FileTooLargeError(f"Adobe takes files up to {MAX_BYTES // 2**20} MB", provider=PROVIDER)
        locale = locale_for(request.languages, self.settings.locale)
        raw: list[RawResponse] = []

        response = self._api("POST", self._url("/assets"), step="assets", json={"mediaType": PDF})
        if response.status_code not in (200, 201):
            raise api_error(response, "assets")
        asset = parse_asset(response)
        raw.append(RawResponse(name="adobe.assets", body=redact(response.text)))

        self._upload(asset.uploadUri, part.data)

        body = {"assetID": asset.assetID, "ocrLang": locale, "ocrType": self.settings.ocr_type}
        response = self._api("POST", self._url("/operation/ocr"), step="ocr", json=body, idempotent=False)
        if response.status_code not in (200, 201, 202):
            raise api_error(response, "ocr")
        location = response.headers.get("location")
        if not location:
            raise ProviderUnavailableError("Adobe accepted the OCR job but sent no location header",
                                           provider=PROVIDER, step="ocr")
        location = self._checked_location(location)
        raw.append(RawResponse(name="adobe.operation.ocr", body=json.dumps({
            "status": response.status_code, "location": location, "request": body,
            "x-request-id": response.headers.get("x-request-id")})))
        return JobHandle(provider=self.name, wait_seconds=self._wait(response), raw=raw, state={
            "location": location, "asset_id": asset.assetID, "page_count": part.page_count,
            "ocr_lang": locale, "ocr_type": self.settings.ocr_type})

    def poll(self, handle: JobHandle) -> ProviderResult | JobHandle:
        location = handle.state.get("location")
        if not isinstance(location, str) or not location:
            raise ProviderError("the Adobe job handle has no location to poll", provider=PROVIDER)
        response = self._api("GET", self._checked_location(location), step="status")
        if response.status_code not in (200, 202):
            raise api_error(response, "status")
        status = parse_job_status(response)
        if status.status == "in progress":
            return handle.model_copy(update={"wait_seconds": self._wait(response), "polls": handle.polls + 1})
        raw = [*handle.raw, RawResponse(name="adobe.status", body=redact(response.text))]
        input_asset = handle.state.get("asset_id")
        if status.status == "failed":
            self._delete_assets([input_asset])
            raise job_error(status.error)
        assert status.asset is not None and status.asset.downloadUri  # parse_job_status checked it
        pdf = self._download(status.asset.downloadUri, status.asset.assetID)
        size = (status.asset.metadata or {}).get("size")
        if isinstance(size, int) and not isinstance(size, bool) and size != len(pdf):
            raise ProviderUnavailableError(f"Adobe's result download was incomplete ({len(pdf)} of {size} bytes)",
                                           provider=PROVIDER, step="download")
        pages = parse_result_pdf(pdf)
        self._delete_assets([input_asset, status.asset.assetID])
        return ProviderResult(pages=pages, searchable_pdf=pdf, raw=raw,
                              engine=f"adobe-pdf-services-ocr/{handle.state.get('ocr_type', self.settings.ocr_type)}")

    # --- HTTP ------------------------------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return f"{self.settings.endpoint}{path}"

    def _wait(self, response: httpx.Response) -> float:
        seconds = retry_after_seconds(response)
        return self.settings.poll_fallback_seconds if seconds is None else seconds

    def _checked_location(self, location: str) -> str:
        """The polling URL, absolute; only on the configured host or an adobe.io host (it gets our token)."""
        url = urljoin(self.settings.endpoint + "/", location)
        target, ours = urlsplit(url), urlsplit(self.settings.endpoint)
        same_origin = (target.scheme, target.netloc.lower()) == (ours.scheme, ours.netloc.lower())
        adobe_host = target.scheme == "https" and (target.hostname or "").lower().endswith(".adobe.io")
        if not (same_origin or adobe_host):
            raise ProviderError(f"Adobe sent a polling URL on an unexpected host ({target.hostname})",
                                provider=PROVIDER, step="status")
        return url

    def _api(self, method: str, url: str, *, step: str, idempotent: bool = True, **kwargs: Any) -> httpx.Response:
        """One API call with the auth headers; after a 401, one new token and one more try."""
        for attempt in (1, 2):
            token = self._access_token()
            headers = {"Authorization": f"Bearer {token}", "x-api-key": self.settings.client_id}
            try:
                response = self.http.request(method, url, headers=headers, **kwargs)
            except httpx.HTTPError as exc:
                raise transport_error(self.name, exc, idempotent=idempotent) from None
            if response.status_code == 401 and attempt == 1:
                self._forget_token(token)
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _access_token(self) -> str:
        with self._token_lock:
            now = self._clock()
            if self._token is None or now >= self._token.refresh_at:
                self._token = self._fetch_token(now)
            return self._token.value

    def _forget_token(self, token: str) -> None:
        with self._token_lock:
            if self._token is not None and self._token.value == token:
                self._token = None

    def _fetch_token(self, now: float) -> _Token:
        form = {"client_id": self.settings.client_id,
                "client_secret": self.settings.client_secret.get_secret_value()}
        try:
            response = self.http.post(self._url("/token"), data=form)
        except httpx.HTTPError as exc:
            raise transport_error(self.name, exc) from None
        if response.status_code != 200:
            raise api_error(response, "token")
        token = parse_token(response)
        lifetime = token.expires_in or DEFAULT_TOKEN_SECONDS
        # refresh 2 minutes before expiry; for very short-lived tokens, half-way through their life
        return _Token(token.access_token, now + max(lifetime - TOKEN_REFRESH_MARGIN_SECONDS, lifetime / 2))

    def _upload(self, upload_uri: str, data: bytes) -> None:
        """PUT to the pre-signed URL: its own signature is the auth, so no Authorization/x-api-key here."""
        try:
            response = self.http.put(upload_uri, content=data, headers={"Content-Type": PDF})
        except httpx.HTTPError as exc:
            raise transport_error(self.name, exc) from None
        if response.status_code not in (200, 201, 202, 204):
            raise storage_error(response, "upload")

    def _download(self, download_uri: str, asset_id: str | None) -> bytes:
        """GET the result from its pre-signed URL (valid 1 h); when that was refused, ask for a fresh one once."""
        response = self._get_signed(download_uri)
        if response.status_code in (400, 403) and asset_id:
            fresh = self._api("GET", self._url(f"/assets/{asset_id}"), step="asset")
            if fresh.status_code != 200:
                raise api_error(fresh, "asset")
            response = self._get_signed(_model(DownloadResponse, fresh, "asset").downloadUri)
        if response.status_code != 200:
            raise storage_error(response, "download")
        return response.content

    def _get_signed(self, url: str) -> httpx.Response:
        if urlsplit(url).scheme not in ("http", "https"):
            raise ProviderUnavailableError("Adobe sent a download URL that is not http(s)", provider=PROVIDER,
                                           step="download")
        try:
            return self.http.get(url)
        except httpx.HTTPError as exc:
            raise transport_error(self.name, exc) from None

    def _delete_assets(self, asset_ids: list[Any]) -> None:
        """Best effort: assets would expire after 24 h anyway; a failure here must not fail the job."""
        if not self.settings.delete_assets:
            return
        for asset_id in asset_ids:
            if not isinstance(asset_id, str) or not asset_id:
                continue
            with contextlib.suppress(OcrflowError):
                self._api("DELETE", self._url(f"/assets/{asset_id}"), step="delete")
