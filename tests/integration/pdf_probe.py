"""What a PDF reader sees in a PDF: pdftotext's text and word boxes (poppler), normalized to the page."""

from __future__ import annotations

import html
import re
import subprocess
import tempfile
from pathlib import Path


def pdftotext(pdf: bytes) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as file:
        file.write(pdf)
        file.flush()
        return subprocess.run(["pdftotext", "-layout", file.name, "-"], check=True, capture_output=True,
                              text=True).stdout


_WORD = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">|<word xMin="([\d.]+)" yMin="([\d.]+)" '
                   r'xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>')


def pdftotext_words(pdf: bytes, rotations: list[int] | None = None) -> list[list[tuple[str, tuple]]]:
    """Per page: (word, (x0, y0, x1, y1) as fractions of the displayed page, origin top-left).
    pdftotext reports the unrotated page size but rotated coordinates: pass each page's /Rotate."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.pdf"
        path.write_bytes(pdf)
        out = subprocess.run(["pdftotext", "-bbox", str(path), "-"], check=True, capture_output=True,
                             text=True).stdout
    pages: list[list] = []
    width = height = 1.0
    for match in _WORD.finditer(out):
        if match.group(1):
            width, height = float(match.group(1)), float(match.group(2))
            if rotations and rotations[len(pages)] in (90, 270):
                width, height = height, width
            pages.append([])
            continue
        x0, y0, x1, y1 = (float(match.group(i)) for i in range(3, 7))
        pages[-1].append((html.unescape(match.group(7)), (x0 / width, y0 / height, x1 / width, y1 / height)))
    return pages


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
