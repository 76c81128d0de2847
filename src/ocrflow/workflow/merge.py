"""The merge of a fanned-out document: its ranges' partial results, read from S3 one at a time in page order,
become document.json, text.txt and the searchable PDF - with memory bounded by one range and the upload, never
every page at once (a 2,000-page document held whole is gigabytes of page models).

Each page is read from its range's work file, numbered and noted as the one-call merge does
(`providers.runner.merge_results`), written to a scratch file as the JSON it has in the document, and handed on
to the searchable-PDF builder, which adds its text layer and lets it go. document.json is then the document
without pages, serialized by the model, with the pages' JSON spliced in where its empty list was; large results
are uploaded from files in parts. Only the page texts (text.txt, the document's `text`) stay in memory.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ocrflow.document import (
    Credits,
    Document,
    Page,
    PageWarning,
    ProviderInfo,
    SearchablePdfRef,
    Source,
    Timings,
)
from ocrflow.engines.languages import parse_languages
from ocrflow.formats.alto import alto_chunks
from ocrflow.formats.hocr import hocr_chunks
from ocrflow.pdf.searchable import build_searchable_pdf
from ocrflow.providers.base import DocumentPart
from ocrflow.providers.runner import concatenate_pdfs, missing_page, sum_credits
from ocrflow.workflow.models import JobState, PartState
from ocrflow.workflow.storage import CONTENT_TYPES, result_keys

#: where a page list's place is in a document serialized without pages
_NO_PAGES = '"pages":[]'


@dataclass
class _Collected:
    """What the page stream gathers on its way: texts, raw answers, credits, the engine."""

    texts: list[str] = field(default_factory=list)
    raw: list[dict] = field(default_factory=list)
    credits: list[Credits] = field(default_factory=list)
    engine: str | None = None


def merge_stored_parts(state: JobState, deps, parts: list[PartState], data: bytes, info,  # noqa: ANN001
                       source: Source) -> tuple[dict[str, str], Credits | None]:
    """Write the results of a document whose parts are stored work files; (result URIs by kind, credits)."""
    bucket = deps.settings.results_bucket
    request = state.request
    keys = result_keys(deps.settings.results_prefix, request.tenant, request.job_id)
    wanted = set(request.outputs)
    collected = _Collected()
    pdf_keys = [(part.result_key or "").removesuffix(".json") + ".pdf" for part in parts]
    provider_pdfs = bool(parts) and all(deps.store.exists(bucket, key) for key in pdf_keys)
    results: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="ocrflow-merge-") as scratch:
        pages_json = Path(scratch) / "pages.json"
        with pages_json.open("w", encoding="utf-8") as out:
            pages = _pages(parts, deps, info, collected, out)
            searchable = Path(scratch) / "searchable.pdf"
            if provider_pdfs:  # every part came with the provider's own searchable PDF: joined in order
                for _ in pages:
                    pass
                joined = concatenate_pdfs([deps.store.get(bucket, key) for key in pdf_keys])
                if joined is not None:
                    searchable.write_bytes(joined)
                else:  # a provider PDF we cannot read: ours instead, from the pages written so far
                    provider_pdfs = False
                    build_searchable_pdf(data, info, _reread(pages_json), searchable)
            else:
                build_searchable_pdf(data, info, pages, searchable)
        finished = datetime.now(UTC)
        credits = sum_credits(collected.credits)
        document = Document(
            provider=ProviderInfo(name=request.provider, engine=collected.engine,
                                  languages=parse_languages(request.languages)),
            source=source, pages=[], text="\f".join(collected.texts), credits=credits,
            searchable_pdf=SearchablePdfRef(origin="provider" if provider_pdfs else "ocrflow"),
            timings=Timings(started_at=state.started_at, finished_at=finished,
                            total_seconds=round((finished - state.started_at).total_seconds(), 4)))
        if "json" in wanted:
            whole = Path(scratch) / "document.json"
            _splice_pages(document.model_dump_json(), pages_json, whole)
            results["json"] = deps.store.put_file(bucket, keys["json"], str(whole), CONTENT_TYPES["json"])
        if "txt" in wanted:
            results["txt"] = deps.store.put(bucket, keys["txt"], (document.text + "\n").encode(),
                                            CONTENT_TYPES["txt"])
        if "pdf" in wanted:
            results["pdf"] = deps.store.put_file(bucket, keys["pdf"], str(searchable), CONTENT_TYPES["pdf"])
        for kind, chunks in (("hocr", hocr_chunks), ("alto", alto_chunks)):
            if kind in wanted:  # streamed from the scratch file, a page at a time
                path = Path(scratch) / kind
                with path.open("w", encoding="utf-8") as file:
                    file.writelines(chunks(document, _reread(pages_json)))
                results[kind] = deps.store.put_file(bucket, keys[kind], str(path), CONTENT_TYPES[kind])
    if collected.raw:
        results["raw"] = deps.store.put_json(bucket, keys["raw"], collected.raw)
    return results, credits


def _pages(parts: list[PartState], deps, info, collected: _Collected, out) -> Iterator[Page]:  # noqa: ANN001
    """Every page of the stored parts in order, as the one-call merge numbers and notes them; each also written
    to `out` (a JSON array's items) and its text kept."""
    bucket = deps.settings.results_bucket
    written = 0
    for part in parts:
        body = json.loads(deps.store.get(bucket, part.result_key or ""))
        notes = {part.first_page + int(k): [PageWarning.model_validate(w) for w in v]
                 for k, v in body["notes"].items()}
        collected.raw.extend(body["raw"])
        collected.engine = collected.engine or body["engine"]
        if body["credits"]:
            collected.credits.append(Credits.model_validate(body["credits"]))
        shell = DocumentPart(b"", "", "", part.first_page, part.page_count)
        stored = body["pages"]
        del body
        for local in range(part.page_count):
            index = part.first_page + local
            page = Page.model_validate(stored[local]) if local < len(stored) else missing_page(shell, local)
            update: dict = {"index": index, "warnings": notes.get(index, []) + page.warnings}
            if index < info.page_count:
                update["rotation"] = info.pages[index].rotation  # the source page's /Rotate
            page = page.model_copy(update=update)
            out.write(("," if written else "") + page.model_dump_json())
            written += 1
            collected.texts.append(page.text)
            yield page


def _reread(pages_json: Path) -> Iterator[Page]:
    """The pages written to the scratch file, one at a time."""
    decoder = json.JSONDecoder()
    text = pages_json.read_text(encoding="utf-8")
    position = 0
    while position < len(text):
        value, position = decoder.raw_decode(text, position)
        yield Page.model_validate(value)
        position += 1 if position < len(text) and text[position] == "," else 0


def _splice_pages(document_json: str, pages_json: Path, out: Path) -> None:
    """The document's JSON with its pages where the empty list is, streamed from the scratch file."""
    head, found, tail = document_json.partition(_NO_PAGES)
    assert found, "the document serialized without its page list"
    with out.open("w", encoding="utf-8") as whole, pages_json.open(encoding="utf-8") as pages:
        whole.write(head + '"pages":[')
        while chunk := pages.read(1 << 20):
            whole.write(chunk)
        whole.write("]" + tail)
