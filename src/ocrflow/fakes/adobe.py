"""A fake Adobe PDF Services API (OCR PDF operation) speaking the documented wire format (PROVIDERS.md §1).

Routes: `POST /token` (form client_id/client_secret), `POST /assets`, `GET|DELETE /assets/<id>`, the
pre-signed storage URLs it hands out itself (`PUT /upload/<id>`, `GET /download/<id>`, S3-style XML errors,
no auth headers allowed), `POST /operation/ocr` (201 + `location`) and `GET /operation/ocr/<job>/status`
(`in progress` with `retry-after`, then `done` with `asset.downloadUri`, or `failed`). The OCR is real: the
output is the embedded engine's searchable PDF of the uploaded file.

Faults (`fake.faults.inject(mode)`), restricted to some steps with `fake.fault_steps = {"ocr", ...}`
(steps: token, assets, asset, upload, ocr, status, download):
  throttle      429 - `TOO_MANY_REQUESTS` on /operation/ocr, flat `{"error_code":"429050"}` elsewhere
  quota         429 - `INSUFFICIENT_QUOTA` on /operation/ocr, flat `{"error_code":"429001"}` on /assets and the
                status URL (a usage limit; with `fake.quota_retry_after` set, the answers carry that retry-after)
  error5xx      500 `INTERNAL_SERVER_ERROR` (XML `InternalError` on storage URLs)
  unavailable   503 from the gateway, HTML body
  malformed     a 2xx answer that is not what the API documents
  expired_token 401 `UNAUTHORIZED` and the token is revoked (on a storage URL: 403 "Request has expired")
  partial       the download stops half-way
"""

from __future__ import annotations

import calendar
import json
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from ocrflow.engines.languages import ISO_639_1_TO_3
from ocrflow.errors import InputError, LanguageNotAvailableError, PasswordProtectedError
from ocrflow.fakes.base import FakeServer

LOCALES = frozenset({
    "da-DK", "lt-LT", "sl-SI", "el-GR", "ru-RU", "en-US", "zh-HK", "hu-HU", "et-EE", "pt-BR", "uk-UA", "nb-NO",
    "pl-PL", "lv-LV", "fi-FI", "ja-JP", "es-ES", "bg-BG", "en-GB", "cs-CZ", "mt-MT", "de-DE", "hr-HR", "sk-SK",
    "sr-SR", "ca-CA", "mk-MK", "ko-KR", "de-CH", "nl-NL", "zh-CN", "sv-SE", "it-IT", "no-NO", "tr-TR", "fr-FR",
    "ro-RO", "iw-IL",
})
OCR_TYPES = frozenset({"searchable_image", "searchable_image_exact"})
OCR_FIELDS = frozenset({"assetID", "ocrLang", "ocrType", "notifiers"})
PDF = "application/pdf"

URLS = Map([
    Rule("/token", methods=["POST"], endpoint="token"),
    Rule("/assets", methods=["POST"], endpoint="assets"),
    Rule("/assets/<asset_id>", methods=["GET", "DELETE"], endpoint="asset"),
    Rule("/upload/<asset_id>", methods=["PUT"], endpoint="upload"),
    Rule("/download/<asset_id>", methods=["GET"], endpoint="download"),
    Rule("/operation/ocr", methods=["POST"], endpoint="ocr"),
    Rule("/operation/ocr/<job_id>/status", methods=["GET"], endpoint="status"),
])


@dataclass
class Asset:
    media_type: str
    signature: str
    data: bytes | None = None


@dataclass
class Job:
    asset_id: str
    locale: str
    polls_left: int
    output_id: str | None = None          # done: the result asset
    error: dict[str, Any] | None = None   # failed: the error object


