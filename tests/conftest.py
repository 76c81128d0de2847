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
