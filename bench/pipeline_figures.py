"""Figures of what surrounds the OCR, printed by `make bench` after the OCR bench:

- searchable PDF: build time per page (ocrflow's text layer on the original, the OCR excluded) and its size
  against the input;
- text-layer fidelity: the mean IoU between each word's box as a PDF text extractor sees it in our searchable
  PDF (`pdftotext -bbox`) and the word's box in our JSON, over the words both name in the same order;
- cold-start proxy: the import time of each Lambda handler module in a fresh interpreter, with the modules'
  bytecode compiled beforehand and without (Lambda's /opt is read-only: a layer shipped without .pyc files is
  compiled on every cold start);
- deployment package sizes: each function's folder and the layer, unzipped and zipped;
- blank pages: pages per second and CPU-s per page through the embedded path (`service.run_ocr`) for a
  200-page PDF of empty pages and a 50-page scan of blank sheets (grain, JPEG), which are found blank and not
  OCRed (target: at least 50 pages per second).

    .venv/bin/python bench/pipeline_figures.py [--pages 10]
"""

from __future__ import annotations

import argparse
import difflib
import io
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STEPS = ("process", "submit", "poll", "finalize", "fail", "notify", "api")
WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>')
PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', re.S)


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    x0, y0, x1, y1 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def extracted_words(pdf: bytes) -> list[list[tuple[str, tuple[float, float, float, float]]]]:
    """Per page, the words pdftotext finds with their boxes as page fractions (origin top-left)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.pdf"
        path.write_bytes(pdf)
        html = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True,
                              check=True).stdout
    pages = []
    for width, height, body in PAGE.findall(html):
        w, h = float(width), float(height)
        pages.append([(text, (float(x0) / w, float(y0) / h, float(x1) / w, float(y1) / h))
                      for x0, y0, x1, y1, text in WORD.findall(body)])
    return pages


def text_layer_fidelity(document, pdf: bytes) -> tuple[float, float]:  # noqa: ANN001
    """(mean IoU over matched words, share of the JSON's words matched)."""
    scores, total = [], 0
    for page, seen in zip(document.pages, extracted_words(pdf), strict=False):
        ours = [(w.text, (w.bbox.x0, w.bbox.y0, w.bbox.x1, w.bbox.y1)) for b in page.blocks for line in b.lines
                for w in line.words if w.bbox is not None]
        total += len(ours)
        matcher = difflib.SequenceMatcher(a=[t for t, _ in ours], b=[t for t, _ in seen], autojunk=False)
        for block in matcher.get_matching_blocks():
            scores += [iou(ours[block.a + k][1], seen[block.b + k][1]) for k in range(block.size)]
    return (statistics.fmean(scores) if scores else 0.0), (len(scores) / total if total else 0.0)


def searchable_pdf_figures(pages: int) -> list[str]:
    from ocrflow.pdf.searchable import build_searchable_pdf
    from ocrflow.samples import build_sample, scan_set
    from ocrflow.service import run_ocr

    data = build_sample(scan_set(pages))
    outcome = run_ocr(data, filename=f"scan-{pages}p.pdf")
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        build_searchable_pdf(data, outcome.info, outcome.document, io.BytesIO())
        timings.append(time.perf_counter() - started)
    size = len(outcome.searchable_pdf)
    mean_iou, matched = text_layer_fidelity(outcome.document, outcome.searchable_pdf)
    return [f"searchable PDF ({pages}-page 300-dpi scan): built in {min(timings) / pages * 1000:.1f} ms per page "
            f"(fastest of 3, OCR excluded); {size / len(data):.4f} x the input, "
            f"{(size - len(data)) / 1024 / pages:.1f} KB per page added",
            f"text layer as pdftotext -bbox sees it vs the JSON's boxes: mean IoU {mean_iou:.3f} over "
            f"{matched:.1%} of the words (matched by text, in order)"]


BLANK_PAGES_PER_S_MIN = 50


def blank_page_figures(pages: int = 200, scanned_pages: int = 50) -> list[str]:
    import pikepdf

    from ocrflow.samples import PageSpec, SampleSpec, build_sample
    from ocrflow.service import run_ocr

    buffer = io.BytesIO()
    with pikepdf.new() as pdf:
        for _ in range(pages):
            pdf.add_blank_page(page_size=(612, 792))
        pdf.save(buffer)
    inputs = [(f"{pages}-page PDF of empty pages", buffer.getvalue(), pages),
              (f"{scanned_pages}-page 300-dpi scan of blank sheets",
               build_sample(SampleSpec("blank", "pdf", [PageSpec([])] * scanned_pages)), scanned_pages)]
    run_ocr(build_sample(SampleSpec("one", "pdf", [PageSpec([])])))  # imports and the engine, not counted
    lines = []
    for label, data, count in inputs:
        started, cpu = time.perf_counter(), time.process_time()
        document = run_ocr(data).document
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        blank = sum(any(w.code == "blank_page" for w in page.warnings) for page in document.pages)
        rate = count / wall
        verdict = "met" if rate >= BLANK_PAGES_PER_S_MIN and blank == count else "MISSED"
        lines.append(f"{label}: {rate:.0f} pages/s, {cpu / count * 1000:.1f} ms CPU per page, {blank}/{count} "
                     f"found blank (target >= {BLANK_PAGES_PER_S_MIN} pages/s: {verdict})")
    return lines


def import_seconds(step: str, compiled: bool, runs: int = 3) -> float:
    """Median seconds to import functions/<step>/app.py in a fresh interpreter."""
    code = ("import importlib.util, time; t = time.perf_counter(); "
            f"s = importlib.util.spec_from_file_location('app', {str(REPO / 'functions' / step / 'app.py')!r}); "
            "m = importlib.util.module_from_spec(s); s.loader.exec_module(m); print(time.perf_counter() - t)")
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "true",
           # what the deployed functions have (the idempotency layer is built at import when a table is named)
           **{f"OCRFLOW_{name}": f"ocrflow-{name.lower()}" for name in (
               "RESULTS_BUCKET", "UPLOADS_BUCKET", "JOBS_TABLE", "TENANTS_TABLE", "IDEMPOTENCY_TABLE")}}
    seconds = []
    with tempfile.TemporaryDirectory() as cache:
        if compiled:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = cache  # compiled once by the first run, reused by the others
            subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, check=True)
        else:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
            env["PYTHONPYCACHEPREFIX"] = cache  # empty: nothing compiled to read
        for _ in range(runs):
            done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
            seconds.append(float(done.stdout.strip().splitlines()[-1]))
    return statistics.median(seconds)


