"""The page-engine interface. Tesseract implements it; a second, more accurate engine (e.g. RapidOCR) for
pages Tesseract flags can implement it too and be run on just those pages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from PIL import Image

from ocrflow.document import Block, PageWarning, Word


@dataclass(frozen=True)
class RecognizedPage:
    """One page's recognition, boxes in fractions of the image the engine was given."""

    blocks: list[Block]
    confidence: float | None
    text_orientation: int | None = None
    skew_degrees: float | None = None
    warnings: list[PageWarning] = field(default_factory=list)
    engine: str | None = None  # the engine whose reading this is (a combined engine picks one per page)

    @property
    def words(self) -> list[Word]:
        return [word for block in self.blocks for line in block.lines for word in line.words]

    @property
    def word_count(self) -> int:
        return sum(len(line.words) for block in self.blocks for line in block.lines)

    @property
    def text(self) -> str:
        return "\n\n".join(block.text for block in self.blocks)


class PageEngine(Protocol):
    name: str

    @property
    def version(self) -> str: ...

    def recognize(self, image: Image.Image, languages: Sequence[str], dpi: float | None = None) -> RecognizedPage:
        """Read one page image (at `dpi`, when known). Thread-safe: the embedded pipeline calls it from a pool
        of threads."""
        ...
