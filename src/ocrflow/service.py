"""The one OCR entry point shared by the CLI, the Lambda handlers and the tests:
bytes in -> inspected, recognised, normalized document + searchable PDF out."""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from ocrflow.document import Credits, Document, Page, ProviderInfo, SearchablePdfRef, Source, Timings
from ocrflow.engines.languages import parse_languages
from ocrflow.engines.layered import LayeredEngine
from ocrflow.errors import ProviderNotAvailableError
from ocrflow.inputs.inspection import InputInfo, inspect_document
from ocrflow.inputs.limits import InputLimits
from ocrflow.pdf.searchable import build_searchable_pdf
from ocrflow.providers.base import OcrRequest
from ocrflow.providers.embedded import EmbeddedProvider
from ocrflow.providers.names import DEFAULT_PROVIDER, OcrMode, ProviderName
from ocrflow.providers.registry import build_provider
from ocrflow.providers.runner import ProviderOutcome, run_provider


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
    """A process-wide embedded provider: Tesseract's per-thread state is reused across documents, RapidOCR's
    models (loaded on the first page that needs them, unless OCRFLOW_SECOND_ENGINE=off) too."""
    key = repr(limits)
    if key not in _EMBEDDED:
        _EMBEDDED[key] = EmbeddedProvider(LayeredEngine(), limits)
    return _EMBEDDED[key]


def run_ocr(
    data: bytes,
    *,
    filename: str | None = None,
    provider: str = DEFAULT_PROVIDER,
    languages: str | list[str] = "eng",
    limits: InputLimits | None = None,
    on_page: Callable[[int, int], None] | None = None,
    ocr_mode: OcrMode = OcrMode.AUTO,
) -> OcrOutcome:
    started_at, start = datetime.now(UTC), time.perf_counter()
    try:
        name = ProviderName(provider)
    except ValueError:
        raise ProviderNotAvailableError(
            f"unknown provider {provider!r}; choose one of {', '.join(p.value for p in ProviderName)}"
        ) from None
    codes = parse_languages(languages)
    limits = limits or InputLimits()

    info = inspect_document(data, limits)
    inspected = time.perf_counter()
    provider_pdf: bytes | None = None
    credits = None
    if name is ProviderName.TESSERACT:
        engine = embedded_provider(limits)
        pages = engine.recognize(data, info, codes, on_page=on_page, mode=OcrMode(ocr_mode))
        provider_info = ProviderInfo(name=name.value, engine=engine.engine.name, version=engine.engine.version,
                                     languages=codes)
    else:
        rest = _run_rest_provider(name, data, info, filename or f"document.{info.media_type.name.lower()}",
                                  codes, on_page)
        pages, provider_pdf, credits = rest.pages, rest.searchable_pdf, rest.credits
        provider_info = ProviderInfo(name=name.value, engine=rest.engine, languages=codes)
    recognised = time.perf_counter()

    outcome = assemble(data, info, provider_info, pages, filename=filename, credits=credits,
                       provider_pdf=provider_pdf, started_at=started_at)
    finished = time.perf_counter()
    stages = {"inspect": round(inspected - start, 4), "recognize": round(recognised - inspected, 4),
              "searchable_pdf": round(finished - recognised, 4)}
    timings = outcome.document.timings.model_copy(update={"total_seconds": round(finished - start, 4),
                                                          "stages": stages})
    document = outcome.document.model_copy(update={"timings": timings})
    return OcrOutcome(document=document, searchable_pdf=outcome.searchable_pdf, info=info)


def assemble(data: bytes, info: InputInfo, provider_info: ProviderInfo, pages: list[Page], *,
             filename: str | None = None, credits: Credits | None = None, provider_pdf: bytes | None = None,
             started_at: datetime | None = None, source: Source | None = None) -> OcrOutcome:
    """Recognised pages -> the normalized Document and its searchable PDF (the provider's, or ours)."""
    started_at = started_at or datetime.now(UTC)
    source = source or Source(media_type=info.media_type.value, bytes=info.size, sha256=info.sha256,
                              page_count=info.page_count, filename=filename)
    draft = Document(provider=provider_info, source=source, pages=pages, text=Document.join_pages(pages),
                     credits=credits,
                     searchable_pdf=SearchablePdfRef(origin="provider" if provider_pdf else "ocrflow"))
    if provider_pdf is not None:
        searchable = provider_pdf
    else:
        buffer = io.BytesIO()
        build_searchable_pdf(data, info, draft, buffer)
        searchable = buffer.getvalue()
    finished_at = datetime.now(UTC)
    timings = Timings(started_at=started_at, finished_at=finished_at,
                      total_seconds=round((finished_at - started_at).total_seconds(), 4))
    return OcrOutcome(document=draft.model_copy(update={"timings": timings}), searchable_pdf=searchable, info=info)


def _run_rest_provider(name: ProviderName, data: bytes, info: InputInfo, filename: str, languages: list[str],
                       on_page: Callable[[int, int], None] | None) -> ProviderOutcome:
    provider, settings = build_provider(name)
    try:
        outcome = run_provider(provider, settings, data, info, filename, OcrRequest(languages=languages))
    finally:
        provider.close()
    if on_page:
        on_page(info.page_count, info.page_count)
    return outcome


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
