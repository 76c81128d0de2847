"""A fake OCR.space API (PROVIDERS.md §2): POST /parse/image (any case) with `file`, `url` or `base64Image`,
the `apikey` header (or form field), the plan's size and page limits, and real OCR from the embedded engine
returned as ParsedResults with a TextOverlay in pixels of the raster the fake read.

Two instances stand in for the two PRO hosts (`OcrSpaceFake.pro_pair()`); inject `error5xx` (times=None) into
one to test failover. Searchable PDFs are served at /searchable/<id>.pdf until `searchable_lifetime` passes.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx
import pikepdf
from werkzeug.wrappers import Request, Response

from ocrflow.document import Document, Page
from ocrflow.errors import InputError, LanguageNotAvailableError
from ocrflow.fakes.base import FakeServer, pixel_size

if TYPE_CHECKING:
    pass

FAKE_KEY = "fake-ocrspace-key"
#: the plans' documented limits per request: (bytes, PDF pages); "1024 KB" is what the API's message says
TIERS = {"free": (1024 * 1024, 3), "pro": (5 * 1024 * 1024, 3), "pro_pdf": (100 * 1024 * 1024, 999)}
FILETYPES = {"PDF": "application/pdf", "GIF": "image/gif", "PNG": "image/png", "JPG": "image/jpeg",
             "JPEG": "image/jpeg", "TIF": "image/tiff", "TIFF": "image/tiff", "BMP": "image/bmp"}
EXTENSIONS = {"pdf": "application/pdf", "gif": "image/gif", "png": "image/png", "jpg": "image/jpeg",
              "jpeg": "image/jpeg", "tif": "image/tiff", "tiff": "image/tiff", "bmp": "image/bmp"}
#: OCR.space language codes -> the embedded engine's (the fake falls back to English when one is missing)
LANGUAGES = {"ara": "ara", "bul": "bul", "chs": "chi_sim", "cht": "chi_tra", "hrv": "hrv", "cze": "ces",
             "dan": "dan", "dut": "nld", "eng": "eng", "fin": "fin", "fre": "fra", "ger": "deu", "gre": "ell",
             "hun": "hun", "kor": "kor", "ita": "ita", "jpn": "jpn", "pol": "pol", "por": "por", "rus": "rus",
             "slv": "slv", "spa": "spa", "swe": "swe", "tur": "tur"}

RATE_LIMIT = "You may only perform this action upto maximum 10 number of times within 600 seconds"
DAILY_LIMIT = "You may only perform this action upto maximum 500 number of times within 86400 seconds"
INVALID_KEY = "The API key is invalid"
TIMED_OUT = "Timed out waiting for results"
BAD_BASE64 = ("Not a valid base64 image. The accepted base64 image format is "
              "'data:image/<content_type>;base64,<base64_image_content>'.")
UNKNOWN_TYPE = "Unable to recognize the file type. Set the filetype parameter or send the file with an extension."
NOT_REQUESTED = "Searchable PDF not generated as it was not requested."


@dataclass
class Received:
    """One document the fake accepted for OCR: how it came and how big it was."""

    how: str  # file | url | base64Image
    media_type: str
    size: int
    pages: int
    form: dict[str, str]


class OcrSpaceFake(FakeServer):
    name = "ocrspace"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, tier: str = "free",
                 api_keys: Iterable[str] = (FAKE_KEY,), max_bytes: int | None = None, max_pages: int | None = None,
                 searchable_lifetime: float = 3600.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(host, port)
        tier_bytes, tier_pages = TIERS[tier]
        self.tier = tier
        self.api_keys = set(api_keys)
        self.max_bytes = max_bytes or tier_bytes
        self.max_pages = max_pages or tier_pages
        self.searchable_lifetime = searchable_lifetime
        self.clock = clock
        self.received: list[Received] = []
        self._pdfs: dict[str, tuple[float, bytes]] = {}
        self._pdfs_lock = threading.Lock()

    @classmethod
    def pro_pair(cls, tier: str = "pro", **kwargs) -> tuple[OcrSpaceFake, OcrSpaceFake]:
        """Two hosts of one PRO account (apipro1/apipro2): same keys and limits, one shared OCR cache."""
        first, second = cls(tier=tier, **kwargs), cls(tier=tier, **kwargs)
        second.share_ocr_cache(first)
        return first, second

    @property
    def parse_url(self) -> str:
        return f"{self.base_url}/parse/image"

    # --- HTTP ----------------------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        path = request.path.lower().rstrip("/")
        if request.method == "GET" and path.startswith("/searchable/"):
            return self._serve_pdf(path.rsplit("/", 1)[-1].removesuffix(".pdf"))
        if path != "/parse/image":
            return Response("Not Found", status=404, mimetype="text/plain")
        if request.method != "POST":
            return Response("Method Not Allowed", status=405, mimetype="text/plain")
        fault = self._fault()
        if fault is not None:
            return fault
        key = request.headers.get("apikey") or request.form.get("apikey")
        if key not in self.api_keys:
            return Response(INVALID_KEY, status=403, mimetype="text/plain")
        return self._parse(request)

    def _fault(self) -> Response | None:
        if self.faults.take("throttle"):
            return Response(RATE_LIMIT, status=403, mimetype="text/plain")
        if self.faults.take("quota"):
            return Response(DAILY_LIMIT, status=403, mimetype="text/plain")
        if self.faults.take("error5xx"):
            return Response("<html><body><h1>502 Bad Gateway</h1></body></html>", status=502, mimetype="text/html")
        if self.faults.take("malformed"):
            return Response('{"ParsedResults":[{"TextOverlay":{"Lines":[{"Words":[{"WordText":"Inv',
                            mimetype="application/json")
        if self.faults.take("unavailable"):
            return _json({"ParsedResults": None, "OCRExitCode": 6, "IsErroredOnProcessing": True,
                          "ErrorMessage": [TIMED_OUT], "ErrorDetails": "", "ProcessingTimeInMilliseconds": "30015"})
        return None

    # --- one OCR request -----------------------------------------------------------------------------------

    def _parse(self, request: Request) -> Response:
        form = {k.lower(): v for k, v in request.form.items()}
        started = time.perf_counter()
        sources = (["file"] if request.files else []) + [name for name in ("url", "base64image") if form.get(name)]
        if len(sources) != 1:
            return _error("Provide exactly one of the parameters file, url or base64Image.", exit_code=99)
        got = self._document(request, form, sources[0])
        if isinstance(got, Response):
            return got
        data, media = got
        if len(data) > self.max_bytes:
            return _error("File failed validation. File size exceeds the maximum permissible file size limit of "
                          f"{self.max_bytes // 1024} KB", exit_code=99)
        pages = _count_pages(data, media)
        if pages is None:
            return _failed_pages("Unable to parse the document: the file is damaged or not of the stated type")
        if media == "application/pdf" and pages > self.max_pages:
            # how the real API treats a PDF over the plan's page limit is not documented (§6.5)
            return _error(f"The PDF has {pages} pages; the maximum page limit of this plan is {self.max_pages} "
                          "pages.", exit_code=99)
        language = form.get("language", "eng").lower()
        if language not in LANGUAGES and language != "auto":
            return _error(f"E201: Invalid language code '{language[:10]}'. See the list of supported languages.",
                          exit_code=99)
        self.received.append(Received(sources[0], media, len(data), pages, dict(form)))
        try:
            document = self._read(data, language, form.get("ocrengine", "1"))
        except InputError as exc:
            return _failed_pages(f"Unable to parse the document: {exc}")
        return self._answer(document, data, media, form, started)

    def _document(self, request: Request, form: dict[str, str], source: str) -> tuple[bytes, str] | Response:
        """The bytes to OCR and their media type, or the error the API gives."""
        filetype = FILETYPES.get(form.get("filetype", "").upper())
        if source == "file":
            upload = next(iter(request.files.values()))  # the API takes the upload under any field name
            data = upload.read()
            extension = (upload.filename or "").rsplit(".", 1)[-1].lower() if "." in (upload.filename or "") else ""
            media = filetype or EXTENSIONS.get(extension) or _known(upload.mimetype)
        elif source == "base64image":
            value = form["base64image"]
            head, _, payload = value.partition(",")
            if not head.startswith("data:") or not head.endswith(";base64") or not payload:
                return _error(BAD_BASE64, exit_code=3)
            try:
                data = base64.b64decode(payload, validate=True)
            except (binascii.Error, ValueError):
                return _error(BAD_BASE64, exit_code=3)
            media = filetype or _known(head[5:-7])
        else:
            try:
                fetched = httpx.get(form["url"], timeout=10.0, follow_redirects=True)
            except (httpx.HTTPError, ValueError):
                return _failed_pages("Unable to download the file from the URL", code=0)
            if fetched.status_code != 200:
                return _failed_pages(f"Unable to download the file from the URL (HTTP {fetched.status_code})", code=0)
            data = fetched.content
            media = filetype or _known(fetched.headers.get("content-type", "").split(";")[0])
        if media is None:
            return _error(UNKNOWN_TYPE, exit_code=99)
        return data, media

    def _read(self, data: bytes, language: str, engine: str) -> Document:
        code = "eng" if engine == "2" or language == "auto" else LANGUAGES[language]
        try:
            return self.ocr(data, code)
        except LanguageNotAvailableError:
            return self.ocr(data, "eng")  # the fake's engine lacks that language: read it as English

    def _answer(self, document: Document, data: bytes, media: str, form: dict[str, str], started: float) -> Response:
        searchable = _true(form.get("iscreatesearchablepdf"))
        overlay = _true(form.get("isoverlayrequired")) or searchable
        orientation = _true(form.get("detectorientation"))
        results = [_parsed_result(page, overlay, orientation) for page in document.pages]
        exit_code = 1
        if self.faults.take("partial"):
            failed = results[-1]
            failed.update(FileParseExitCode=-10, ParsedText="", ErrorMessage="OCR engine parse error",
                          ErrorDetails="The page could not be parsed",
                          TextOverlay={"Lines": [], "HasOverlay": False, "Message": "No overlay: parse error"})
            exit_code = 2
        body = {"ParsedResults": results, "OCRExitCode": exit_code, "IsErroredOnProcessing": False,
                "ProcessingTimeInMilliseconds": str(round((time.perf_counter() - started) * 1000)),
                "SearchablePDFURL": NOT_REQUESTED}
        if searchable:
            body["SearchablePDFURL"] = self._store_pdf(data, media, document, form)
        return _json(body)

    # --- searchable PDFs -----------------------------------------------------------------------------------

    def _store_pdf(self, data: bytes, media: str, document: Document, form: dict[str, str]) -> str:
        if "issearchablepdfhidetextlayer" in form:
            pdf = self.searchable_pdf(data, _language_of(document))
        else:  # documented: without the explicit hide-text-layer flag the PDF has no text layer
            pdf = data if media == "application/pdf" else _image_pdf(data)
        token = uuid.uuid4().hex
        with self._pdfs_lock:
            self._pdfs[token] = (self.clock() + self.searchable_lifetime, pdf)
        return f"{self.base_url}/searchable/{token}.pdf"

    def _serve_pdf(self, token: str) -> Response:
        with self._pdfs_lock:
            expires, pdf = self._pdfs.get(token, (0.0, b""))
            if self.clock() >= expires:
                self._pdfs.pop(token, None)
                return Response("The file was not found. Links expire after one hour.", status=404,
                                mimetype="text/plain")
        return Response(pdf, mimetype="application/pdf")


# --- helpers -------------------------------------------------------------------------------------------------


def _json(body: object) -> Response:
    return Response(json.dumps(body), mimetype="application/json")


def _true(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


def _known(mimetype: str | None) -> str | None:
    return mimetype if mimetype in EXTENSIONS.values() else None


def _language_of(document: Document) -> str:
    return "+".join(document.provider.languages) or "eng"


def _error(message: str, exit_code: int) -> Response:
    """A request-level error, as the API sends it: HTTP 200, no results, ErrorMessage as an array."""
    return _json({"ParsedResults": None, "OCRExitCode": exit_code, "IsErroredOnProcessing": True,
                  "ErrorMessage": [message], "ErrorDetails": message, "ProcessingTimeInMilliseconds": "0",
                  "SearchablePDFURL": None})


def _failed_pages(message: str, code: int = -10) -> Response:
    """Every page failed (OCRExitCode 3): one ParsedResult carrying the page's exit code and message."""
    return _json({"ParsedResults": [{"TextOverlay": {"Lines": [], "HasOverlay": False, "Message": ""},
                                     "TextOrientation": "", "FileParseExitCode": code, "ParsedText": "",
                                     "ErrorMessage": message, "ErrorDetails": message}],
                  "OCRExitCode": 3, "IsErroredOnProcessing": True, "ErrorMessage": [message],
                  "ProcessingTimeInMilliseconds": "12", "SearchablePDFURL": NOT_REQUESTED})


