"""Builds the real pages that may not be redistributed from local copies of their public repositories.

The committed corpus (`bench/corpus/manifest.json`) holds only pages whose licence allows redistribution. These
pages come from repositories that state no licence for their images, so they are not committed: this script
takes them out of a git copy of each repository (a bare clone is enough; it reads `HEAD`) and writes them, as
greyscale PNGs with their resolution and a transcription each, to `bench/corpus/built/` (git-ignored) with a
`manifest.json` in the committed manifest's format (plus the commit they came from).

- scribeocr/ocr-benchmark: legal filings, depositions, two-column articles, a book page with a table, a receipt;
  the transcriptions are its `ground_truth/*.hocr` (corrected by hand), read line by line.
- zzzDavid/ICDAR-2019-SROIE: the first three scanned receipts of `data/img` (ICDAR 2019 SROIE), the
  transcriptions its `data/box/*.csv` (one text line per box, top to bottom).

    python bench/build_corpus.py [--scribe GITDIR] [--sroie GITDIR] [--out DIR]

A source left out or missing is skipped (the benchmark then runs on the pages it has).
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from PIL import Image

BENCH_DIR = Path(__file__).resolve().parent
MIRRORS = Path("/work/.mirror")
LETTER_WIDTH_IN = 8.5
RECEIPT_WIDTH_IN = 80 / 25.4  # an 80 mm till roll


@dataclass(frozen=True)
class Wanted:
    page: str
    image: str  # path in the repository
    truth: str
    kind: str
    width_in: float | None  # the paper's width, when the image's own resolution is wrong or missing
    lang: str = "eng"


SCRIBE = "scribeocr/ocr-benchmark"
SCRIBE_LICENCE = ("not stated for the images (package.json: AGPL-3.0, for the code); not redistributed here, "
                  "built by bench/build_corpus.py")
SCRIBE_PAGES = [
    Wanted("scribe_filing_01", "img/filing_01.png", "ground_truth/filing_01.truth.hocr", "legal filing (complaint)",
           LETTER_WIDTH_IN),
    Wanted("scribe_filing_03", "img/filing_03.png", "ground_truth/filing_03.truth.hocr", "legal filing (opinion)",
           LETTER_WIDTH_IN),
    Wanted("scribe_deposition_01", "img/deposition_01.png", "ground_truth/deposition_01.truth.hocr",
           "deposition, four transcript pages on one sheet", LETTER_WIDTH_IN),
    Wanted("scribe_deposition_02", "img/deposition_02.png", "ground_truth/deposition_02.truth.hocr",
           "deposition transcript, typewriter-like", LETTER_WIDTH_IN),
    Wanted("scribe_multicol_01", "img/multicol_01.png", "ground_truth/multicol_01.truth.hocr",
           "two-column article", LETTER_WIDTH_IN),
    Wanted("scribe_multicol_05", "img/multicol_05.jpg", "ground_truth/multicol_05.truth.hocr",
           "two-column typed report, scanned", LETTER_WIDTH_IN),
    Wanted("scribe_table_08", "img/table_08.png", "ground_truth/table_08.truth.hocr", "book page with a table",
           LETTER_WIDTH_IN),
    Wanted("scribe_receipt_03", "img/receipt_03.png", "ground_truth/receipt_03.truth.hocr", "receipt",
           RECEIPT_WIDTH_IN),
]

SROIE = "zzzDavid/ICDAR-2019-SROIE"
SROIE_LICENCE = ("ICDAR 2019 SROIE competition data, no redistribution licence stated (the repository's MIT "
                 "licence covers its code); not redistributed here, built by bench/build_corpus.py")
CASELESS_NOTE = ("SROIE's transcriptions are in capitals where the print is in mixed case ('TEL' for 'Tel'), so "
                 "the benchmark scores these pages without case")
SROIE_PAGES = [Wanted(f"sroie_{n}", f"data/img/{n}.jpg", f"data/box/{n}.csv", "scanned receipt", None)
               for n in ("000", "001", "002")]


def git_show(git_dir: Path, path: str) -> bytes:
    return subprocess.run(["git", "--git-dir", str(git_dir), "show", f"HEAD:{path}"], check=True,
                          capture_output=True).stdout


def git_commit(git_dir: Path) -> str:
    return subprocess.run(["git", "--git-dir", str(git_dir), "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()


class _HocrLines(HTMLParser):
    """The words of each `ocr_line` of an hOCR file, in the file's order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[list[str]] = []
        self._stack: list[str] = []  # the class of each open span

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "span":
            return
        classes = (dict(attrs).get("class") or "").split()
        kind = "line" if "ocr_line" in classes else "word" if "ocrx_word" in classes else ""
        if kind == "line":
            self.lines.append([])
        elif kind == "word" and self.lines:
            self.lines[-1].append("")
        self._stack.append(kind)

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._stack:
            self._stack.pop()

    def handle_data(self, data: str) -> None:
        if "word" in self._stack and self.lines and self.lines[-1]:
            self.lines[-1][-1] += data.strip()


