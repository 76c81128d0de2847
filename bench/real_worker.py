"""One tool reading a list of page images, one after another, in this process: what `real_bench.py` runs as a
child process (measured from outside: CPU of the whole process tree, peak RSS).

    python real_worker.py TOOL JOBS.json OUT_DIR

JOBS.json: a list of {"id", "image" (a greyscale PNG), "dpi", "lang" (Tesseract codes, "deu+eng"),
"damaged"}. For each job it writes OUT_DIR/<id>.txt, and at the end OUT_DIR/pages.json: the CPU seconds
(user + sys of this process and of the processes it waited for, e.g. OCRmyPDF's tesseract and its pool) and
wall seconds of each page, or its error. A warm-up reading of a part of the first page comes first and is not
counted: imports, model loading and bytecode are the tool's start-up, not a page's cost (`real_bench.py` reports
the whole tree's CPU beside the pages' sum).

Tools:
- ocrflow: `ocrflow.service.run_ocr(png, languages=...)`, its public entry point (upright, turned and skewed
  pages alike: it finds turns and skew by itself); the text is the outcome's `.text`.
- ocrmypdf: its Python API (`ocrmypdf.ocr`), as its CLI would be called: `--output-type pdf`, `-j 1`,
  `--image-dpi`, `-l`, the text from `--sidecar`; damaged pages get `--rotate-pages --deskew`, as it documents
  for turned and skewed scans; clean pages its defaults.
- rapidocr: RapidOCR 3 (PP-OCR models inside the wheel, onnxruntime, one thread), its defaults otherwise; its
  lines come sorted top to bottom and are put into rows (`text_in_rows`) before they are joined.
"""

from __future__ import annotations

import io
import json
import resource
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from PIL import Image

Reader = Callable[[Path, dict], str]


def cpu_seconds() -> float:
    """This process's CPU (all its threads) plus that of the children it has waited for."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def ocrflow_reader() -> Reader:
    from ocrflow.service import run_ocr

    def read(image: Path, job: dict) -> str:
        return run_ocr(image.read_bytes(), languages=job["lang"]).text

    return read


def ocrmypdf_reader() -> Reader:
    import ocrmypdf

    scratch = Path(tempfile.mkdtemp(prefix="ocrmypdf-"))

    def read(image: Path, job: dict) -> str:
        sidecar, pdf = scratch / "sidecar.txt", scratch / "out.pdf"
        ocrmypdf.ocr(image, pdf, language=job["lang"].split("+"), image_dpi=round(job["dpi"]), sidecar=sidecar,
                     output_type="pdf", jobs=1, progress_bar=False,
                     rotate_pages=job["damaged"], deskew=job["damaged"])
        return sidecar.read_text(encoding="utf-8")

    return read


def text_in_rows(lines: list[tuple[float, float, float, str]]) -> str:
    """Lines (top, bottom, left, text) put into rows: a line joins the row whose vertical middle is within half
    the smaller height of its own; rows top to bottom, a row's lines left to right."""
    rows: list[list[tuple[float, float, float, str]]] = []
    for line in sorted(lines, key=lambda ln: (ln[0] + ln[1]) / 2):
        top, bottom = line[0], line[1]
        if rows:
            row = rows[-1]
            row_top, row_bottom = min(r[0] for r in row), max(r[1] for r in row)
            middle, row_middle = (top + bottom) / 2, (row_top + row_bottom) / 2
            if abs(middle - row_middle) < min(bottom - top, row_bottom - row_top) / 2:
                row.append(line)
                continue
        rows.append([line])
    return "\n".join(" ".join(ln[3] for ln in sorted(row, key=lambda ln: ln[2])) for row in rows)


def rapidocr_reader() -> Reader:
    from rapidocr import RapidOCR

    engine = RapidOCR(params={
        "Global.log_level": "warning",
        "EngineConfig.onnxruntime.intra_op_num_threads": 1,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
    })

    def read(image: Path, job: dict) -> str:
        result = engine(str(image))
        if result.boxes is None or result.txts is None:
            return ""
        lines = [(min(float(y) for _, y in box), max(float(y) for _, y in box), min(float(x) for x, _ in box), text)
                 for box, text in zip(result.boxes, result.txts, strict=True)]
        return text_in_rows(lines)

    return read


READERS: dict[str, Callable[[], Reader]] = {
    "ocrflow": ocrflow_reader, "ocrmypdf": ocrmypdf_reader, "rapidocr": rapidocr_reader,
}


def warm_up(read: Reader, job: dict, scratch: Path) -> None:
    """A reading of the first page's top quarter, not counted."""
    with Image.open(job["image"]) as image:
        part = image.crop((0, 0, image.width, max(1, image.height // 4)))
        buffer = io.BytesIO()
        part.save(buffer, "PNG", dpi=(job["dpi"], job["dpi"]))
    path = scratch / "warm-up.png"
    path.write_bytes(buffer.getvalue())
    try:
        read(path, job | {"damaged": False})
    except Exception:  # a tool that cannot read a strip of a page still has its pages to try
        traceback.print_exc()


def main(argv: list[str]) -> int:
    tool, jobs_file, out_dir = argv[0], Path(argv[1]), Path(argv[2])
    jobs = json.loads(jobs_file.read_text())
    out_dir.mkdir(parents=True, exist_ok=True)
    read = READERS[tool]()
    if jobs:
        warm_up(read, jobs[0], out_dir)
    figures = []
    for job in jobs:
        cpu, wall = cpu_seconds(), time.perf_counter()
        try:
            text, error = read(Path(job["image"]), job), None
        except Exception as exc:  # one page failing is a figure of its own, not the end of the run
            text, error = "", f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
        figures.append({"id": job["id"], "cpu_s": cpu_seconds() - cpu, "wall_s": time.perf_counter() - wall,
                        "error": error})
        (out_dir / f"{job['id']}.txt").write_text(text, encoding="utf-8")
        print(f"{tool} {job['id']}: {figures[-1]['cpu_s']:.2f} CPU-s" + (f" FAILED {error}" if error else ""),
              flush=True)
    (out_dir / "pages.json").write_text(json.dumps(figures, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
