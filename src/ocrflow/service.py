"""The one OCR entry point shared by the CLI, the Lambda handlers and the tests:
bytes in -> inspected, recognised, normalized document + searchable PDF out."""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from ocrflow.document import Document, ProviderInfo, SearchablePdfRef, Source, Timings
from ocrflow.engines.languages import parse_languages
from ocrflow.engines.tesseract import TesseractEngine
from ocrflow.errors import ProviderNotAvailableError
from ocrflow.inspection import InputInfo, inspect_document
from ocrflow.limits import InputLimits
from ocrflow.pdf.searchable import build_searchable_pdf
from ocrflow.providers.embedded import EmbeddedProvider
from ocrflow.providers.names import DEFAULT_PROVIDER, ProviderName


@dataclass(frozen=True)
class OcrOutcome:
    document: Document
    searchable_pdf: bytes
    info: InputInfo

    @property
    def text(self) -> str:
        return self.document.text


_EMBEDDED: dict[str, EmbeddedProvider] = {}


def embedded_provider(limits: InputLimits | None = None) -> EmbeddedProvider:
    """A process-wide embedded provider: Tesseract's per-thread state is reused across documents."""
    key = repr(limits)
    if key not in _EMBEDDED:
        _EMBEDDED[key] = EmbeddedProvider(TesseractEngine(), limits)
    return _EMBEDDED[key]


def run_ocr(
    data: bytes,
    *,
    filename: str | None = None,
    provider: str = DEFAULT_PROVIDER,
    languages: str | list[str] = "eng",
    limits: InputLimits | None = None,
    on_page: Callable[[int, int], None] | None = None,
) -> OcrOutcome:
    started_at, start = datetime.now(UTC), time.perf_counter()
    try:
        name = ProviderName(provider)
    except ValueError:
        raise ProviderNotAvailableError(
            f"unknown provider {provider!r}; choose one of {', '.join(p.value for p in ProviderName)}"
        ) from None
    if name is not ProviderName.TESSERACT:
        raise ProviderNotAvailableError(f"provider {name.value!r} is not available in this build yet")
    codes = parse_languages(languages)
    limits = limits or InputLimits()

    info = inspect_document(data, limits)
    inspected = time.perf_counter()
    engine = embedded_provider(limits)
    pages = engine.recognize(data, info, codes, on_page=on_page)
    recognised = time.perf_counter()

    source = Source(media_type=info.media_type.value, bytes=info.size, sha256=info.sha256,
                    page_count=info.page_count, filename=filename)
    provider_info = ProviderInfo(name=name.value, engine=engine.engine.name, version=engine.engine.version,
                                 languages=codes)
    draft = Document(provider=provider_info, source=source, pages=pages, text=Document.join_pages(pages),
                     searchable_pdf=SearchablePdfRef(origin="ocrflow"))
    buffer = io.BytesIO()
    build_searchable_pdf(data, info, draft, buffer)
    built = time.perf_counter()
    timings = Timings(
        started_at=started_at, finished_at=datetime.now(UTC), total_seconds=round(built - start, 4),
        stages={"inspect": round(inspected - start, 4), "recognize": round(recognised - inspected, 4),
                "searchable_pdf": round(built - recognised, 4)},
    )
    document = draft.model_copy(update={"timings": timings})
    return OcrOutcome(document=document, searchable_pdf=buffer.getvalue(), info=info)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
