"""The second engine (issue 15): Tesseract alone, RapidOCR alone and the combination (`engines.layered`, auto and
always) on the real pages and damaged copies of them (bench/real_pages.py's seeded variants), and on a folder of
scanned receipts with transcriptions when given (`NAME.jpg` + `NAME.truth.txt`; not in the repository).

Per page: character error rate, bag-of-words error (1 - F1 of the multiset of lower-case words: order-insensitive,
missed and spurious words both count), CPU seconds of this process (onnxruntime's threads included), which
engine won, and how well RapidOCR's word boxes agree with Tesseract's (median IoU of words read alike).
Each page is read once by each engine; the combination's figures follow from those two readings
(its CPU: Tesseract's, plus RapidOCR's on the pages it reads again).

    .venv/bin/python bench/second_engine.py [--variants upright,noise25,...] [--receipts DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from real_pages import DPI_SCALE, VARIANTS, character_error_rate  # noqa: E402

from ocrflow.engines.layered import LayeredEngine, better_reading  # noqa: E402
from ocrflow.engines.settings import EngineSettings, SecondEngineMode  # noqa: E402
from ocrflow.imaging.alignment import Alignment  # noqa: E402
from ocrflow.quality import bag_of_words_error  # noqa: E402


def box_agreement(first, second) -> float | None:
    """Median IoU of the second reading's word boxes with Tesseract's, words matched by text (each Tesseract
    word with the best-overlapping second-engine word of the same text); None when no word matches."""
    def iou(a, b) -> float:
        inter = max(0.0, min(a.x1, b.x1) - max(a.x0, b.x0)) * max(0.0, min(a.y1, b.y1) - max(a.y0, b.y0))
        union = a.width * a.height + b.width * b.height - inter
        return inter / union if union else 0.0

    by_text: dict[str, list] = {}
    for word in (w for b in second.blocks for ln in b.lines for w in ln.words):
        by_text.setdefault(word.text.lower(), []).append(word)
    matched = [max(iou(w.bbox, c.bbox) for c in by_text[w.text.lower()])
               for w in (w for b in first.blocks for ln in b.lines for w in ln.words) if w.text.lower() in by_text]
    matched = [v for v in matched if v > 0]
    return round(statistics.median(matched), 3) if matched else None


def pages(corpus: Path, variants: list[str], receipts: Path | None):
    for variant in variants:
        for entry in json.loads((corpus / "manifest.json").read_text()):
            image = VARIANTS[variant](Image.open(corpus / entry["image"]).convert("L"))
            yield (variant, entry["page"], image, entry["dpi"] * DPI_SCALE.get(variant, 1.0),
                   entry["lang"].split("+"), (corpus / entry["truth"]).read_text())
    if receipts:
        for path in sorted(receipts.glob("*.jpg")):
            yield ("receipt", path.stem, Image.open(path).convert("L"), None, ["eng"],
                   path.with_suffix(".truth.txt").read_text())


def timed(call):
    start = time.process_time()
    result = call()
    return result, time.process_time() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=Path("/work/shared/corpus/real"))
    parser.add_argument("--variants", default="upright,halfdpi,jpeg30,noise25,blur1.2")
    parser.add_argument("--receipts", type=Path)
    parser.add_argument("--json", type=Path, help="write the per-page rows here too")
    args = parser.parse_args(argv)

    auto = LayeredEngine(settings=EngineSettings(second_engine=SecondEngineMode.AUTO))
    start = time.perf_counter()
    auto.second.load()
    print(f"RapidOCR cold start (import + models): {time.perf_counter() - start:.2f} s wall", flush=True)
    rows = []
    for variant, name, image, dpi, languages, truth in pages(args.corpus, args.variants.split(","), args.receipts):
        first, tess_cpu = timed(lambda: auto.first.recognize(image, languages, dpi))  # noqa: B023
        alignment = Alignment(first.text_orientation or 0, first.skew_degrees or 0.0)
        second, rapid_cpu = timed(lambda: auto.second.recognize(image, languages, dpi, alignment=alignment))  # noqa: B023
        both = better_reading(first, second, auto.first.dictionary(languages))
        chosen = both if auto.needs_second_reading(first) else first
        row = {"variant": variant, "page": name, "tess_conf": first.confidence, "tess_words": first.word_count,
               "triggered": auto.needs_second_reading(first), "auto_engine": chosen.engine,
               "always_engine": both.engine, "cpu_tesseract": round(tess_cpu, 2), "cpu_rapidocr": round(rapid_cpu, 2),
               "cpu_auto": round(tess_cpu + (rapid_cpu if auto.needs_second_reading(first) else 0.0), 2),
               "box_iou": box_agreement(first, second)}
        for label, reading in (("tesseract", first), ("rapidocr", second), ("auto", chosen), ("always", both)):
            row[f"cer_{label}"] = round(character_error_rate(truth, reading.text), 4)
            row[f"bow_{label}"] = round(bag_of_words_error(truth, reading.text), 4)
        rows.append(row)
        print(json.dumps(row), flush=True)
    print()
    print(f"{'variant':10} {'pages':>5} {'switched':>8} " + " ".join(
        f"{m + '_' + e:>14}" for m in ("cer", "bow") for e in ("tesseract", "rapidocr", "auto", "always"))
        + f" {'cpu_tess':>8} {'cpu_auto':>8} {'cpu_rapid':>9}")
    for variant in dict.fromkeys(r["variant"] for r in rows):
        group = [r for r in rows if r["variant"] == variant]
        switched = sum(r["auto_engine"] != "tesseract" for r in group)
        print(f"{variant:10} {len(group):5} {switched:8} " + " ".join(
            f"{statistics.mean(r[m + '_' + e] for r in group):14.4f}" for m in ("cer", "bow")
            for e in ("tesseract", "rapidocr", "auto", "always"))
            + "".join(f" {statistics.mean(r[k] for r in group):8.2f}" for k in ("cpu_tesseract", "cpu_auto"))
            + f" {statistics.mean(r['cpu_rapidocr'] for r in group):9.2f}")
    print(f"engines won (auto): {dict(Counter(r['auto_engine'] for r in rows))}")
    ious = [r["box_iou"] for r in rows if r["box_iou"] is not None]
    if ious:
        print(f"word boxes, RapidOCR vs Tesseract: median IoU {statistics.median(ious):.3f} (pages' medians)")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
