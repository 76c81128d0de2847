"""Fitting documents to a provider's limits: split by pages, convert what it can't take, shrink only when a
single page is still too big."""

import io

import pikepdf
import pytest
from PIL import Image

from ocrflow.inputs.inspection import inspect_document
from ocrflow.providers.base import ProviderLimits
from ocrflow.providers.splitting import plan_parts
from ocrflow.samples import build_sample, scan_set
from tests.conftest import sample_bytes

PDF_ONLY = frozenset({"application/pdf"})
IMAGES_AND_PDF = frozenset({"application/pdf", "image/png", "image/jpeg"})


def limits(**kwargs) -> ProviderLimits:
    return ProviderLimits(media_types=kwargs.pop("media_types", IMAGES_AND_PDF), cost_unit="page", **kwargs)


@pytest.fixture(scope="module")
def scan20() -> bytes:
    return build_sample(scan_set(20))


def _page_count(body: bytes) -> int:
    with pikepdf.open(io.BytesIO(body)) as pdf:
        return len(pdf.pages)


def test_twenty_page_scan_fits_ocrspace_free_limits(scan20):
    info = inspect_document(scan20)
    parts, notes = plan_parts(scan20, info, limits(max_bytes=1024 * 1024, max_pages=3), "scan.pdf")
    assert [p.first_page for p in parts] == sorted(p.first_page for p in parts)
    assert sum(p.page_count for p in parts) == 20
    for part in parts:
        assert len(part.data) <= 1024 * 1024 and part.page_count <= 3
        assert _page_count(part.data) == part.page_count
        assert len(part.page_sizes) == part.page_count
    assert not notes  # nothing had to be shrunk


def test_document_within_limits_is_sent_whole():
    data = sample_bytes("report.pdf")
    parts, _ = plan_parts(data, inspect_document(data), limits(max_pages=5), "report.pdf")
    assert len(parts) == 1 and parts[0].data == data and parts[0].page_count == 3


def test_single_page_over_the_byte_limit_is_shrunk_and_recorded():
    data = sample_bytes("letter.pdf")  # ~250 KB
    parts, notes = plan_parts(data, inspect_document(data), limits(max_bytes=120_000), "letter.pdf")
    assert len(parts) == 1 and len(parts[0].data) <= 120_000 and _page_count(parts[0].data) == 1
    assert notes[0][0].code == "downscaled"


def test_images_go_to_pdf_only_providers_as_pdf():
    data = sample_bytes("memo.tiff")
    parts, _ = plan_parts(data, inspect_document(data), limits(media_types=PDF_ONLY), "memo.tiff")
    assert len(parts) == 1 and parts[0].media_type == "application/pdf" and _page_count(parts[0].data) == 2


def test_tiff_pages_become_png_parts_for_providers_without_tiff():
    data = sample_bytes("memo.tiff")
    parts, _ = plan_parts(data, inspect_document(data), limits(), "memo.tiff")
    assert [(p.media_type, p.first_page, p.page_count) for p in parts] == [("image/png", 0, 1), ("image/png", 1, 1)]


def test_image_over_the_megapixel_limit_is_downscaled():
    data = sample_bytes("receipt.png")  # 1500 x 1650 = 2.5 MP
    parts, notes = plan_parts(data, inspect_document(data), limits(max_megapixels=1.0), "receipt.png")
    with Image.open(io.BytesIO(parts[0].data)) as image:
        assert image.width * image.height <= 1_000_000
    assert notes[0][0].code == "downscaled"
