"""Damaged copies of real pages, made reproducibly: each kind of damage is a chain of steps, each kind is applied
to a seeded choice of the pages it fits, and the noise of each copy has a seed of its own.

Steps work on greyscale images and keep the page's resolution in step with its size (`Scan`).
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter


@dataclass(frozen=True)
class Scan:
    image: Image.Image  # mode "L"
    dpi: float


Step = Callable[[Scan, np.random.Generator], Scan]


def at_dpi(target: float) -> Step:
    def step(scan: Scan, rng: np.random.Generator) -> Scan:
        factor = target / scan.dpi
        size = (max(1, round(scan.image.width * factor)), max(1, round(scan.image.height * factor)))
        return Scan(scan.image.resize(size, Image.Resampling.LANCZOS), target)
    return step


def skewed(degrees: float) -> Step:
    """Turned by `degrees` counter-clockwise, white where the page was not."""
    def step(scan: Scan, rng: np.random.Generator) -> Scan:
        return Scan(scan.image.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255),
                    scan.dpi)
    return step


def turned(degrees: int) -> Step:
    """The content turned `degrees` clockwise (as a page put on the scanner sideways or upside down)."""
    transpose = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}
    def step(scan: Scan, rng: np.random.Generator) -> Scan:
        return Scan(scan.image.transpose(transpose[degrees]), scan.dpi)
    return step


def jpeg(quality: int) -> Step:
    def step(scan: Scan, rng: np.random.Generator) -> Scan:
        buffer = io.BytesIO()
        scan.image.save(buffer, "JPEG", quality=quality)
        return Scan(Image.open(io.BytesIO(buffer.getvalue())).convert("L"), scan.dpi)
    return step


def gaussian_noise(sigma: float) -> Step:
    def step(scan: Scan, rng: np.random.Generator) -> Scan:
        pixels = np.asarray(scan.image, dtype=np.float32)
        pixels = pixels + rng.normal(0.0, sigma, pixels.shape).astype(np.float32)
        return Scan(Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)), scan.dpi)
    return step


def salt_and_pepper(share: float) -> Step:
    """`share` of the pixels set to black or white, half each."""
    def step(scan: Scan, rng: np.random.Generator) -> Scan:
        pixels = np.array(scan.image, dtype=np.uint8)
        hit = rng.random(pixels.shape)
        pixels[hit < share / 2] = 0
        pixels[(hit >= share / 2) & (hit < share)] = 255
        return Scan(Image.fromarray(pixels), scan.dpi)
    return step


def blurred(radius: float) -> Step:
    def step(scan: Scan, rng: np.random.Generator) -> Scan:
        return Scan(scan.image.filter(ImageFilter.GaussianBlur(radius)), scan.dpi)
    return step


@dataclass(frozen=True)
class Damage:
    name: str
    steps: tuple[Step, ...]
    min_dpi: float = 0  # only pages scanned above this (lowering the resolution of a 150-dpi page is no damage)

    def fits(self, dpi: float) -> bool:
        return dpi > self.min_dpi

    def apply(self, scan: Scan, seed: int) -> Scan:
        rng = np.random.default_rng(seed)
        for step in self.steps:
            scan = step(scan, rng)
        return scan


DAMAGES = [
    Damage("150dpi", (at_dpi(150),), min_dpi=175),
    Damage("200dpi", (at_dpi(200),), min_dpi=225),
    Damage("skew-2", (skewed(-2),)),
    Damage("skew+1", (skewed(1),)),
    Damage("skew+4", (skewed(4),)),
    Damage("turn90", (turned(90),)),
    Damage("turn180", (turned(180),)),
    Damage("turn270", (turned(270),)),
    Damage("jpeg20", (jpeg(20),)),
    Damage("gauss25", (gaussian_noise(25),)),
    Damage("saltpepper2%", (salt_and_pepper(0.02),)),
    Damage("blur1.5", (blurred(1.5),)),
    Damage("200dpi+skew+jpeg", (at_dpi(200), skewed(2), jpeg(30)), min_dpi=225),
    Damage("150dpi+gauss", (at_dpi(150), gaussian_noise(15)), min_dpi=175),
    Damage("turn270+skew+blur", (turned(270), skewed(-1.5), blurred(1.0))),
]
QUICK_DAMAGES = ["200dpi", "skew+4", "turn90", "jpeg20", "200dpi+skew+jpeg"]


def seed_for(seed: int, *names: str) -> int:
    """A stable seed for one choice or one copy (Python's hash() of a string changes between runs)."""
    return zlib.crc32("/".join([str(seed), *names]).encode())


def choose_pages(damage: Damage, pages: list[tuple[str, float]], count: int, seed: int) -> list[str]:
    """A seeded choice of `count` of the (page, dpi) pairs the damage fits, in the order given."""
    fitting = [name for name, dpi in pages if damage.fits(dpi)]
    if len(fitting) <= count:
        return fitting
    rng = np.random.default_rng(seed_for(seed, "choose", damage.name))
    chosen = set(rng.choice(len(fitting), size=count, replace=False).tolist())
    return [name for i, name in enumerate(fitting) if i in chosen]