def hocr_text(hocr: str) -> str:
    parser = _HocrLines()
    parser.feed(hocr)
    return "\n".join(" ".join(w for w in line if w) for line in parser.lines if any(line)) + "\n"


def sroie_text(boxes: str) -> str:
    """SROIE's box file: eight coordinates then the text (which may hold commas), one box a line."""
    lines = [row.split(",", 8)[8].strip() for row in boxes.splitlines() if row.count(",") >= 8]
    return "\n".join(line for line in lines if line) + "\n"


def build(git_dir: Path, repo: str, licence: str, wanted: list[Wanted], read_truth, out: Path,
          caseless: bool = False) -> list[dict]:
    commit = git_commit(git_dir)
    entries = []
    for want in wanted:
        with Image.open(io.BytesIO(git_show(git_dir, want.image))) as original:
            own_dpi = original.info.get("dpi", (0, 0))[0]
            image = original.convert("L")
        dpi = round(image.width / want.width_in) if want.width_in else round(own_dpi)
        image.save(out / f"{want.page}.png", "PNG", optimize=True, dpi=(dpi, dpi))
        (out / f"{want.page}.truth.txt").write_text(read_truth(git_show(git_dir, want.truth).decode("utf-8")),
                                                    encoding="utf-8")
        entries.append({
            "page": want.page, "image": f"{want.page}.png", "truth": f"{want.page}.truth.txt",
            "source": f"{repo}:{want.image}", "commit": commit, "licence": licence, "lang": want.lang,
            "kind": want.kind, "dpi": dpi,
            "truth_note": f"{repo}:{want.truth}",
            "dpi_note": (f"estimated from the paper's width ({want.width_in:.2f} in)" if want.width_in
                         else "the image's own"),
        } | ({"truth_case": "caseless", "truth_case_note": CASELESS_NOTE} if caseless else {}))
        print(f"  {want.page}: {image.width}x{image.height} at {dpi} dpi ({want.kind})")
    return entries


def _mirror(repo: str) -> Path:
    return MIRRORS / repo.replace("/", "+") / "repo"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scribe", type=Path, default=_mirror(SCRIBE), help=f"a git copy of {SCRIBE}")
    parser.add_argument("--sroie", type=Path, default=_mirror(SROIE), help=f"a git copy of {SROIE}")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "corpus" / "built")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    entries: list[dict] = []
    sources = [(args.scribe, SCRIBE, SCRIBE_LICENCE, SCRIBE_PAGES, hocr_text, False),
               (args.sroie, SROIE, SROIE_LICENCE, SROIE_PAGES, sroie_text, True)]
    for git_dir, repo, licence, wanted, read_truth, caseless in sources:
        if not git_dir.is_dir():
            print(f"{repo}: no copy at {git_dir}, skipped")
            continue
        print(f"{repo} ({git_dir}):")
        entries += build(git_dir, repo, licence, wanted, read_truth, args.out, caseless)
    (args.out / "manifest.json").write_text(json.dumps(entries, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(entries)} pages in {args.out / 'manifest.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