def _count_pages(data: bytes, media: str) -> int | None:
    """Pages in the document (before any OCR, so the page limit costs nothing); None when unreadable."""
    try:
        if media == "application/pdf":
            with pikepdf.open(io.BytesIO(data)) as pdf:
                return len(pdf.pages)
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            return getattr(image, "n_frames", 1) if media == "image/tiff" else 1
    except Exception:  # any parser failure means the same thing here: the document cannot be read
        return None


def _image_pdf(data: bytes) -> bytes:
    import img2pdf

    try:
        return img2pdf.convert(data)
    except Exception:  # img2pdf refuses some images; an empty page stands in for "a PDF without text"
        pdf = pikepdf.new()
        pdf.add_blank_page()
        out = io.BytesIO()
        pdf.save(out)
        return out.getvalue()


def _parsed_result(page: Page, overlay: bool, orientation: bool) -> dict:
    """One ParsedResults entry: the page's text, and its words in pixels of the raster the fake read."""
    width, height = pixel_size(page)
    lines = []
    for block in page.blocks:
        for line in block.lines:
            words = [_word(word.text, word.bbox, width, height) for word in line.words if word.bbox is not None]
            if not words:
                continue
            lines.append({"LineText": line.text, "Words": words,
                          "MaxHeight": max(w["Height"] for w in words), "MinTop": min(w["Top"] for w in words)})
    text = "\r\n".join(page.text.splitlines())
    return {
        "TextOverlay": {"Lines": lines if overlay else [], "HasOverlay": overlay,
                        "Message": f"Total lines: {len(lines)}" if overlay else
                        "Text overlay is not provided as it is not requested"},
        "TextOrientation": str(page.text_orientation or 0) if orientation else "0",
        "FileParseExitCode": 1,
        "ParsedText": text + "\r\n" if text else "",
        "ErrorMessage": "",
        "ErrorDetails": "",
    }


def _word(text: str, bbox, width: int, height: int) -> dict:  # noqa: ANN001 - a document BBox
    left, top = round(bbox.x0 * width), round(bbox.y0 * height)
    return {"WordText": text, "Left": float(left), "Top": float(top),
            "Height": float(round(bbox.y1 * height) - top), "Width": float(round(bbox.x1 * width) - left)}

