"""Real scans, and turned, skewed and damaged copies of them, through the embedded path: word recall, character
error rate and CPU per page.

The real pages (a folder with `manifest.json`: image, transcription, languages, dpi per page; by default
/work/shared/corpus/real) are read as they are, turned 90/180/270 degrees and skewed -2/+3 degrees, as PNGs at
their own resolution through `service.run_ocr`, and damaged reproducibly (seeded): at half their resolution,
JPEG quality 30, Gaussian noise (sigma 25), blurred (radius 1.2). For each variant it prints the mean word
recall (`ocrflow.quality.word_recall`, order-insensitive), the mean character error rate (edit distance over
the transcription's length, whitespace runs as one space; rapidfuzz, from the bench extra), the pages whose
recall fell more than 0.05 below the upright reading, and the CPU seconds per page (this process, warm).

    .venv/bin/python bench/real_pages.py [--corpus DIR] [--variants upright,turn90,...]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

VARIANTS = {
    "upright": lambda im: im,
    "turn90": lambda im: im.transpose(Image.Transpose.ROTATE_270),   # content turned 90 degrees clockwise
    "turn180": lambda im: im.transpose(Image.Transpose.ROTATE_180),
    "turn270": lambda im: im.transpose(Image.Transpose.ROTATE_90),
    "skew+3": lambda im: im.rotate(3, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255),
    "skew-2": lambda im: im.rotate(-2, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255),
    "halfdpi": lambda im: im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS),
    "jpeg30": lambda im: _jpeg(im, 30),
    "noise25": lambda im: _noise(im, 25.0),
    "blur1.2": lambda im: im.filter(ImageFilter.GaussianBlur(1.2)),
}
#: variants whose image has another resolution than the page's own
DPI_SCALE = {"halfdpi": 0.5}


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("L")


def _noise(image: Image.Image, sigma: float) -> Image.Image:
    rng = np.random.default_rng(13)
    pixels = np.asarray(image, dtype=np.float32) + rng.normal(0.0, sigma, (image.height, image.width))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def character_error_rate(truth: str, text: str) -> float:
    from rapidfuzz.distance import Levenshtein

    truth, text = " ".join(truth.split()), " ".join(text.split())
    return Levenshtein.distance(truth, text) / max(1, len(truth))


def page_png(image: Image.Image, dpi: float) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", dpi=(dpi, dpi))
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    from ocrflow.quality import word_recall
    from ocrflow.service import run_ocr

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=Path("/work/shared/corpus/real"))
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args(argv)
    manifest = json.loads((args.corpus / "manifest.json").read_text())
    variants = args.variants.split(",")
    run_ocr(page_png(Image.new("L", (600, 400), 255), 300))  # imports, not counted
    recalls: dict[str, list[float]] = {v: [] for v in variants}
    cpu: dict[str, list[float]] = {v: [] for v in variants}
    cers: dict[str, list[float]] = {v: [] for v in variants}
    print(f"{'page':<18}" + "".join(f"{v:>9}" for v in variants) + "   (word recall)")
    for entry in manifest:
        truth = (args.corpus / entry["truth"]).read_text()
        with Image.open(args.corpus / entry["image"]) as original:
            image = original.convert("L")
        row = []
        for variant in variants:
            data = page_png(VARIANTS[variant](image), entry["dpi"] * DPI_SCALE.get(variant, 1.0))
            started = time.process_time()
            text = run_ocr(data, languages=entry["lang"]).text
            cpu[variant].append(time.process_time() - started)
            recalls[variant].append(word_recall(truth, text))
            cers[variant].append(character_error_rate(truth, text))
            row.append(recalls[variant][-1])
        print(f"{entry['page']:<18}" + "".join(f"{r:>9.3f}" for r in row), flush=True)
    print(f"{'mean recall':<18}" + "".join(f"{statistics.fmean(recalls[v]):>9.3f}" for v in variants))
    print(f"{'mean CER':<18}" + "".join(f"{statistics.fmean(cers[v]):>9.3f}" for v in variants))
    print(f"{'CPU-s per page':<18}" + "".join(f"{statistics.fmean(cpu[v]):>9.2f}" for v in variants))
    if "upright" in variants:
        worse = [(entry["page"], v) for v in variants for entry, r, up in
                 zip(manifest, recalls[v], recalls["upright"], strict=True) if r < up - 0.05]
        print("below the upright reading by > 0.05:", ", ".join(f"{p} {v}" for p, v in worse) or "none")
    return 0


if __name__ == "__main__":
    sys.exit(main())
