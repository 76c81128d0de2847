"""Every provider's searchable PDF shows each page exactly as scanned: the text layer is there for search and
selection only. For each provider (the five REST clients against their fakes over HTTP, and the embedded
engine) the searchable PDF a user gets for a scan is rendered by pdfium (1) as it is and with every text
object removed from its pages - the two must be the same pixels, so no recognized text is drawn visibly -
and (2) next to the original's own rendering, which it must equal too: no watermark, no re-encoded or
resampled page image.

Both comparisons are exact. The same renderer draws the same image stream with the same matrix in each pair,
so nothing differs by anti-aliasing; invisible text (render mode 3) paints no pixel.

What "the same" means where a provider makes the page image itself: Adobe may clean the image up with
`ocrType=searchable_image` (PROVIDERS.md 1.7), but ocrflow asks for `searchable_image_exact` ("original image
untouched"), so (2) holds for it. OCR.space's PDFs re-encode the page (and the free tier's carry a
watermark): ocrflow keeps one only for a PDF sent as it is on a PRO plan, where the PDF is the provider's
rendering of the page, so only (1) is asked of that one.
"""

from __future__ import annotations

import io
import os

import pikepdf
import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageChops

from ocrflow.fakes.ocrspace import OcrSpaceFake
from ocrflow.fakes.registry import fake_class
from ocrflow.fakes.serve import fake_environment
from ocrflow.inputs.inspection import inspect_document
from ocrflow.pdf.pdfium_lock import PDFIUM_LOCK
from ocrflow.pdf.searchable import image_to_pdf
from ocrflow.providers.names import ProviderName
from ocrflow.quality import word_recall
from ocrflow.service import run_ocr
from tests.conftest import sample_bytes, truth_text
from tests.integration.pdf_probe import pdftotext

SCANS = ["notice.jpg", "letter.pdf"]
REST = [p for p in ProviderName if p is not ProviderName.TESSERACT]


@pytest.fixture(scope="module")
def fakes():
    """One running fake per REST provider; the embedded engine needs none."""
    servers = {name: fake_class(name)() for name in REST}
    servers[ProviderName.ADOBE].retry_after = "0"  # the job's polls: no real waiting
    for server in servers.values():
        server.start()
    yield servers
    for server in servers.values():
        server.stop()


@pytest.fixture
def configure(monkeypatch):
    for key in list(os.environ):
        if key.startswith("OCRFLOW_"):
            monkeypatch.delenv(key)

    def point_at(provider: ProviderName, server) -> None:
        for key, value in fake_environment(provider, server.base_url).items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv(f"OCRFLOW_{provider.value.upper()}_BACKOFF_BASE_SECONDS", "0.01")
        if provider is ProviderName.YANDEX:
            monkeypatch.setenv("OCRFLOW_YANDEX_MIN_SYNC_INTERVAL_SECONDS", "0")

    return point_at, monkeypatch


def render(pdf: bytes) -> list[Image.Image]:
    with PDFIUM_LOCK:
        document = pdfium.PdfDocument(pdf)
        try:
            return [page.render(scale=1.0).to_pil().convert("RGB") for page in document]
        finally:
            document.close()


def without_text(pdf: bytes) -> bytes:
    """The PDF with every text object (BT ... ET) taken out of its pages and the forms they draw."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        for page in doc.pages:
            page.Contents = doc.make_stream(_strip_text(pikepdf.parse_content_stream(page)))
            _strip_forms(doc, page.obj.get("/Resources"), set())
        out = io.BytesIO()
        doc.save(out)
        return out.getvalue()


def _strip_text(commands) -> bytes:
    kept, depth = [], 0
    for operands, operator in commands:
        name = str(operator)
        if name == "BT":
            depth += 1
        elif name == "ET":
            depth -= 1
        elif depth == 0:
            kept.append((operands, operator))
    return pikepdf.unparse_content_stream(kept)


def _strip_forms(doc: pikepdf.Pdf, resources, seen: set) -> None:
    if resources is None or "/XObject" not in resources:
        return
    for _, xobject in resources.XObject.items():
        if xobject.get("/Subtype") != "/Form" or xobject.objgen in seen:
            continue
        seen.add(xobject.objgen)
        xobject.write(_strip_text(pikepdf.parse_content_stream(xobject)))
        _strip_forms(doc, xobject.get("/Resources"), seen)


def original_rendering(name: str) -> list[Image.Image]:
    """The scan as a PDF reader shows it: a PDF's own pages; an image wrapped into a page without
    re-encoding (img2pdf, as ocrflow does)."""
    data = sample_bytes(name)
    return render(data if name.endswith(".pdf") else image_to_pdf(data, inspect_document(data)))


def assert_same_pixels(got: list[Image.Image], expected: list[Image.Image], what: str) -> None:
    assert len(got) == len(expected), f"{what}: {len(got)} pages, expected {len(expected)}"
    for number, (page, reference) in enumerate(zip(got, expected, strict=True), start=1):
        assert page.size == reference.size, f"{what}, page {number}: {page.size} px, expected {reference.size}"
        changed = ImageChops.difference(page, reference).convert("L").point(lambda v: 255 if v else 0)
        count = changed.histogram()[255]
        assert count == 0, f"{what}, page {number}: {count} pixels differ, within {changed.getbbox()}"


def searchable_pdf(provider: ProviderName, name: str, fakes, configure) -> bytes:
    point_at, _ = configure
    if provider is not ProviderName.TESSERACT:
        point_at(provider, fakes[provider])
    outcome = run_ocr(sample_bytes(name), filename=name, provider=provider.value)
    assert word_recall(truth_text(name), pdftotext(outcome.searchable_pdf)) >= 0.9  # it is searchable
    return outcome.searchable_pdf


@pytest.mark.parametrize("name", SCANS)
@pytest.mark.parametrize("provider", list(ProviderName), ids=lambda p: p.value)
def test_searchable_pdf_shows_the_scan_and_no_text(provider, name, fakes, configure):
    pdf = searchable_pdf(provider, name, fakes, configure)
    as_is = render(pdf)
    assert_same_pixels(as_is, render(without_text(pdf)), f"{provider.value}: with vs without its text layer")
    assert_same_pixels(as_is, original_rendering(name), f"{provider.value}: vs the original {name}")


def test_ocrspace_pro_pdf_of_a_pdf_sent_as_it_is_hides_its_text(fakes, configure):
    """The one case where the provider's own PDF is kept: its page is OCR.space's rendering, its text hidden."""
    point_at, env = configure
    with OcrSpaceFake(tier="pro") as pro:
        pro.share_ocr_cache(fakes[ProviderName.OCRSPACE])
        point_at(ProviderName.OCRSPACE, pro)
        env.setenv("OCRFLOW_OCRSPACE_TIER", "pro")
        env.setenv("OCRFLOW_OCRSPACE_PDF_AS_IMAGES", "false")
        outcome = run_ocr(sample_bytes("letter.pdf"), filename="letter.pdf", provider="ocrspace")
        (form,) = [r.form for r in pro.requests if r.method == "POST"]
    assert outcome.document.searchable_pdf.origin == "provider"
    assert form["isSearchablePdfHideTextLayer"] == "true"
    assert word_recall(truth_text("letter.pdf"), pdftotext(outcome.searchable_pdf)) >= 0.9
    assert_same_pixels(render(outcome.searchable_pdf), render(without_text(outcome.searchable_pdf)),
                       "ocrspace pro: with vs without its text layer")
