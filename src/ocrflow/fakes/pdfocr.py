"""A fake pdfocr.org (PROVIDERS.md section 3): /ocrapiv1.html converts an upload (POST) or a file at `url=`
(GET) to a searchable PDF or text, answers {"retcode": "200", "msg", "data": {"filename", "link",
"available pages"}} and serves the result at /doc/<filename>. Failures are HTTP 200 with a "4xx" retcode,
as documented; the key check uses the documented message.

It keeps a prepaid page balance (charged per page on upload). Conversions run in the background: a request
waits for its conversion up to `cloudflare_cutoff_seconds` and otherwise gets Cloudflare's HTTP 524 page,
after which the client re-sends filename + outformat (no file) to get the answer.

What the real service does here is not documented, so these are this fake's choices: the field names
`apikey` and `file`; the retcodes and messages of the failures other than the key check; the "still
converting" answer (`pending_style`: a 524 again, or {"retcode": "202", ...}); the rate limit (Cloudflare's:
HTTP 429 with an HTML page and Retry-After - the API documents none, and only the CDN in front of it would
answer one); `ocr` is required to be "1" and only pdf/txt outputs are made.
"""

from __future__ import annotations

import io
import json
import re
import threading
import time
from dataclasses import dataclass, field

import httpx
import pikepdf
from PIL import Image
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request, Response

from ocrflow.errors import InputError
from ocrflow.fakes.base import FakeServer

API_KEY = "fake-pdfocr-key"
#: pdfocr `lang` values -> the embedded engine's language codes
LANGUAGES = {"English": "eng", "French": "fra", "Spanish": "spa", "German": "deu", "Italian": "ita",
             "Turkish": "tur", "Thai": "tha", "Arabic": "ara", "Russian": "rus", "Korean": "kor",
             "Japanese": "jpn", "Indonesian": "ind", "Portuguese": "por", "Vietnamese": "vie",
             "ChineseSimplified": "chi_sim", "ChineseTraditional": "chi_tra"}
_FILENAME = re.compile(r"[A-Za-z0-9-]+\.[A-Za-z0-9]+")
_CLOUDFLARE_PAGE = ("<!DOCTYPE html><html><head><title>pdfocr.org | {code}: {title}</title></head><body>"
                    "<h1>Error {code}</h1><p>{title}</p><p>Cloudflare Ray ID: 0000000000000000</p></body></html>")


@dataclass
class FakeOptions:
    balance: int = 2000                     # prepaid pages
    max_bytes: int = 15 * 1024 * 1024
    max_pages: int = 20
    cloudflare_cutoff_seconds: float = 100.0  # a request waits this long for its conversion, then gets a 524
    delay_524: float = 0.05                 # how long the "524" fault and a 524 "still converting" take
    requeries_before_ready: int = 1         # after the "524" fault: re-queries answered "still converting"
    pending_style: str = "524"              # "524" or "json"
    conversion_delay: float = 0.0           # extra time every conversion takes
    txt_page_separator: str = "\f"
    retry_after: str = "1"


@dataclass
class Job:
    output: str                             # the converted file's name under /doc/
    done: threading.Event = field(default_factory=threading.Event)
    error: str | None = None
    requeries_left: int = 0


