from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "events" / "samples"
SAMPLE_FILES = sorted(p for p in SAMPLES.iterdir() if not p.name.endswith(".txt"))


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    return SAMPLES


def sample_bytes(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def truth_text(name: str) -> str:
    return (SAMPLES / f"{Path(name).stem}.truth.txt").read_text(encoding="utf-8")


def sections_pdf(pages: int) -> bytes:
    """A scanned PDF of `pages` small pages (quick to OCR), page n titled "Section n" over its own paragraph."""
    from ocrflow.samples import PARAGRAPHS, PageSpec, SampleSpec, build_sample

    return build_sample(SampleSpec(f"sections-{pages}", "pdf", [
        PageSpec([PARAGRAPHS[n % len(PARAGRAPHS)]], title=f"Section {n + 1}", width_in=4.5, height_in=3.0,
                 dpi=200) for n in range(pages)]))


def stamped_pdf(data: bytes, stamp: str, *, size: float = 8, pages: tuple[int, ...] = (0,),
                at: tuple[float, float] = (24, 14)) -> bytes:
    """`data` (a PDF) with a line of real text (Helvetica, `size` pt, at `at` from the page's bottom-left) drawn
    over the given pages - a scan with a stamp, a Bates number or "Scanned by..." on it."""
    import io

    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as pdf:
        font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                    BaseFont=pikepdf.Name.Helvetica))
        for index in pages:
            page = pdf.pages[index]
            name = page.add_resource(font, pikepdf.Name.Font, prefix="Stamp")
            text = stamp.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            page.contents_add(pikepdf.Stream(pdf, f"BT {name} {size} Tf {at[0]} {at[1]} Td ({text}) Tj ET".encode()))
        out = io.BytesIO()
        pdf.save(out)
        return out.getvalue()
