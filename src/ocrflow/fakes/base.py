"""What every fake provider shares: a threaded WSGI server on loopback (werkzeug), fault injection, and the
embedded engine to produce real OCR results (cached per document, so fault tests stay fast)."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from ocrflow.document import Document

if TYPE_CHECKING:
    from ocrflow.service import OcrOutcome

FAULTS = ("throttle", "error5xx", "slow", "timeout", "malformed", "expired_token", "524", "partial",
          "quota", "unavailable")


class FaultPlan:
    """Faults to inject: each mode fires on the next `times` requests where it applies (None: always)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._remaining: dict[str, int | None] = {}

    def inject(self, mode: str, times: int | None = 1) -> None:
        if mode not in FAULTS:
            raise ValueError(f"unknown fault {mode!r}; one of {', '.join(FAULTS)}")
        with self._lock:
            self._remaining[mode] = times

    def clear(self) -> None:
        with self._lock:
            self._remaining.clear()

    def take(self, mode: str) -> bool:
        """True if `mode` fires for this request (and count it)."""
        with self._lock:
            if mode not in self._remaining:
                return False
            left = self._remaining[mode]
            if left is None:
                return True
            if left <= 1:
                del self._remaining[mode]
            else:
                self._remaining[mode] = left - 1
            return True

    def active(self, mode: str) -> bool:
        with self._lock:
            return mode in self._remaining


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]
    files: dict[str, int]  # field -> size
    json: object | None


class _LargeFormRequest(Request):
    """Providers take documents inside form fields (OCR.space's base64Image): lift werkzeug's 500 KB limit."""

    max_form_memory_size = 200 * 1024 * 1024


class FakeServer:
    """Base class: subclasses implement `handle(request) -> Response`."""

    name = "fake"
    #: how long the "slow" fault delays an answer, and the "timeout" fault (longer than clients wait)
    slow_seconds = 0.5
    timeout_seconds = 5.0

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("fake providers listen on loopback only")
        self.faults = FaultPlan()
        self.requests: list[RecordedRequest] = []
        self._server = make_server(host, port, self._wsgi, threaded=True)
        self._thread: threading.Thread | None = None
        self._ocr_cache: dict[tuple[str, str], OcrOutcome] = {}
        self._ocr_lock = threading.Lock()
        self._in_flight = 0
        #: the most requests it was handling at once (a client's concurrency, as the provider would see it)
        self.max_in_flight = 0
        self._idle = threading.Condition()

    @property
    def port(self) -> int:
        return self._server.server_port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"fake-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        self._server.serve_forever()

    # --- request handling ---------------------------------------------------------------------------------

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no request is being handled - a client that gave up early leaves the server still working
        (as a real one would), and that late work must not show up in the next test."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    def _wsgi(self, environ: dict, start_response: Callable) -> object:
        with self._idle:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            return self._serve_request(environ, start_response)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def _serve_request(self, environ: dict, start_response: Callable) -> object:
        request = _LargeFormRequest(environ)
        self._record(request)
        if self.faults.take("slow"):
            time.sleep(self.slow_seconds)
        if self.faults.take("timeout"):
            time.sleep(self.timeout_seconds)
        try:
            response = self.handle(request)
        except Exception as exc:  # a bug in the fake must show as a 500, not hang the client
            response = Response(f"fake {self.name} failed: {exc!r}", status=500, mimetype="text/plain")
        return response(environ, start_response)

    def _record(self, request: Request) -> None:
        form = {k: v for k, v in request.form.items()} if request.mimetype in (
            "multipart/form-data", "application/x-www-form-urlencoded") else {}
        files = {k: len(f.read()) for k, f in request.files.items()}
        for f in request.files.values():
            f.stream.seek(0)
        body = request.get_json(silent=True) if request.is_json else None
        self.requests.append(RecordedRequest(request.method, request.path, dict(request.headers), form, files, body))

    def handle(self, request: Request) -> Response:  # pragma: no cover - subclasses implement
        raise NotImplementedError

    # --- real OCR behind the fake -------------------------------------------------------------------------

    def _outcome(self, data: bytes, languages: str) -> OcrOutcome:
        """Cached OCR; the lock guards the cache only, so requests for different documents run in parallel."""
        from ocrflow.service import run_ocr

        key = (hashlib.sha256(data).hexdigest(), languages)
        with self._ocr_lock:
            known = self._ocr_cache.get(key)
        if known is None:
            known = run_ocr(data, languages=languages)
            with self._ocr_lock:
                known = self._ocr_cache.setdefault(key, known)
        return known

    def share_ocr_cache(self, other: FakeServer) -> None:
        """Reuse another fake's OCR results (real OCR runs: sharing keeps multi-host tests fast)."""
        self._ocr_cache = other._ocr_cache
        self._ocr_lock = other._ocr_lock

    def ocr(self, data: bytes, languages: str = "eng") -> Document:
        """The embedded engine's reading of `data` (cached): what the fake reports as the provider's OCR.
        Raises ocrflow's InputError for input the engine cannot read; fakes turn that into their error."""
        return self._outcome(data, languages).document

    def searchable_pdf(self, data: bytes, languages: str = "eng") -> bytes:
        """A searchable PDF of `data`, for fakes of providers that return one."""
        return self._outcome(data, languages).searchable_pdf


def pixel_size(page) -> tuple[int, int]:  # noqa: ANN001 - a document Page
    """The raster size the fake pretends it read the page at (its pixels, or points at the read DPI)."""
    if page.unit == "px":
        return round(page.width), round(page.height)
    dpi = page.dpi or 300.0
    return round(page.width * dpi / 72), round(page.height * dpi / 72)
