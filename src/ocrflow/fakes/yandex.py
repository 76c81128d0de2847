"""A fake Yandex Vision OCR (OCR API v1): recognizeText (sync), recognizeTextAsync + operations/{id} +
getRecognition (async), with real OCR behind it.

Wire format as documented: JSON body {mimeType, languageCodes, model, content (base64)}; `Authorization:
Api-Key <key>` or `Authorization: Bearer <IAM token>` with `x-folder-id`; answers as JSON Lines of
{"result": {...}} with int64 numbers as strings and pixel vertices TL, BL, BR, TR; errors as
{"code": <gRPC code>, "message", "details"} with the matching HTTP status.

Knobs: `snake_case` (answer with the how-to's field names), `alternatives` (the older lines[].alternatives[]
layout), `polls_until_done`, `recognition_not_found` (404s from getRecognition after an operation is done),
`operation_error` (async operations finish with this gRPC code), `inject_error(code, times, path)`.
Faults: throttle (429/8), unavailable (503/14), error5xx (500/13), malformed (a broken body), expired_token
(401/16). `sync_times` holds when each recognizeText call arrived (time.monotonic()).
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
import secrets
import threading
import time
from datetime import UTC, datetime
from typing import Any

import pikepdf
from PIL import Image
from werkzeug.wrappers import Request, Response

from ocrflow.document import BBox, Document, Page
from ocrflow.engines.languages import ISO_639_1_TO_3
from ocrflow.errors import InputError
from ocrflow.fakes.base import FakeServer, pixel_size

MAX_BYTES = 10_000_000
MAX_PIXELS = 20_000_000
MAX_ASYNC_PAGES = 200
MODELS = {"page", "page-column-sort", "handwritten", "table", "markdown", "math-markdown"}
LANGUAGES = {"az", "ba", "be", "bg", "bs", "cs", "da", "de", "en", "es", "et", "fi", "fr", "hu", "id", "it", "kk",
             "ky", "lt", "lv", "mt", "nl", "no", "pl", "pt", "ro", "ru", "sk", "sl", "sv", "tg", "tr", "tt", "uz",
             "vi", "ar", "el", "he", "hy", "ja", "ka", "ko", "th", "zh"}
#: mimeType spellings taken (the documented default is "image")
IMAGE_TYPES = {"JPEG", "PNG", "image"}
PDF_TYPES = {"PDF", "application/pdf"}
HTTP_STATUS = {1: 499, 2: 500, 3: 400, 4: 504, 5: 404, 6: 409, 7: 403, 8: 429, 9: 400, 10: 409, 11: 400, 12: 501,
               13: 500, 14: 503, 15: 500, 16: 401}
ANGLES = {0: "ANGLE_0", 90: "ANGLE_90", 180: "ANGLE_180", 270: "ANGLE_270"}


class FakeError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class YandexFake(FakeServer):
    name = "yandex"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, api_key: str = "fake-yandex-key",
                 iam_token: str = "t1.fake-iam-token", folder_id: str = "b1gfakefolder") -> None:
        super().__init__(host, port)
        self.api_key, self.iam_token, self.folder_id = api_key, iam_token, folder_id
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Back to the defaults: no faults, no errors, camelCase answers, done after one poll."""
        self.faults.clear()
        self.requests.clear()
        self.snake_case = False
        self.alternatives = False
        self.polls_until_done = 1
        self.recognition_not_found = 0
        self.operation_error: int | None = None
        self.sync_times: list[float] = []
        self.operations: dict[str, dict[str, Any]] = {}
        self._errors: list[tuple[int, str | None]] = []

    def inject_error(self, code: int, times: int = 1, path: str | None = None) -> None:
        """Answer the next `times` requests (whose path contains `path`, or any) with gRPC error `code`."""
        with self._lock:
            self._errors.extend([(code, path)] * times)

    # --- routing ------------------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        try:
            self._check_auth(request)
            self._check_faults(request)
            if request.method == "POST" and request.path == "/ocr/v1/recognizeText":
                return self._recognize(request)
            if request.method == "POST" and request.path == "/ocr/v1/recognizeTextAsync":
                return self._recognize_async(request)
            if request.method == "GET" and request.path == "/ocr/v1/getRecognition":
                return self._get_recognition(request)
            match = re.fullmatch(r"/operations/([^/]+)", request.path)
            if request.method == "GET" and match:
                return self._json(self._operation_status(match.group(1)))
            raise FakeError(5, f"Method {request.method} {request.path} not found")
        except FakeError as exc:
            return self._error(exc.code, exc.message)

    def _answer(self, body: str) -> Response:
        """A 200 answer - or, with the malformed fault, one cut short."""
        if self.faults.take("malformed"):
            body = body[: max(1, len(body) // 3)]
        return Response(body, mimetype="application/json", headers={"x-request-id": secrets.token_hex(8)})

    def _check_auth(self, request: Request) -> None:
        auth = request.headers.get("Authorization", "")
        scheme, _, value = auth.partition(" ")
        if scheme == "Api-Key" and value == self.api_key:
            return
        if scheme == "Bearer" and value == self.iam_token:
            folder = request.headers.get("x-folder-id")
            if not folder:
                raise FakeError(3, "folder id is not specified (x-folder-id header)")
            if folder != self.folder_id:
                raise FakeError(7, f"Permission to [resource-manager.folder {folder}] denied")
            return
        raise FakeError(16, "Unknown api key" if scheme == "Api-Key" else "The token is invalid")

    def _check_faults(self, request: Request) -> None:
        with self._lock:
            for i, (code, path) in enumerate(self._errors):
                if path is None or path in request.path:
                    del self._errors[i]
                    raise FakeError(code, f"injected error {code}")
        if self.faults.take("expired_token"):
            raise FakeError(16, "The token has expired")
        if self.faults.take("throttle"):
            raise FakeError(8, "Quota limit vision.ocr.textRecognition.rate exceeded")
        if self.faults.take("unavailable"):
            raise FakeError(14, "Service is unavailable, try again later")
        if self.faults.take("error5xx"):
            raise FakeError(13, "Internal error")

    # --- OCR ----------------------------------------------------------------------------------------------

    def _recognize(self, request: Request) -> Response:
        self.sync_times.append(time.monotonic())
        data, is_pdf, languages, pages = self._read_body(request)
        if is_pdf and pages > 1:
            raise FakeError(3, "PDF in synchronous mode should not exceed 1 page; use recognizeTextAsync")
        return self._lines(self._document(data, languages))

    def _recognize_async(self, request: Request) -> Response:
        data, _, languages, _ = self._read_body(request)
        op_id = "fd3" + secrets.token_hex(9)
        now = _timestamp()
        operation = {"id": op_id, "description": "OCR async recognition", "createdAt": now,
                     "createdBy": "ajefakeserviceaccount", "modifiedAt": now, "done": False, "metadata": None}
        with self._lock:
            self.operations[op_id] = {"operation": operation, "data": data, "languages": languages, "polls": 0,
                                      "document": None, "not_found": 0}
        return self._json(operation)

    def _operation_status(self, op_id: str) -> dict[str, Any]:
        job = self.operations.get(op_id)
        if job is None:
            raise FakeError(5, f"Operation {op_id} not found")
        with self._lock:
            job["polls"] += 1
            ready = job["polls"] >= self.polls_until_done
        operation = dict(job["operation"])
        if ready and not operation["done"]:
            try:
                if self.operation_error is not None:
                    raise FakeError(self.operation_error, f"recognition failed (code {self.operation_error})")
                job["document"] = self._document(job["data"], job["languages"])
                operation["response"] = {"@type": "type.googleapis.com/google.protobuf.Empty"}
            except FakeError as exc:
                operation["error"] = {"code": exc.code, "message": exc.message, "details": []}
            operation.update(done=True, modifiedAt=_timestamp())
            job["operation"] = operation
        return operation

    def _get_recognition(self, request: Request) -> Response:
        job = self.operations.get(request.args.get("operationId", ""))
        if job is None:
            raise FakeError(5, "Operation not found")
        operation = job["operation"]
        if not operation["done"] or job["not_found"] < self.recognition_not_found:
            if operation["done"]:
                job["not_found"] += 1
            raise FakeError(5, "Recognition result not found")
        if "error" in operation:
            raise FakeError(operation["error"]["code"], operation["error"]["message"])
        return self._lines(job["document"])

    def _read_body(self, request: Request) -> tuple[bytes, bool, str, int]:
        """Validates a recognize request: (file bytes, is PDF, tesseract languages, page count)."""
        try:
            body = json.loads(request.get_data(as_text=True))
            data = base64.b64decode(body["content"], validate=True)
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise FakeError(3, "invalid request body: content must be base64") from None
        if not isinstance(body, dict):
            raise FakeError(3, "invalid request body")
        mime = body.get("mimeType", "image")
        if mime not in IMAGE_TYPES | PDF_TYPES:
            raise FakeError(3, f"unsupported mime type {mime!r}")
        model = body.get("model", "page")
        if model not in MODELS:
            raise FakeError(3, f"unknown model {model!r}")
        codes = body.get("languageCodes") or []
        if not isinstance(codes, list) or any(c != "*" and c not in LANGUAGES for c in codes):
            raise FakeError(3, f"unsupported language codes {codes!r}")
        if len(data) > MAX_BYTES:
            raise FakeError(3, f"file size {len(data)} exceeds the limit of 10 MB")
        is_pdf = data.startswith(b"%PDF")
        if is_pdf != (mime in PDF_TYPES):
            raise FakeError(3, f"the content does not match mime type {mime!r}")
        pages = self._pdf_pages(data) if is_pdf else self._check_image(data)
        if pages > MAX_ASYNC_PAGES:
            raise FakeError(3, f"PDF has {pages} pages; the limit is {MAX_ASYNC_PAGES}")
        return data, is_pdf, _tesseract_languages(codes), pages

    @staticmethod
    def _pdf_pages(data: bytes) -> int:
        try:
            with pikepdf.open(io.BytesIO(data)) as pdf:
                return len(pdf.pages)
        except pikepdf.PdfError:
            raise FakeError(3, "cannot read the PDF") from None

    @staticmethod
    def _check_image(data: bytes) -> int:
        try:
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
        except (OSError, ValueError, Image.DecompressionBombError):
            raise FakeError(3, "image cannot be decoded") from None
        if width * height > MAX_PIXELS:
            raise FakeError(3, f"image size {width}x{height} exceeds 20 megapixels")
        return 1

    def _document(self, data: bytes, languages: str) -> Document:
        try:
            return self.ocr(data, languages)
        except InputError as exc:
            raise FakeError(3, f"cannot recognize the file: {exc}") from None

    # --- answers ------------------------------------------------------------------------------------------

    def _lines(self, document: Document) -> Response:
        lines = [json.dumps(self._cased({"result": self._result(page)})) for page in document.pages]
        return self._answer("\n".join(lines) + "\n")

    def _result(self, page: Page) -> dict[str, Any]:
        width, height = pixel_size(page)
        blocks = []
        for block in page.blocks:
            lines = []
            for line in block.lines:
                words = [{"boundingBox": _box(word.bbox, width, height), "text": word.text, "entityIndex": "-1",
                          "textSegments": []} for word in line.words]
                if self.alternatives:
                    lines.append({"boundingBox": _box(line.bbox, width, height),
                                  "alternatives": [{"text": line.text, "words": words}]})
                else:
                    lines.append({"boundingBox": _box(line.bbox, width, height), "text": line.text, "words": words,
                                  "textSegments": [], "orientation": "ANGLE_0"})
            blocks.append({"boundingBox": _box(block.bbox, width, height), "lines": lines,
                           "languages": [{"languageCode": "en"}], "textSegments": [],
                           "layoutType": "LAYOUT_TYPE_TEXT"})
        annotation = {"width": str(width), "height": str(height), "blocks": blocks, "entities": [], "tables": [],
                      "fullText": page.text, "rotate": ANGLES.get(page.text_orientation or 0, "ANGLE_0"),
                      "markdown": "", "pictures": []}
        return {"page": str(page.index), "textAnnotation": annotation}

    def _cased(self, value: Any) -> Any:
        if not self.snake_case:
            return value
        if isinstance(value, dict):
            return {re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower(): self._cased(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._cased(item) for item in value]
        return value

    def _json(self, body: dict[str, Any]) -> Response:
        return self._answer(json.dumps(body))

    def _error(self, code: int, message: str) -> Response:
        request_id = secrets.token_hex(8)
        body = {"code": code, "message": message,
                "details": [{"@type": "type.googleapis.com/google.rpc.RequestInfo", "requestId": request_id}]}
        return Response(json.dumps(body), status=HTTP_STATUS.get(code, 500), mimetype="application/json",
                        headers={"x-request-id": request_id})


def _tesseract_languages(codes: list[str]) -> str:
    """The embedded engine's languages for Yandex codes (English where the engine has no data)."""
    known = [ISO_639_1_TO_3[c] for c in codes if c in ("en", "de")]
    return "+".join(dict.fromkeys(known)) or "eng"


def _box(bbox: BBox | None, width: int, height: int) -> dict[str, Any]:
    if bbox is None:
        return {"vertices": []}
    left, top = round(bbox.x0 * width), round(bbox.y0 * height)
    right, bottom = round(bbox.x1 * width), round(bbox.y1 * height)
    corners = [(left, top), (left, bottom), (right, bottom), (right, top)]  # TL, BL, BR, TR
    return {"vertices": [{"x": str(x), "y": str(y)} for x, y in corners]}


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
