"""Scan-like sample documents with known text, for the demo, the tests and the benchmarks.

Pages are rendered with Pillow's bundled font at a real scan resolution, then given what a scanner adds:
grey paper, noise, slight blur, a skew or a turned page where asked, and lossy compression. Everything is
seeded, so the same call gives the same bytes.
"""

from __future__ import annotations

import io
import random
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import img2pdf
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

PARAGRAPHS = [
    "The quarterly report shows steady growth in every region. Revenue rose by twelve percent while "
    "operating costs stayed flat, and the board approved the new warehouse in Rotterdam.",
    "Please find enclosed the signed contract together with the delivery schedule. Payment is due within "
    "thirty days of the invoice date. Late payments carry interest at the statutory rate.",
    "Our engineers inspected the pumping station on Monday morning. The north valve was replaced, the "
    "pressure sensors were calibrated and the backup generator passed its monthly load test.",
    "Customers can now track every parcel from the moment it leaves the depot. Notifications are sent by "
    "email and text message, and drivers confirm each delivery with a photograph.",
    "The library will be closed for renovation from the first of March until the end of April. Books on "
    "loan may be returned to the branch in the town hall or through the letterbox at the main entrance.",
    "Minutes of the annual general meeting: the chair welcomed members, the treasurer presented the "
    "accounts, and the meeting elected three new trustees by a show of hands.",
    "Safety notice: protective glasses and gloves must be worn in the workshop at all times. Report any "
    "damaged equipment to the supervisor before the start of the next shift.",
    "The museum acquired a collection of maps printed in the seventeenth century. After careful cleaning "
    "they will be shown in the east gallery alongside letters written by the original surveyors.",
]


@dataclass(frozen=True)
class PageSpec:
    paragraphs: Sequence[str]
    title: str = ""
    turn: int = 0          # content turned clockwise by 0/90/180/270 degrees, as a sheet fed sideways
    skew: float = 0.0      # small skew in degrees, counter-clockwise positive
    dpi: int = 300
    noise: float = 3.0     # the scanner's grain: standard deviation of the grey levels' noise
    width_in: float = 8.27  # A4
    height_in: float = 11.69

    @property
    def text(self) -> str:
        parts = [self.title] if self.title else []
        parts += [_wrap(p, self.width_in) for p in self.paragraphs]
        return "\n\n".join(parts)


@dataclass(frozen=True)
class SampleSpec:
    name: str
    media: str  # pdf, png, jpg, tiff
    pages: Sequence[PageSpec] = field(default_factory=list)
    bilevel: bool = False


def _wrap(paragraph: str, width_in: float) -> str:
    return textwrap.fill(paragraph, width=max(20, int((width_in - 2.0) * 11.5)))


def render_page(spec: PageSpec, seed: int = 0, bilevel: bool = False) -> Image.Image:
    """A grayscale scan of the page's text at spec.dpi."""
    width, height = int(spec.width_in * spec.dpi), int(spec.height_in * spec.dpi)
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=max(8, round(spec.dpi * 11 / 72)))  # 11 pt
    title_font = ImageFont.load_default(size=max(10, round(spec.dpi * 16 / 72)))
    margin = spec.dpi  # one inch
    y = margin
    if spec.title:
        draw.text((margin, y), spec.title, fill=0, font=title_font)
        y += round(title_font.size * 2.2)
    line_height = round(font.size * 1.45)
    for paragraph in spec.paragraphs:
        for line in _wrap(paragraph, spec.width_in).splitlines():
            draw.text((margin, y), line, fill=0, font=font)
            y += line_height
        y += line_height
    if spec.skew:
        page = page.rotate(spec.skew, resample=Image.Resampling.BICUBIC, fillcolor=255, expand=False)
    if spec.turn:
        page = page.rotate(-spec.turn, expand=True)
    return _scanner(page, seed, bilevel, spec.noise)


def _scanner(page: Image.Image, seed: int, bilevel: bool, noise: float = 3.0) -> Image.Image:
    rng = np.random.default_rng(seed)
    pixels = np.asarray(page.filter(ImageFilter.GaussianBlur(0.6)), dtype=np.float32)
    pixels = pixels * 0.92 + 10  # grey paper, not quite black ink
    pixels += rng.normal(0, noise, pixels.shape)
    scanned = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "L")
    if bilevel:
        return scanned.point(lambda v: 255 if v > 150 else 0).convert("1")
    return scanned


