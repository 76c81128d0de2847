"""`make demo` until the local AWS stack exists: OCR every sample, show a table of what came out."""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ocrflow.errors import OcrflowError
from ocrflow.outputs import write_outputs
from ocrflow.quality import word_recall
from ocrflow.service import run_ocr

SAMPLE_SUFFIXES = {".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".gif", ".bmp"}


def run_demo(samples: Path, out_dir: Path, provider: str = "tesseract") -> int:
    console = Console(width=None if Console().is_terminal else 150)
    files = sorted(p for p in samples.iterdir() if p.suffix.lower() in SAMPLE_SUFFIXES)
    table = Table(title=f"ocrflow demo - provider {provider}, results in {out_dir}")
    for column in ("file", "pages", "provider", "seconds", "words", "confidence", "word recall", "warnings",
                   "outputs"):
        table.add_column(column)
    failures = 0
    for path in files:
        with console.status(f"OCR {path.name}"):
            start = time.perf_counter()
            try:
                outcome = run_ocr(path.read_bytes(), filename=path.name, provider=provider)
            except OcrflowError as exc:
                failures += 1
                table.add_row(path.name, "-", provider, "-", "-", "-", "-", exc.code, exc.message)
                continue
            write_outputs(outcome, out_dir, path.stem)
            seconds = time.perf_counter() - start
        doc = outcome.document
        words = sum(len(page.words()) for page in doc.pages)
        confidences = [page.confidence for page in doc.pages if page.confidence is not None]
        warnings = sorted({w.code.value for page in doc.pages for w in page.warnings})
        truth = path.with_name(f"{path.stem}.truth.txt")
        recall = f"{word_recall(truth.read_text(encoding='utf-8'), doc.text):.1%}" if truth.exists() else "-"
        table.add_row(
            path.name, str(doc.source.page_count), doc.provider.name, f"{seconds:.2f}", str(words),
            f"{sum(confidences) / len(confidences):.2f}" if confidences else "-", recall,
            ", ".join(warnings) or "-", f"{out_dir}/{path.stem}.{{json,txt,searchable.pdf}}",
        )
        console.print(f"[green]done[/green] {path.name}: {doc.source.page_count} page(s) in {seconds:.2f} s")
    console.print(table)
    return 1 if failures else 0
