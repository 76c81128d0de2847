"""A fake pdfmage document-ocr endpoint (PROVIDERS.md §4) that answers with real OCR.

POST /api/v1/document-ocr, multipart part `file` (PDF only, <= 10 MB), `Authorization: Bearer <key>`.
Answers like the documented example: four flat element lists per page with normalized vertices TL, TR, BR, BL
and confidences; page `dimensions` are the PDF page size in points labelled "px" (as in the documented
612 x 792 "px" example); credits in `X-Credits-*` headers, 0.01 USD per page from a prepaid balance.

Errors follow the documented body `{"error", "message", "details": {"code", ...}, "timestamp", "requestId"}`:
400 INVALID_FILE_FORMAT, 401 INVALID_API_KEY, 402 INSUFFICIENT_BALANCE, 403 (key without permission, no code
documented), 413 (no code documented), 422 NO_TEXT_CONTENT, 429. Faults: throttle (429 + Retry-After),
error5xx (500 JSON), unavailable (503 HTML from a proxy), malformed (a cut-off 200 body), quota (402),
partial (only the first page comes back), slow/timeout (applied by the base class).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal

from werkzeug.wrappers import Request, Response

from ocrflow.document import BBox, Document, Page
from ocrflow.errors import InputError
from ocrflow.fakes.base import FakeServer

OCR_PATH = "/api/v1/document-ocr"
PRICE_PER_PAGE = Decimal("0.01")
REASONS = {400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden", 404: "Not Found",
           405: "Method Not Allowed", 413: "Payload Too Large", 422: "Unprocessable Entity",
           429: "Too Many Requests", 500: "Internal Server Error"}
MAGIC = ((b"\x89PNG", "png"), (b"\xff\xd8", "jpg"), (b"II*\x00", "tiff"), (b"MM\x00*", "tiff"), (b"GIF8", "gif"))


class PdfMageFake(FakeServer):
    name = "pdfmage"
    #: keys that may call document OCR; `restricted_keys` are valid but lack the permission (403)
    api_keys = frozenset({"pk_live_fake"})
    restricted_keys = frozenset({"pk_live_restricted"})
    max_bytes = 10 * 1024 * 1024
    #: Retry-After sent with a 429 (not documented by pdfmage; None sends none)
    retry_after: str | None = "1"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, balance: str | float = "5.00") -> None:
        super().__init__(host, port)
        self.balance = Decimal(str(balance))
        self._ids = itertools.count(12345)
        self._lock = threading.Lock()

    # --- request handling ---------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        if request.path != OCR_PATH:
            return self._error(404, "Endpoint not found", code="NOT_FOUND")
        if request.method != "POST":
            return self._error(405, "Use POST", code="METHOD_NOT_ALLOWED")
        auth = request.headers.get("Authorization", "")
        key = auth[len("Bearer "):].strip() if auth.startswith("Bearer ") else ""
        if key in self.restricted_keys:
            return self._error(403, "API key does not have permission to use this endpoint")
        if key not in self.api_keys:
            return self._error(401, "Invalid or missing API key", code="INVALID_API_KEY",
                               hint="Send 'Authorization: Bearer pk_live_...'")
        if self.faults.take("throttle"):
            headers = {"Retry-After": self.retry_after} if self.retry_after is not None else {}
            return self._error(429, "Too many requests for this API key", headers=headers)
        if self.faults.take("error5xx"):
            return self._error(500, "Internal server error")
        if self.faults.take("unavailable"):
            return Response("<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>", status=503,
                            mimetype="text/html", headers={"Retry-After": "0"})
        upload = request.files.get("file")
        if upload is None:
            return self._error(400, "No file uploaded", code="INVALID_FILE_FORMAT", allowedFormats=["pdf"],
                               receivedFormat=None)
        data = upload.read()
        if len(data) > self.max_bytes:
            return self._error(413, f"File exceeds maximum size limit ({self.max_bytes // (1024 * 1024)}MB)")
        if b"%PDF-" not in data[:1024]:
            return self._error(400, "Invalid file format", code="INVALID_FILE_FORMAT", allowedFormats=["pdf"],
                               receivedFormat=_format_of(data, upload.filename or ""))
        try:
            document = self.ocr(data)
        except InputError as exc:
            return self._error(400, f"Invalid or corrupted PDF: {exc.message}", code="INVALID_FILE_FORMAT",
                               allowedFormats=["pdf"], receivedFormat="pdf")
        pages = document.pages
        cost = PRICE_PER_PAGE * len(pages)
        if self.faults.take("quota") or self.balance < cost:
            return self._error(402, "Insufficient credit balance", code="INSUFFICIENT_BALANCE",
                               amountRequired=float(cost), currentBalance=float(self.balance), pageCount=len(pages),
                               purchaseUrl="https://pdfmage.app/pricing")
        if not any(page.words() for page in pages):
            return self._error(422, "No extractable text found", code="NO_TEXT_CONTENT", pageCount=len(pages),
                               reason="Document contains only images or blank pages")
        if self.faults.take("malformed"):
            return Response('{"fileName": "' + (upload.filename or "") + '", "extractedText": {"pages": [{"pageN',
                            status=200, mimetype="application/json")
        with self._lock:
            self.balance -= cost
            remaining = self.balance
        started = time.perf_counter()
        if self.faults.take("partial"):
            pages = pages[:1]
        body = self._answer(document, pages, upload.filename or "document.pdf")
        elapsed = max(1, round((time.perf_counter() - started) * 1000))
        body["metadata"]["processingTimeMs"] = elapsed
        headers = {"X-Credits-Used": f"{cost:.2f}", "X-Credits-Remaining": f"{remaining:.2f}",
                   "X-Credits-Currency": "USD", "X-Processing-Time": str(elapsed)}
        return Response(json.dumps(body), status=200, mimetype="application/json", headers=headers)

    # --- answers ------------------------------------------------------------------------------------------

    def _answer(self, document: Document, pages: list[Page], filename: str) -> dict:
        out_pages = [_page(page, number) for number, page in enumerate(pages, start=1)]
        counts = {level: sum(len(p[level]) for p in out_pages) for level in ("blocks", "paragraphs", "lines", "tokens")}
        return {
            "fileName": filename,
            "processedAt": _now(),
            "documentId": next(self._ids),
            "extractedText": {"fullText": "\n\n".join(p["text"] for p in out_pages), "pages": out_pages},
            "metadata": {"pageCount": len(out_pages), "processingTimeMs": 0, "language": "en",
                         "elementCounts": counts},
        }

    def _error(self, status: int, message: str, code: str | None = None, headers: dict | None = None,
               **details: object) -> Response:
        body: dict = {"error": REASONS.get(status, "Error"), "message": message}
        if code is not None or details:
            body["details"] = ({"code": code} if code else {}) | details
        body["timestamp"] = _now()
        body["requestId"] = f"req_{next(self._ids):x}"
        return Response(json.dumps(body), status=status, mimetype="application/json", headers=headers or {})


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _format_of(data: bytes, filename: str) -> str:
    for magic, name in MAGIC:
        if data.startswith(magic):
            return name
    if "." in filename:
        return filename.rsplit(".", 1)[1].lower()
    return "unknown"


def _vertices(bbox: BBox | None, polygon: list | None) -> dict | None:
    """Normalized vertices TL, TR, BR, BL (the order of the documented example)."""
    if polygon and len(polygon) == 4:
        points = [(p.x, p.y) for p in polygon]
    elif bbox is not None:
        points = [(bbox.x0, bbox.y0), (bbox.x1, bbox.y0), (bbox.x1, bbox.y1), (bbox.x0, bbox.y1)]
    else:
        return None
    return {"vertices": [{"x": round(x, 5), "y": round(y, 5)} for x, y in points], "normalized": True}


def _element(text: str, bbox: BBox | None, polygon: list | None, confidence: float | None) -> dict:
    element: dict = {"text": text}
    box = _vertices(bbox, polygon)
    if box is not None:
        element["boundingBox"] = box
    if confidence is not None:
        element["confidence"] = round(confidence, 4)
    return element


def _page(page: Page, number: int) -> dict:
    blocks = [_element(b.text, b.bbox, None, b.confidence) for b in page.blocks]
    lines = [_element(ln.text, ln.bbox, ln.polygon, ln.confidence) for b in page.blocks for ln in b.lines]
    tokens = [_element(w.text, w.bbox, w.polygon, w.confidence) for w in page.words()]
    return {
        "pageNumber": number,
        "dimensions": {"width": round(page.width, 2), "height": round(page.height, 2), "unit": "px"},
        "text": page.text,
        "confidence": round(page.confidence, 4) if page.confidence is not None else None,
        "blocks": blocks,
        "paragraphs": [dict(b) for b in blocks],
        "lines": lines,
        "tokens": tokens,
    }