def _encode(image: Image.Image, fmt: str, dpi: int) -> bytes:
    buffer = io.BytesIO()
    if fmt == "JPEG":
        image.save(buffer, "JPEG", quality=60, dpi=(dpi, dpi), optimize=True)
    elif fmt == "PNG":  # scanners' PNGs are posterised: 16 grey levels keep the file small
        image.point(lambda v: v // 17 * 17).save(buffer, "PNG", dpi=(dpi, dpi), optimize=True)
    else:
        image.save(buffer, fmt, dpi=(dpi, dpi), optimize=True)
    return buffer.getvalue()


def build_sample(spec: SampleSpec, seed: int = 0) -> bytes:
    images = [render_page(page, seed + i, spec.bilevel) for i, page in enumerate(spec.pages)]
    dpis = [page.dpi for page in spec.pages]
    if spec.media == "pdf":
        jpegs = [_encode(img, "JPEG", dpi) for img, dpi in zip(images, dpis, strict=True)]
        return img2pdf.convert(jpegs)
    if spec.media == "png":
        return _encode(images[0], "PNG", dpis[0])
    if spec.media == "jpg":
        return _encode(images[0], "JPEG", dpis[0])
    if spec.media == "tiff":
        buffer = io.BytesIO()
        compression = "group4" if spec.bilevel else "tiff_lzw"
        images[0].save(buffer, "TIFF", save_all=True, append_images=images[1:], compression=compression,
                       dpi=(dpis[0], dpis[0]))
        return buffer.getvalue()
    raise ValueError(f"unknown sample media {spec.media!r}")


def sample_text(spec: SampleSpec) -> str:
    return "\f".join(page.text for page in spec.pages)


def _pick(count: int, start: int) -> list[str]:
    return [PARAGRAPHS[(start + i) % len(PARAGRAPHS)] for i in range(count)]


SAMPLES: list[SampleSpec] = [
    SampleSpec("letter", "pdf", [PageSpec(_pick(3, 1), title="Delivery Contract")]),
    SampleSpec("report", "pdf", [
        PageSpec(_pick(3, 0), title="Quarterly Report"),
        PageSpec(_pick(3, 3), title="Operations"),
        PageSpec(_pick(2, 6), title="Notices", turn=180),
    ]),
    SampleSpec("receipt", "png", [PageSpec(_pick(2, 3), title="Parcel Tracking", width_in=5.0, height_in=5.5)]),
    SampleSpec("notice", "jpg", [PageSpec(_pick(2, 6), title="Workshop Safety", dpi=200, skew=2.8,
                                          height_in=7.0)]),
    SampleSpec("memo", "tiff", [
        PageSpec(_pick(2, 5), title="Annual Meeting", height_in=7.0),
        PageSpec(_pick(2, 7), title="Museum News", turn=90, height_in=7.0),
    ], bilevel=True),
]


def write_samples(directory: Path, specs: Sequence[SampleSpec] = SAMPLES) -> list[Path]:
    """Write each sample and its known text (`<name>.truth.txt`, pages separated by form feeds)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for number, spec in enumerate(specs):
        path = directory / f"{spec.name}.{spec.media}"
        path.write_bytes(build_sample(spec, seed=number * 100))
        (directory / f"{spec.name}.truth.txt").write_text(sample_text(spec) + "\n", encoding="utf-8")
        written.append(path)
    return written


def scan_set(pages: int, seed: int = 7) -> SampleSpec:
    """A multi-page 300-dpi scanned PDF for benchmarks, with varied text on each page."""
    rng = random.Random(seed)
    return SampleSpec(f"scan-{pages}p", "pdf", [
        PageSpec(_pick(rng.randint(3, 5), rng.randrange(len(PARAGRAPHS))), title=f"Section {n + 1}")
        for n in range(pages)
    ])


HARD_SKEWS = (2.5, -3.5, 1.5, -2.0, 4.0, -1.0)
HARD_TURNS = {2: 90, 5: 180, 8: 270}  # page index -> turn


def hard_scan_set(pages: int, seed: int = 11) -> SampleSpec:
    """Pages a scanner makes hard: every page skewed (up to 4 degrees either way), some fed sideways or upside
    down, and three times the grain of `scan_set`."""
    rng = random.Random(seed)
    return SampleSpec(f"scan-hard-{pages}p", "pdf", [
        PageSpec(_pick(rng.randint(3, 5), rng.randrange(len(PARAGRAPHS))), title=f"Section {n + 1}",
                 skew=HARD_SKEWS[n % len(HARD_SKEWS)], turn=HARD_TURNS.get(n, 0), noise=9.0)
        for n in range(pages)
    ])