def import_figures() -> list[str]:
    lines = [f"{'handler':<10} {'import s (bytecode)':>20} {'import s (source)':>18}"]
    for step in STEPS:
        lines.append(f"{step:<10} {import_seconds(step, True):>20.3f} {import_seconds(step, False):>18.3f}")
    return lines


def tree_bytes(path: Path) -> tuple[int, int]:
    """(unzipped, zipped) bytes of a folder."""
    files = [p for p in path.rglob("*") if p.is_file()]
    unzipped = sum(p.stat().st_size for p in files)
    with tempfile.TemporaryFile() as raw:
        with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
            for p in files:
                archive.write(p, p.relative_to(path))
        return unzipped, raw.tell()


def package_figures() -> list[str]:
    lines = []
    for step in STEPS:
        unzipped, zipped = tree_bytes(REPO / "functions" / step)
        lines.append(f"function {step:<9} {unzipped / 1024:>9.1f} KB unzipped {zipped / 1024:>8.1f} KB zipped")
    for layer in (REPO / "build" / "layer", REPO / "build" / "layer-local"):
        if layer.is_dir():
            unzipped, zipped = tree_bytes(layer)
            lines.append(f"layer {layer.relative_to(REPO)!s:<17} {unzipped / 2**20:>7.1f} MB unzipped "
                         f"{zipped / 2**20:>7.1f} MB zipped (Lambda: 250 MB unzipped with the function)")
    if not any((REPO / "build" / name).is_dir() for name in ("layer", "layer-local")):
        lines.append("no layer built (make layer, or make local-tools for the emulator's)")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=10, help="pages of the scan the searchable PDF is built for")
    args = parser.parse_args(argv)
    if not shutil.which("pdftotext"):
        print("pdftotext is missing (apt install poppler-utils; make test installs it)", file=sys.stderr)
        return 1
    sections = [("searchable PDF and its text layer", searchable_pdf_figures(args.pages)),
                ("blank pages (embedded path, not OCRed)", blank_page_figures()),
                ("cold-start proxy: handler import time (median of 3, fresh interpreter)", import_figures()),
                ("deployment packages", package_figures())]
    for title, lines in sections:
        print(f"\n{title}\n" + "\n".join(f"  {line}" for line in lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