class AdobeFake(FakeServer):
    name = "adobe"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.clients = {"fake-client-id": "fake-client-secret"}
        #: polls answered `in progress` before a job is done, and the retry-after they carry (None: no header)
        self.in_progress_polls = 1
        self.retry_after: str | None = "1"
        self.throttle_retry_after: str | None = "1"
        #: the retry-after of a quota answer (undocumented for Adobe; None: no header, the quota is used up)
        self.quota_retry_after: str | None = None
        self.token_ttl_seconds = 86399
        self.url_ttl_seconds = 3600
        self.max_bytes = 100 * 1024 * 1024
        #: where faults may fire (None: the first request they apply to)
        self.fault_steps: set[str] | None = None
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, float]] = {}   # token -> (client_id, expires at)
        self._assets: dict[str, Asset] = {}
        self._jobs: dict[str, Job] = {}

    # --- dispatch --------------------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        try:
            step, args = URLS.bind_to_environ(request.environ).match()
        except HTTPException as exc:
            return self._error(exc.code or 404, "NOT_FOUND", f"no route for {request.method} {request.path}")
        if step in ("upload", "download"):
            return self._storage(step, request, args["asset_id"])
        if step == "token":
            return self._fault_response(step) or self._token(request)
        denied = self._check_auth(request, step)
        if denied is not None:
            return denied
        fault = self._fault_response(step)
        if fault is not None:
            return fault
        if step == "assets":
            return self._create_asset(request)
        if step == "asset":
            return self._asset(request, args["asset_id"])
        if step == "ocr":
            return self._create_job(request)
        return self._status(args["job_id"])

    def _fires(self, mode: str, step: str) -> bool:
        return (self.fault_steps is None or step in self.fault_steps) and self.faults.take(mode)

    def _fault_response(self, step: str) -> Response | None:
        if step != "token" and self._fires("throttle", step):
            headers = {"retry-after": self.throttle_retry_after} if self.throttle_retry_after is not None else {}
            if step == "ocr":
                return self._error(429, "TOO_MANY_REQUESTS", "Too many requests", headers)
            return self._json({"error_code": "429050", "message": "Too many requests"}, 429, headers)
        if step in ("assets", "ocr", "status") and self._fires("quota", step):
            headers = {"retry-after": self.quota_retry_after} if self.quota_retry_after is not None else {}
            if step == "ocr":
                return self._error(429, "INSUFFICIENT_QUOTA", "Quota exhausted for this operation", headers)
            return self._json({"error_code": "429001", "message": "Service usage limit reached"}, 429, headers)
        if self._fires("error5xx", step):
            return self._error(500, "INTERNAL_SERVER_ERROR", "Internal server error")
        if self._fires("unavailable", step):
            return Response("<html><body><h1>503 Service Unavailable</h1></body></html>", 503, mimetype="text/html")
        if self._fires("malformed", step):
            if step == "ocr":
                return Response(b"", 201)  # accepted, but no location header
            return Response('{"status": "done", "asset": ', 200, mimetype="application/json")
        return None

    # --- responses -------------------------------------------------------------------------------------------

    @staticmethod
    def _json(body: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return Response(json.dumps(body), status, headers=headers, mimetype="application/json")

    def _error(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
        return self._json({"error": {"code": code, "message": message}}, status, headers)

    @staticmethod
    def _xml_error(status: int, code: str, message: str) -> Response:
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
                f"<RequestId>{secrets.token_hex(8).upper()}</RequestId></Error>")
        return Response(body, status, mimetype="application/xml")

    def _signed_url(self, kind: str, asset_id: str) -> str:
        """An S3-style pre-signed URL: signed at X-Amz-Date, valid X-Amz-Expires seconds (1 h by default)."""
        asset = self._assets[asset_id]
        signed_at = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        return (f"{self.base_url}/{kind}/{asset_id}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date={signed_at}"
                f"&X-Amz-Expires={int(self.url_ttl_seconds)}&X-Amz-SignedHeaders=content-type%3Bhost"
                f"&X-Amz-Signature={asset.signature}")

    @staticmethod
    def _expired(request: Request) -> bool:
        try:
            signed_at = calendar.timegm(time.strptime(request.args.get("X-Amz-Date", ""), "%Y%m%dT%H%M%SZ"))
            return time.time() > signed_at + int(request.args.get("X-Amz-Expires", ""))
        except ValueError:
            return True

    # --- token and auth --------------------------------------------------------------------------------------

    def _token(self, request: Request) -> Response:
        client_id, client_secret = request.form.get("client_id"), request.form.get("client_secret")
        if not client_id or not client_secret:  # the IMS shape
            missing = "client_id" if not client_id else "client_secret"
            return self._json({"error": "invalid_client", "error_description": f"missing {missing} parameter"}, 400)
        if client_id not in self.clients:
            return self._json({"error": "invalid_client", "error_description": "invalid client_id parameter"}, 400)
        if self.clients[client_id] != client_secret:  # the shape of the token API spec
            return self._error(401, "invalid_client", "invalid client_secret parameter")
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = (client_id, time.time() + self.token_ttl_seconds)
        return self._json({"access_token": token, "token_type": "bearer", "expires_in": self.token_ttl_seconds})

    def _check_auth(self, request: Request, step: str) -> Response | None:
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        with self._lock:
            client_id, expires_at = self._tokens.get(token, ("", 0.0))
        if not token or expires_at < time.time():
            return self._error(401, "UNAUTHORIZED", "Invalid or expired access token")
        if request.headers.get("x-api-key") != client_id:
            return self._error(401, "UNAUTHORIZED", "Invalid x-api-key")
        if self._fires("expired_token", step):
            with self._lock:
                self._tokens.pop(token, None)
            return self._error(401, "UNAUTHORIZED", "Access token has expired")
        return None

    # --- assets and storage ----------------------------------------------------------------------------------

    def _create_asset(self, request: Request) -> Response:
        body = request.get_json(silent=True)
        media_type = body.get("mediaType") if isinstance(body, dict) else None
        if not isinstance(media_type, str) or "/" not in media_type:
            return self._error(400, "BAD_REQUEST", "mediaType is required")
        asset_id = f"urn:aaid:AS:UE1:{uuid.uuid4()}"
        with self._lock:
            self._assets[asset_id] = Asset(media_type, secrets.token_hex(16))
        return self._json({"assetID": asset_id, "uploadUri": self._signed_url("upload", asset_id)})

    def _asset(self, request: Request, asset_id: str) -> Response:
        with self._lock:
            asset = self._assets.get(asset_id)
            if asset is not None and request.method == "DELETE":
                del self._assets[asset_id]
                return Response(status=204)
        if asset is None or asset.data is None:
            return self._error(404, "NOT_FOUND", "Asset not found")
        return self._json({"downloadUri": self._signed_url("download", asset_id), "size": len(asset.data),
                           "type": asset.media_type})

    def _storage(self, step: str, request: Request, asset_id: str) -> Response:
        """The pre-signed URLs: the signature in the query is the only credential S3 accepts."""
        with self._lock:
            asset = self._assets.get(asset_id)
        if asset is None or request.args.get("X-Amz-Signature") != asset.signature:
            return self._xml_error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match")
        if "Authorization" in request.headers:
            return self._xml_error(400, "InvalidArgument", "Only one auth mechanism allowed")
        if self._expired(request) or self._fires("expired_token", step):
            return self._xml_error(403, "AccessDenied", "Request has expired")
        if self._fires("error5xx", step):
            return self._xml_error(500, "InternalError", "We encountered an internal error. Please try again.")
        if step == "upload":
            return self._upload(request, asset_id, asset)
        if asset.data is None:
            return self._xml_error(404, "NoSuchKey", "The specified key does not exist.")
        body = asset.data[: len(asset.data) // 2] if self._fires("partial", step) else asset.data
        return Response(body, 200, mimetype=asset.media_type)

    def _upload(self, request: Request, asset_id: str, asset: Asset) -> Response:
        if request.mimetype != asset.media_type:  # content-type is a signed header
            return self._xml_error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match")
        data = request.get_data()
        if len(data) > self.max_bytes:
            return self._xml_error(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
        with self._lock:
            asset.data = data
        return Response(status=200, headers={"ETag": f'"{secrets.token_hex(16)}"'})

    # --- the OCR operation -----------------------------------------------------------------------------------

    def _create_job(self, request: Request) -> Response:
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not set(body) <= OCR_FIELDS:
            return self._error(400, "BAD_REQUEST", "Invalid request body")
        asset_id, locale = body.get("assetID"), body.get("ocrLang", "en-US")
        if not isinstance(asset_id, str) or locale not in LOCALES:
            return self._error(400, "BAD_REQUEST", "assetID is required and ocrLang must be a supported locale")
        if body.get("ocrType", "searchable_image") not in OCR_TYPES:
            return self._error(400, "BAD_REQUEST", "ocrType must be searchable_image or searchable_image_exact")
        with self._lock:
            asset = self._assets.get(asset_id)
        if asset is None or asset.data is None:
            return self._error(404, "NOT_FOUND", "Asset not found")
        if asset.media_type != PDF:
            return self._error(400, "BAD_REQUEST", "The input file must be a PDF")
        job_id = uuid.uuid4().hex
        with self._lock:
            self._jobs[job_id] = Job(asset_id, locale, self.in_progress_polls)
        return Response(b"", 201, headers={"location": f"{self.base_url}/operation/ocr/{job_id}/status",
                                           "x-request-id": job_id})

    def _status(self, job_id: str) -> Response:
        if not re.fullmatch(r"[0-9A-Za-z_-]{1,64}", job_id):
            return self._error(400, "INVALID_JOB_ID", "Invalid job id")
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None and job.polls_left > 0:
                job.polls_left -= 1
                headers = {"retry-after": self.retry_after} if self.retry_after is not None else {}
                return self._json({"status": "in progress"}, 200, headers)
        if job is None:
            return self._error(404, "NOT_FOUND", "Job not found")
        if job.output_id is None and job.error is None:
            self._finish(job)
        if job.error is not None:
            return self._json({"status": "failed", "error": job.error})
        with self._lock:
            output = self._assets.get(job.output_id or "")
            if output is None or output.data is None:
                return self._error(404, "NOT_FOUND", "Job result has expired")
            url = self._signed_url("download", job.output_id or "")  # a fresh URL on every answer
        return self._json({"status": "done", "asset": {"metadata": {"type": PDF, "size": len(output.data)},
                                                       "downloadUri": url, "assetID": job.output_id}})

    def _finish(self, job: Job) -> None:
        with self._lock:
            asset = self._assets.get(job.asset_id)
        try:
            pdf = self._read(asset.data if asset is not None and asset.data else b"", job.locale)
        except PasswordProtectedError:
            job.error = {"code": "PASSWORD_PROTECTED", "status": 400,
                         "message": "Unable to process the file as it is password protected"}
            return
        except InputError:
            job.error = {"code": "CORRUPT_DOCUMENT", "status": 400,
                         "message": "Unable to process the file as it is corrupt"}
            return
        output_id = f"urn:aaid:AS:UE1:{uuid.uuid4()}"
        with self._lock:
            self._assets[output_id] = Asset(PDF, secrets.token_hex(16), pdf)
            job.output_id = output_id

    def _read(self, data: bytes, locale: str) -> bytes:
        """The embedded engine's searchable PDF, in the locale's language when that is installed here."""
        language = ISO_639_1_TO_3.get(locale[:2], "eng")
        try:
            return self.searchable_pdf(data, language)
        except LanguageNotAvailableError:
            return self.searchable_pdf(data, "eng")