class PdfOcrFake(FakeServer):
    name = "pdfocr"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.api_key = API_KEY
        self.reset()

    def reset(self) -> None:
        """Back to a fresh account: default options, no faults, no jobs (the OCR cache stays)."""
        self.options = FakeOptions()
        self.faults.clear()
        self.requests.clear()
        self._lock = threading.Lock()
        self._jobs: dict[tuple[str, str, str], Job] = {}
        self._outputs: dict[str, tuple[bytes, str]] = {}

    @property
    def balance(self) -> int:
        return self.options.balance

    # --- routing --------------------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        if request.path.startswith("/doc/"):
            return self._serve_output(request.path.removeprefix("/doc/"))
        if request.path != "/ocrapiv1.html":
            return self._cloudflare(404, "Not Found")
        if request.method not in ("GET", "POST"):
            return Response("method not allowed", status=405, headers={"Allow": "GET, POST"})
        if self.faults.take("throttle"):
            return self._cloudflare(429, "Too Many Requests", {"Retry-After": self.options.retry_after})
        if self.faults.take("error5xx"):
            return self._cloudflare(502, "Bad gateway")
        params = request.values
        if params.get("apikey") != self.api_key:
            return self._fail("404", "API key does not exist, please sign up.")
        upload = request.files.get("file")
        if upload is not None:
            return self._convert(request, params, upload.read(), upload.filename or "")
        if params.get("url"):
            return self._convert_url(request, params)
        return self._requery(request, params)

    # --- converting -----------------------------------------------------------------------------------------

    def _convert_url(self, request: Request, params: MultiDict) -> Response:
        url = params["url"]
        try:
            fetched = httpx.get(url, timeout=10, follow_redirects=True)
            fetched.raise_for_status()
        except httpx.HTTPError:
            return self._fail("400", "Failed to download the file from the url.")
        name = params.get("filename") or url.rstrip("/").rsplit("/", 1)[-1]
        return self._convert(request, params, fetched.content, name)

    def _convert(self, request: Request, params: MultiDict, data: bytes, name: str) -> Response:
        outformat, lang, filename = params.get("outformat", ""), params.get("lang", "English"), params.get("filename")
        if outformat not in ("pdf", "txt"):
            return self._fail("400", f"Output format '{outformat}' is not supported.")
        if lang not in LANGUAGES:
            return self._fail("400", f"Language '{lang}' is not supported.")
        if params.get("ocr") != "1":
            return self._fail("400", "Only OCR conversions (ocr=1) are supported.")
        if not filename or filename != name:
            return self._fail("400", "The filename does not match the uploaded file.")
        if not _FILENAME.fullmatch(filename):
            return self._fail("400", "Invalid file name, use only letters, numbers and hyphens.")
        if len(data) > self.options.max_bytes:
            return self._fail("413", f"File too large, the maximum size is {self.options.max_bytes // 2**20} MB.")
        kind, pages, problem = _inspect(data)
        if problem:
            return self._fail("400", problem)
        if kind == "image" and outformat == "pdf":
            return self._fail("400", "Images to PDF is not supported at the moment.")
        if pages > self.options.max_pages:
            return self._fail("413", f"Too many pages, the maximum is {self.options.max_pages} pages per file.")
        with self._lock:
            if self.faults.take("quota") or self.options.balance < pages:
                return self._fail("402", "Insufficient pages, please buy more credits.",
                                  {"available pages": self.options.balance})
            self.options.balance -= pages
            job = Job(output=f"{filename.rsplit('.', 1)[0]}.{outformat}")
            self._jobs[(params["apikey"], filename, outformat)] = job
        threading.Thread(target=self._run, args=(job, data, LANGUAGES[lang], outformat), daemon=True).start()
        if self.faults.take("524"):
            job.requeries_left = self.options.requeries_before_ready
            time.sleep(self.options.delay_524)
            return self._cloudflare(524, "A timeout occurred")
        if not job.done.wait(self.options.cloudflare_cutoff_seconds):
            return self._cloudflare(524, "A timeout occurred")
        return self._answer(request, job)

    def _run(self, job: Job, data: bytes, language: str, outformat: str) -> None:
        try:
            time.sleep(self.options.conversion_delay)
            if outformat == "pdf":
                output = (self.searchable_pdf(data, language), "application/pdf")
            else:
                text = self.options.txt_page_separator.join(page.text for page in self.ocr(data, language).pages)
                output = (text.encode("utf-8"), "text/plain; charset=utf-8")
            self._outputs[job.output] = output
        except InputError as exc:
            job.error = f"Conversion failed: {exc.message}"
        except Exception:  # the fake reports any failure the way the service would
            job.error = "Conversion failed."
        finally:
            job.done.set()

    def _requery(self, request: Request, params: MultiDict) -> Response:
        key = (params["apikey"], params.get("filename", ""), params.get("outformat", ""))
        job = self._jobs.get(key)
        if job is None:
            return self._fail("404", "No conversion found for this filename and outformat.")
        with self._lock:
            still = job.requeries_left > 0
            job.requeries_left = max(0, job.requeries_left - 1)
        if still or not job.done.wait(self.options.cloudflare_cutoff_seconds):
            return self._pending()
        return self._answer(request, job)

    # --- answers --------------------------------------------------------------------------------------------

    def _answer(self, request: Request, job: Job) -> Response:
        if job.error:
            return self._fail("400", job.error)
        if self.faults.take("malformed"):
            return Response('{"retcode":"200","msg":"Conversion succ', mimetype="application/json")
        link = f"{request.host_url.rstrip('/')}/doc/{job.output}"
        return _json({"retcode": "200", "msg": "Conversion success.",
                      "data": {"filename": job.output, "link": link, "available pages": self.options.balance}})

    def _pending(self) -> Response:
        if self.options.pending_style == "json":
            return _json({"retcode": "202", "msg": "Your file is being converted, please query again later."})
        time.sleep(self.options.delay_524)
        return self._cloudflare(524, "A timeout occurred")

    def _fail(self, retcode: str, msg: str, data: dict | None = None) -> Response:
        body: dict[str, object] = {"retcode": retcode, "msg": msg}
        if data is not None:
            body["data"] = data
        return _json(body)

    def _serve_output(self, name: str) -> Response:
        if name not in self._outputs:
            return self._cloudflare(404, "Not Found")
        body, media_type = self._outputs[name]
        if self.faults.take("partial"):
            body = body[: len(body) // 2]
        return Response(body, content_type=media_type)

    @staticmethod
    def _cloudflare(status: int, title: str, headers: dict[str, str] | None = None) -> Response:
        return Response(_CLOUDFLARE_PAGE.format(code=status, title=title), status=status,
                        mimetype="text/html", headers=headers)


def _json(body: dict) -> Response:
    return Response(json.dumps(body), mimetype="application/json")  # HTTP 200 even for failures


def _inspect(data: bytes) -> tuple[str, int, str | None]:
    """(kind, pages, problem): what the service would see in an upload."""
    if data.lstrip()[:5].startswith(b"%PDF"):
        try:
            with pikepdf.open(io.BytesIO(data)) as pdf:
                return "pdf", len(pdf.pages), None
        except pikepdf.PasswordError:
            return "pdf", 0, "Please unlock your PDF first, password or permission restrictions are not supported."
        except pikepdf.PdfError:
            return "pdf", 0, "Failed to read the file, it may be damaged."
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in ("PNG", "JPEG", "TIFF", "GIF", "BMP"):
                return "image", 0, "Unsupported file format."
            return "image", getattr(image, "n_frames", 1), None
    except Exception:  # anything Pillow cannot open is not an image the service takes
        return "other", 0, "Unsupported file format."
